//! Test-only routes (`/__test/*`), served only when `ENABLE_TEST_ROUTES` is `true`: they let
//! the black-box suite force a panic, exercise body decoding, and drive the job transport
//! before the public APIs that use them exist.

use crate::body::Body;
use crate::ctx::Ctx;
use crate::http::{self, ApiResult, OrInternal};
use crate::jobs::{self, NewJob};
use crate::platform;
use edge_core::ids::{self, IdKind};
use edge_core::json::Checks;
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

pub fn panic() -> ApiResult {
    panic!("forced panic (test route)");
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Echo {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
}

pub async fn echo(mut body: Body) -> ApiResult {
    let body: Echo = body.json().await?;
    Checks::new()
        .length("name", &body.name, 1, 100)
        .check(
            body.count.is_none_or(|c| c <= 1000),
            "count",
            "must be at most 1000",
        )
        .finish()?;
    http::json(200, &body)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    #[serde(rename = "type")]
    job_type: String,
    payload: serde_json::Value,
}

/// Creates a fresh organization, then enqueues a job for it through the real transport.
pub async fn create_job(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: CreateJob = body.json().await?;
    let job = NewJob::parse(&body.job_type, body.payload)?;
    let db = cx.env.d1("DB").or_internal("D1 binding")?;
    let org_id = platform::new_id(IdKind::Org);
    let now = platform::rfc3339(platform::now());
    db.prepare(
        "INSERT INTO organizations (id, name, plan, created_at, updated_at) \
         VALUES (?1, 'Test organization', 'free', ?2, ?2)",
    )
    .bind(&[JsValue::from(org_id.as_str()), JsValue::from(now.as_str())])
    .or_internal("bind")?
    .run()
    .await
    .or_internal("insert test org")?;
    let row = jobs::enqueue(&cx.env, Some(&org_id), job).await?;
    http::json(202, &row.public())
}

pub async fn get_job(cx: &Ctx) -> ApiResult {
    let id = cx.param("id");
    if !ids::is_id(IdKind::Job, id) {
        return Err(ApiError::not_found("No such job."));
    }
    let db = cx.env.d1("DB").or_internal("D1 binding")?;
    match jobs::repo::get(&db, id).await? {
        Some(row) => http::json(200, &row.public()),
        None => Err(ApiError::not_found("No such job.")),
    }
}

/// `POST /__test/jobs/{id}/redeliver`: one more queue message for an existing job, whatever
/// its state — the duplicate delivery a queue may make at any time — so the suite can show
/// that the consumer's guard keeps it from reaching the origin again.
pub async fn redeliver_job(cx: &Ctx) -> ApiResult {
    let id = cx.param("id");
    let db = cx.env.d1("DB").or_internal("D1 binding")?;
    let Some(row) = jobs::repo::get(&db, id).await? else {
        return Err(ApiError::not_found("No such job."));
    };
    let message = edge_core::jobs::JobMessage { job_id: row.id };
    cx.env
        .queue("JOBS")
        .or_internal("JOBS binding")?
        .send(&message)
        .await
        .or_internal("send duplicate")?;
    http::json(202, &serde_json::json!({"sent": 1, "status": row.status}))
}

fn bench_n(cx: &Ctx) -> u32 {
    cx.query("n")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .min(1000)
}

/// `n` Argon2id hashes with the production parameters; the benchmark times this route from
/// outside (Date.now() does not advance during CPU work in workerd) against `n=0`.
pub fn bench_hash(cx: &Ctx) -> ApiResult {
    let n = bench_n(cx);
    for _ in 0..n {
        edge_core::password::hash("benchmark password", platform::random())
            .map_err(|e| http::internal("hash", e))?;
    }
    http::json(200, &serde_json::json!({"n": n}))
}

/// `n` verifications of one access token: the full EdDSA check (`cached=0`, default) or the
/// isolate cache the request path uses (`cached=1`).
pub fn bench_jwt(cx: &Ctx) -> ApiResult {
    let n = bench_n(cx);
    let cached = cx.query("cached").as_deref() == Some("1");
    let ring = crate::auth::keyring::get(&cx.config).map_err(|e| http::internal("keys", e))?;
    let token = ring
        .issue_access("usr_bench", "ses_bench", "jti", platform::now())
        .map_err(|e| http::internal("sign", e))?;
    for _ in 0..n {
        let ok = if cached {
            crate::auth::keyring::verify_cached(&ring, &token).is_ok()
        } else {
            ring.verify_access(&token, platform::now()).is_ok()
        };
        if !ok {
            return Err(ApiError::internal("benchmark token did not verify"));
        }
    }
    http::json(200, &serde_json::json!({"n": n, "cached": cached}))
}

/// `GET /__test/tenants/{name}`: the id of the `TENANT` object of that name, computed without
/// creating the object (the suite looks for its storage file under the persist directory).
pub fn tenant_id(cx: &Ctx) -> ApiResult {
    let ns = cx.env.durable_object("TENANT").or_internal("TENANT")?;
    let id = ns.id_from_name(cx.param("name")).or_internal("TENANT id")?;
    http::json(200, &serde_json::json!({"id": id.to_string()}))
}

/// `GET /__test/tenants/{name}/windows`: the rate-limit keys counted in that `TENANT` object
/// (asking creates the object: only for names known to exist).
pub async fn tenant_windows(cx: &Ctx) -> ApiResult {
    let stub = cx
        .env
        .durable_object("TENANT")
        .and_then(|ns| ns.get_by_name(cx.param("name")))
        .or_internal("TENANT stub")?;
    let keys: serde_json::Value = stub
        .fetch_with_str("https://tenant.internal/windows")
        .await
        .or_internal("TENANT windows")?
        .json()
        .await
        .or_internal("TENANT windows answer")?;
    http::json(200, &keys)
}

/// The server-side events a room received (`document.updated`, …), oldest first.
pub async fn room_events(cx: &Ctx) -> ApiResult {
    let events = crate::realtime::events(&cx.env, cx.param("org"), cx.param("room"))
        .await
        .map_err(|e| http::internal("room events", e))?;
    http::json(200, &events)
}

/// `GET /__test/files/{org}`: every R2 object under `orgs/{org}/` and every file row of the
/// organization in any state, so the suite can prove that a refused upload left nothing.
/// The R2 objects under `users/{user}/` (account exports), keys and sizes.
pub async fn user_objects(cx: &Ctx) -> ApiResult {
    let prefix = edge_core::account_export::user_prefix(cx.param("user"))
        .ok_or_else(|| ApiError::not_found("Not a user id."))?;
    let listed = crate::storage::bucket(&cx.env)?
        .list()
        .prefix(prefix)
        .execute()
        .await
        .or_internal("R2 list")?;
    let objects: Vec<serde_json::Value> = listed
        .objects()
        .iter()
        .map(|o| serde_json::json!({"key": o.key(), "size": o.size()}))
        .collect();
    http::json(200, &serde_json::json!({ "objects": objects }))
}

pub async fn file_objects(cx: &Ctx) -> ApiResult {
    let org = cx.param("org");
    let bucket = crate::storage::bucket(&cx.env)?;
    let listed = bucket
        .list()
        .prefix(format!("orgs/{org}/"))
        .execute()
        .await
        .or_internal("R2 list")?;
    let objects: Vec<serde_json::Value> = listed
        .objects()
        .iter()
        .map(|o| serde_json::json!({"key": o.key(), "size": o.size()}))
        .collect();
    #[derive(Deserialize, Serialize)]
    struct Row {
        id: String,
        status: String,
        size: i64,
    }
    let db = crate::db::database(&cx.env)?;
    let rows: Vec<Row> = crate::db::all(crate::sql!(
        db,
        "SELECT id, status, size FROM files WHERE org_id = ?1 ORDER BY created_at",
        org
    ))
    .await?;
    // Every key in the bucket, to prove no object ever lands outside `orgs/{org_id}/`.
    let all = bucket.list().execute().await.or_internal("R2 list")?;
    let outside: Vec<String> = all
        .objects()
        .iter()
        .map(|o| o.key())
        .filter(|k| {
            let mut parts = k.split('/');
            !(parts.next() == Some("orgs")
                && parts.next().is_some_and(|o| ids::is_id(IdKind::Org, o))
                && parts.next() == Some("files")
                && parts.next().is_some_and(|f| ids::is_id(IdKind::File, f))
                && parts.next().is_none())
        })
        .collect();
    http::json(
        200,
        &serde_json::json!({"objects": objects, "rows": rows, "keys_outside_orgs": outside}),
    )
}

/// `PUT /__test/r2/{key}`: the request body handed to R2 as it is (no Rust in the byte path),
/// the plain-R2 baseline of the upload benchmark.
pub async fn r2_put(body: Body, cx: &Ctx) -> ApiResult {
    use worker::wasm_bindgen::JsCast;
    let bucket = crate::storage::bucket(&cx.env)?;
    let key = format!("bench/{}", cx.param("key"));
    let body = body
        .raw()
        .inner()
        .body()
        .map(JsValue::from)
        .unwrap_or(JsValue::NULL);
    let put: js_sys::Function = js_sys::Reflect::get(bucket.as_ref(), &"put".into())
        .and_then(|f| f.dyn_into())
        .map_err(|e| http::internal("R2 put", format!("{e:?}")))?;
    let promise = put
        .call2(bucket.as_ref(), &JsValue::from(key.as_str()), &body)
        .map_err(|e| http::internal("R2 put", format!("{e:?}")))?;
    worker::wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| http::internal("R2 put", format!("{e:?}")))?;
    Ok(http::empty(204))
}

/// `GET /__test/r2/{key}`: the object's body as R2 gives it.
pub async fn r2_get(cx: &Ctx) -> ApiResult {
    let bucket = crate::storage::bucket(&cx.env)?;
    let object = bucket
        .get(format!("bench/{}", cx.param("key")))
        .execute()
        .await
        .or_internal("R2 get")?
        .ok_or_else(|| ApiError::not_found("No such object."))?;
    let body = object
        .body()
        .ok_or_else(|| ApiError::not_found("No body."))?;
    worker::Response::from_body(body.response_body().or_internal("R2 body")?)
        .or_internal("response")
}
