//! Role changes and removals are conditional on the state they were decided on (issue 13,
//! item 4): an admin's demotion or removal of a member racing with the owner's promotion of
//! that member never applies to someone who is an owner by then; owners demoting each other
//! never leave the organization without one.

use super::kit::{join, roles, signup, Caller};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(an_admin_never_demotes_or_removes_a_fresh_owner),
        trial!(owners_demoting_each_other_keep_an_owner),
    ]
}

const ROUNDS: usize = 8;

fn ok(status: u16) -> bool {
    status == 200 || status == 204
}

async fn an_admin_never_demotes_or_removes_a_fresh_owner(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let by_owner = owner.on(&s.api);
    let admin = join(s, &by_owner, &org, "admin").await;
    let by_admin = admin.on(&s.api);
    for round in 0..ROUNDS {
        let m = join(s, &by_owner, &org, "member").await;
        let path = format!("/v1/orgs/{org}/members/{}", m.id);
        let remove = round % 2 == 1;
        let (to_owner, to_viewer) = (json!({"role": "owner"}), json!({"role": "viewer"}));
        let promote = by_owner.patch(&path, &to_owner);
        let (a, o) = if remove {
            tokio::join!(by_admin.delete(&path), promote)
        } else {
            tokio::join!(by_admin.patch(&path, &to_viewer), promote)
        };
        for r in [&a, &o] {
            assert!(
                ok(r.status) || r.status == 409 || r.status == 403 || r.status == 404,
                "round {round}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        let now = roles(&by_owner, &org).await;
        let role = now.get(&m.id).map(String::as_str);
        match (ok(a.status), ok(o.status)) {
            // Only in that order (the admin first, then the owner promoted the viewer; a
            // removed member cannot be promoted).
            (true, true) => assert!(!remove && role == Some("owner"), "round {round}: {now:?}"),
            (true, false) => assert_eq!(
                role,
                if remove { None } else { Some("viewer") },
                "round {round}"
            ),
            (false, true) => assert_eq!(role, Some("owner"), "round {round}"),
            (false, false) => panic!("round {round}: both refused: {} / {}", a.status, o.status),
        }
        assert!(now.values().any(|r| r == "owner"), "round {round}: {now:?}");
    }
}

async fn owners_demoting_each_other_keep_an_owner(s: &Suite) {
    for round in 0..ROUNDS {
        let first = signup(&s.api).await;
        let org = first.org_id.clone();
        let by_first = first.on(&s.api);
        let second = join(s, &by_first, &org, "owner").await;
        let by_second: Caller = second.on(&s.api);
        let body = json!({"role": "admin"});
        let (p1, p2) = (
            format!("/v1/orgs/{org}/members/{}", second.id),
            format!("/v1/orgs/{org}/members/{}", first.id),
        );
        let (a, b) = tokio::join!(by_first.patch(&p1, &body), by_second.patch(&p2, &body));
        assert!(
            !(ok(a.status) && ok(b.status)),
            "round {round}: both applied"
        );
        let now = roles(&by_first, &org).await;
        assert_eq!(
            now.values().filter(|r| *r == "owner").count(),
            1,
            "round {round}: {now:?} ({} / {})",
            a.status,
            b.status
        );
    }
}
