//! The shares of a document: listing, granting to members of the organization only, changing
//! and removing a share, and the field errors of a grant.

use super::kit::{self, doc, join, keys, page, signup, str_of};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(shares_are_listed_granted_and_removed),
        trial!(share_grants_are_validated),
    ]
}

async fn shares_are_listed_granted_and_removed(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let (m1, m2) = tokio::join!(join(s, &c, org, "member"), join(s, &c, org, "viewer"));
    let d = kit::create_titled(&c, org, "Shared out", "").await;
    let id = str_of(&d, "id");
    let shares = format!("{}/shares", doc(org, id));

    let (items, next) = page(&c.get(&shares).await);
    assert!(items.is_empty() && next.is_none(), "{items:?}");

    let r = c
        .post(&shares, &json!({"user_id": m1.id, "permission": "edit"}))
        .await;
    r.expect_status(201);
    let granted = r.json();
    assert_eq!(granted["user_id"], m1.id.as_str(), "{granted}");
    assert_eq!(granted["permission"], "edit", "{granted}");
    let r = c
        .post(&shares, &json!({"user_id": m2.id, "permission": "view"}))
        .await;
    r.expect_status(201);

    let (items, next) = page(&m2.on(&s.api).get(&shares).await);
    assert_eq!(next, None);
    let want: BTreeSet<String> = ["user_id", "permission", "created_at"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut seen: Vec<(String, String)> = Vec::new();
    for item in &items {
        assert_eq!(keys(item), want, "share item: {item}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(str_of(item, "created_at")).is_ok(),
            "{item}"
        );
        seen.push((
            str_of(item, "user_id").to_owned(),
            str_of(item, "permission").to_owned(),
        ));
    }
    seen.sort();
    let mut expected = vec![
        (m1.id.clone(), "edit".to_owned()),
        (m2.id.clone(), "view".to_owned()),
    ];
    expected.sort();
    assert_eq!(seen, expected);

    // Changing a share keeps one entry per user.
    let r = c
        .post(&shares, &json!({"user_id": m1.id, "permission": "view"}))
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let (items, _) = page(&c.get(&shares).await);
    assert_eq!(items.len(), 2, "{items:?}");
    let m1_share: Vec<&Value> = items
        .iter()
        .filter(|i| i["user_id"] == m1.id.as_str())
        .collect();
    assert_eq!(m1_share.len(), 1);
    assert_eq!(m1_share[0]["permission"], "view");
    assert_eq!(
        m1_share[0]["created_at"], granted["created_at"],
        "a changed share keeps the time it was first granted"
    );
    assert_eq!(
        r.json()["created_at"],
        granted["created_at"],
        "{}",
        r.text()
    );

    // Removing.
    c.delete(&format!("{shares}/{}", m1.id))
        .await
        .expect_status(204);
    c.delete(&format!("{shares}/{}", m1.id))
        .await
        .expect_problem(404, "not_found");
    c.delete(&format!("{shares}/{}", a.id))
        .await
        .expect_problem(404, "not_found");
    c.delete(&format!("{shares}/usr_nobody"))
        .await
        .expect_problem(404, "not_found");
    let (items, _) = page(&c.get(&shares).await);
    assert_eq!(kit::user_ids(&items), vec![m2.id.clone()]);
    // Shares are per document.
    let other = kit::create_titled(&c, org, "Not shared", "").await;
    let (items, _) = page(
        &c.get(&format!("{}/shares", doc(org, str_of(&other, "id"))))
            .await,
    );
    assert!(items.is_empty(), "{items:?}");
}

async fn share_grants_are_validated(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create_titled(&c, org, "Guarded shares", "").await;
    let shares = format!("{}/shares", doc(org, str_of(&d, "id")));
    let unknown_user = format!("usr_{}", edge_tests::random::hex(12));
    let cases = [
        (json!({"user_id": b.id, "permission": "view"}), "user_id"),
        (
            json!({"user_id": unknown_user, "permission": "edit"}),
            "user_id",
        ),
        (
            json!({"user_id": "nobody", "permission": "edit"}),
            "user_id",
        ),
        (json!({"user_id": "", "permission": "edit"}), "user_id"),
        (
            json!({"user_id": a.id, "permission": "admin"}),
            "permission",
        ),
        (json!({"user_id": a.id, "permission": "Edit"}), "permission"),
        (json!({"user_id": a.id, "permission": ""}), "permission"),
        (json!({"user_id": a.id, "permission": 1}), "permission"),
        (json!({"user_id": a.id}), "permission"),
        (json!({"permission": "view"}), "user_id"),
        (json!({"user_id": 5, "permission": "view"}), "user_id"),
    ];
    for (body, field) in cases {
        let r = c.post(&shares, &body).await;
        assert_eq!(r.status, 400, "share {body}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field(field);
    }
    let r = c
        .post(
            &shares,
            &json!({"user_id": a.id, "permission": "view", "doc_id": "doc_x"}),
        )
        .await;
    r.expect_problem(400, "unknown_field")
        .expect_field("doc_id");
    let (items, _) = page(&c.get(&shares).await);
    assert!(items.is_empty(), "a refused grant was stored: {items:?}");
}
