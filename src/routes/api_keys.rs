//! API keys: created by admins with scopes and an optional expiry; the secret is shown once
//! and only its hash is stored; revocation takes effect on the next request.

use crate::admin;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::platform;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::policy::{Action, Scope};
use edge_core::tokens::{self, SecretKind};
use edge_core::validate;
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Serialize, Deserialize)]
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created_by: Option<String>,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

impl KeyRow {
    /// Never the secret nor its hash.
    fn public(&self) -> Value {
        let scopes: Value = serde_json::from_str(&self.scopes).unwrap_or(json!([]));
        json!({
            "id": self.id, "name": self.name, "prefix": self.prefix, "scopes": scopes,
            "created_by": self.created_by, "created_at": self.created_at,
            "expires_at": self.expires_at, "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter_sensitive(cx, Action::ApiKeysManage).await?;
    let body: CreateBody = body.json().await?;
    let now = platform::now();
    let mut errors = Vec::new();
    let name = validate::name(&body.name, 100)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let mut scopes: Vec<Scope> = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        match Scope::parse(s) {
            Some(sc) if !scopes.contains(&sc) => scopes.push(sc),
            Some(_) => {}
            None => errors.push(FieldError::new(format!("scopes[{i}]"), "unknown scope")),
        }
    }
    if body.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "at least one scope is required"));
    }
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(raw) => match chrono::DateTime::parse_from_rfc3339(raw) {
            Ok(t) if t.to_utc() > now => Some(platform::rfc3339(t.to_utc())),
            Ok(_) => {
                errors.push(FieldError::new("expires_at", "must be in the future"));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 timestamp",
                ));
                None
            }
        },
    };
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(
            ApiError::validation_failed("The API key request is invalid.").with_errors(errors),
        );
    };

    let id = platform::new_id(IdKind::ApiKey);
    let secret = tokens::new_secret(SecretKind::ApiKey, platform::random());
    let prefix = tokens::display_prefix(&secret);
    let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let scopes_json = json!(scope_names).to_string();
    let created = platform::rfc3339(now);
    let db = db::database(&cx.env)?;
    let events = [admin::event(&access, "api_key.created")
        .target("api_key", &id)
        .details(json!({"name": name, "scopes": scope_names, "prefix": prefix}))];
    admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "INSERT INTO api_keys (id, org_id, name, prefix, hash, scopes, created_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &id,
            &access.org_id,
            &name,
            &prefix,
            tokens::secret_hash(&secret),
            &scopes_json,
            access.user_id(),
            &created,
            expires_at.clone()
        )?])
    })
    .await?;
    http::json(
        201,
        &json!({"id": id, "name": name, "scopes": scope_names, "prefix": prefix, "key": secret,
                "created_at": created, "expires_at": expires_at}),
    )
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let page = Page::from_query(cx, "api-keys", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<KeyRow> = db::all(sql!(
        db,
        "SELECT id, name, prefix, scopes, created_by, created_at, expires_at, revoked_at, last_used_at \
         FROM api_keys WHERE org_id = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4",
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |r| (r.created_at.clone(), r.id.clone()),
        KeyRow::public,
    )
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let id = cx.param("id");
    let not_found = || ApiError::not_found("No such API key.");
    if !ids::is_id(IdKind::ApiKey, id) {
        return Err(not_found());
    }
    let db = db::database(&cx.env)?;
    let exists: Option<Value> = db::first(sql!(
        db,
        "SELECT revoked_at FROM api_keys WHERE id = ?1 AND org_id = ?2",
        id,
        &access.org_id
    ))
    .await?;
    let exists = exists.ok_or_else(not_found)?;
    if exists["revoked_at"].is_null() {
        let events = [admin::event(&access, "api_key.revoked").target("api_key", id)];
        admin::commit(cx, &db, &events, || {
            Ok(vec![sql!(
                db,
                "UPDATE api_keys SET revoked_at = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL",
                id,
                &access.org_id,
                platform::rfc3339(platform::now())
            )?])
        })
        .await?;
        // Revocation is effective at once, for the key's realtime sockets too.
        crate::realtime::close_sockets(
            &cx.env,
            &access.org_id,
            crate::realtime::Whose::User(id),
            edge_core::rooms::CLOSE_SESSION_REVOKED,
            "credential revoked",
        )
        .await;
    }
    Ok(http::empty(204))
}
