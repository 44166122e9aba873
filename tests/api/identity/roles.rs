//! The role × route matrix: one organization with an owner, an admin, a member and a viewer
//! (each joined by invitation and acceptance) and two API keys (every scope; one scope), and
//! for every identity route the status each of them gets. A write that is allowed acts on a
//! target made for that attempt; a refused one on shared targets that must stay unchanged.
//! The rows of the matrix are in `role_rows`.

use super::kit::{
    create_key, create_org, invite, join_all_roles, list_all, roles, send_key_create, signup,
    Account, Caller, SCOPES,
};
use super::role_rows::{allowed, rows, Row, Target, WHO};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn trials() -> Vec<Trial> {
    vec![trial!(role_and_key_matrix)]
}

/// What the principals act on.
struct Fixture {
    org: String,
    owner: Account,
    callers: Vec<Caller>,
    /// Shared targets for refused attempts: a member, an owner (the owner), an invitation, a key.
    bystander: Account,
    invitation: String,
    key_id: String,
    /// Fresh targets for allowed attempts, by (row, principal).
    fresh: BTreeMap<(usize, usize), String>,
}

async fn fixture(s: &Suite, rows: &[Row]) -> Fixture {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let by = owner.on(&s.api);
    let people = join_all_roles(s, &by, &org, &["admin", "member", "viewer", "member"]).await;
    let (_, key_all) = create_key(&by, &org, &SCOPES).await;
    let (_, key_one) = create_key(&by, &org, &["documents:read"]).await;
    let mut callers = vec![by.clone()];
    callers.extend(people[..3].iter().map(|a| a.on(&s.api)));
    callers.push(Caller::bearer(&s.api, &key_all));
    callers.push(Caller::bearer(&s.api, &key_one));

    let invitation = invite(&by, &org, &random::email(), "member").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (shared_key, _) = create_key(&by, &org, &["files:read"]).await;

    // Fresh member/owner targets join concurrently; the rest are cheap.
    let mut joins = Vec::new();
    let mut fresh = BTreeMap::new();
    for (r, row) in rows.iter().enumerate() {
        for (w, status) in row.expect.iter().enumerate() {
            if !allowed(*status) {
                continue;
            }
            match row.target {
                Target::Member => joins.push(((r, w), "member")),
                Target::Owner => joins.push(((r, w), "owner")),
                Target::Invitation => {
                    let inv = invite(&by, &org, &random::email(), "viewer").await;
                    fresh.insert((r, w), inv["id"].as_str().unwrap().to_owned());
                }
                Target::ApiKey => {
                    let (k, _) = create_key(&by, &org, &["usage:read"]).await;
                    fresh.insert((r, w), k["id"].as_str().unwrap().to_owned());
                }
                Target::Org => {
                    fresh.insert((r, w), create_org(&callers[w]).await);
                }
                Target::None => {}
            }
        }
    }
    let roles: Vec<&str> = joins.iter().map(|(_, role)| *role).collect();
    let joined = join_all_roles(s, &by, &org, &roles).await;
    for ((at, _), account) in joins.iter().zip(joined) {
        fresh.insert(*at, account.id);
    }
    Fixture {
        org,
        owner,
        callers,
        bystander: people[3].clone(),
        invitation,
        key_id: shared_key["id"].as_str().unwrap().to_owned(),
        fresh,
    }
}

impl Fixture {
    /// `(org, target)` for an attempt.
    fn ids(&self, row: &Row, r: usize, w: usize) -> (String, String) {
        if let Some(id) = self.fresh.get(&(r, w)) {
            return match row.target {
                Target::Org => (id.clone(), String::new()),
                _ => (self.org.clone(), id.clone()),
            };
        }
        let target = match row.target {
            Target::None | Target::Org => String::new(),
            Target::Member => self.bystander.id.clone(),
            Target::Owner => self.owner.id.clone(),
            Target::Invitation => self.invitation.clone(),
            Target::ApiKey => self.key_id.clone(),
        };
        (self.org.clone(), target)
    }
}

async fn attempt(caller: &Caller, method: Method, path: &str, body: Option<Value>) -> Reply {
    if method == Method::POST && path.ends_with("/api-keys") {
        // The one answer allowed to show a key secret.
        let req = caller.request(method, path);
        return send_key_create(match &body {
            Some(b) => req.json(b),
            None => req,
        })
        .await;
    }
    caller.call(method, path, body.as_ref()).await
}

async fn role_and_key_matrix(s: &Suite) {
    let rows = rows();
    let fx = fixture(s, &rows).await;
    let owner = fx.callers[0].clone();
    let before = roles(&owner, &fx.org).await;

    let mut wrong = Vec::new();
    let mut table = String::new();
    for (r, row) in rows.iter().enumerate() {
        table.push_str(&format!("{:<7}{:<40}", row.method.as_str(), row.path));
        for (w, caller) in fx.callers.iter().enumerate() {
            let (org, target) = fx.ids(row, r, w);
            let path = row.path.replace("{org}", &org).replace("{target}", &target);
            let reply = attempt(caller, row.method.clone(), &path, (row.body)()).await;
            table.push_str(&format!(" {}", reply.status));
            let expected = row.expect[w];
            if reply.status != expected {
                wrong.push(format!(
                    "{} {} as {}: expected {expected}, got {} {}",
                    row.method,
                    row.path,
                    WHO[w],
                    reply.status,
                    reply.text()
                ));
                continue;
            }
            if expected == 403 {
                reply.expect_problem(403, "forbidden");
            }
            if allowed(expected) && matches!(row.target, Target::Member | Target::Owner) {
                // The allowed change happened to the fresh target.
                let now = roles(&owner, &fx.org).await;
                let want = match row.method {
                    Method::DELETE => None,
                    _ => (row.body)().and_then(|b| b["role"].as_str().map(str::to_owned)),
                };
                assert_eq!(now.get(&target).cloned(), want, "{} {}", row.method, path);
            }
        }
        table.push('\n');
    }
    assert!(
        wrong.is_empty(),
        "role matrix mismatches (columns: {WHO:?}):\n{}\n\nobserved:\n{table}",
        wrong.join("\n")
    );

    // The refused attempts changed nothing: shared targets are as they were.
    let after = roles(&owner, &fx.org).await;
    for account in [&fx.owner, &fx.bystander] {
        assert_eq!(
            after.get(&account.id),
            before.get(&account.id),
            "role of a shared target changed"
        );
    }
    for caller in &fx.callers[1..4] {
        let id = caller.get("/v1/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            after.get(&id),
            before.get(&id),
            "a principal's role changed"
        );
    }
    let invitations = list_all(&owner, &format!("/v1/orgs/{}/invitations", fx.org), 100).await;
    let shared = invitations
        .iter()
        .find(|i| i["id"] == fx.invitation.as_str())
        .expect("the shared invitation is listed");
    assert_eq!(shared["status"], "pending", "{shared}");
    let keys = list_all(&owner, &format!("/v1/orgs/{}/api-keys", fx.org), 100).await;
    let shared = keys
        .iter()
        .find(|k| k["id"] == fx.key_id.as_str())
        .expect("the shared key is listed");
    assert!(shared["revoked_at"].is_null(), "{shared}");
    owner
        .get(&format!("/v1/orgs/{}", fx.org))
        .await
        .expect_status(200);

    // An API key cannot sign out a session, nor does it have one.
    fx.callers[4]
        .post("/v1/auth/logout", &json!({}))
        .await
        .expect_problem(403, "forbidden");
}
