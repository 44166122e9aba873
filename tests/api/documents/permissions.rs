//! Who may do what: every role reads; members create and change their own documents and those
//! shared with them for `edit`; admins and owners change all; API keys need their scopes and
//! change only what they created. A refusal is 403 `forbidden` and changes nothing.

use super::kit::{self, api_key, doc, docs, str_of, team, version_of, Caller};
use crate::support::{trial, Suite};
use edge_tests::Method;
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(every_role_reads),
        trial!(viewers_change_nothing),
        trial!(members_change_only_their_own),
        trial!(admins_and_owners_change_everything),
        trial!(view_share_reads_edit_share_writes),
        trial!(api_keys_need_scopes_and_own_what_they_made),
    ]
}

/// Every write route on document `id`, each expected to give `status` (and `code` if set).
async fn assert_writes(c: &Caller, org: &str, id: &str, share_with: &str, status: u16, who: &str) {
    let path = doc(org, id);
    let replies = [
        ("PATCH", c.patch(&path, &json!({"title": "changed"})).await),
        (
            "POST shares",
            c.post(
                &format!("{path}/shares"),
                &json!({"user_id": share_with, "permission": "edit"}),
            )
            .await,
        ),
        (
            "DELETE shares",
            c.delete(&format!("{path}/shares/{share_with}")).await,
        ),
        ("DELETE", c.delete(&path).await),
        ("restore", kit::restore(c, org, id).await),
    ];
    for (what, r) in replies {
        assert_eq!(r.status, status, "{who}: {what} {id}: {}", r.text());
        if status == 403 {
            r.expect_problem(403, "forbidden");
        }
    }
}

/// The document is as `before` (no refused write changed it) and has one version per write.
async fn assert_unchanged(c: &Caller, org: &str, before: &Value) {
    let id = str_of(before, "id");
    let now = kit::get_doc(c, org, id).await;
    assert_eq!(&now, before, "a refused write changed the document");
    let (items, _) = kit::page(&c.get(&format!("{}/versions", doc(org, id))).await);
    assert_eq!(
        items.len() as u64,
        version_of(before),
        "versions: {items:?}"
    );
}

async fn every_role_reads(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let d = kit::create_titled(&t.member.on(&s.api), org, "Readable", "by all").await;
    let id = str_of(&d, "id");
    for who in [&t.owner, &t.admin, &t.member, &t.member2, &t.viewer] {
        let c = who.on(&s.api);
        assert_eq!(kit::get_doc(&c, org, id).await, d);
        assert!(kit::listed_ids(&c, org).await.contains(&id.to_owned()));
        assert_eq!(
            kit::search_ids(&c, org, "Readable").await,
            vec![id.to_owned()]
        );
        for path in [
            format!("{}/versions", doc(org, id)),
            format!("{}/versions/1", doc(org, id)),
            format!("{}/shares", doc(org, id)),
        ] {
            c.get(&path).await.expect_status(200);
        }
    }
}

async fn viewers_change_nothing(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let viewer = t.viewer.on(&s.api);
    let r = viewer.post(&docs(org), &json!({"title": "nope"})).await;
    r.expect_problem(403, "forbidden");
    let owner = t.owner.on(&s.api);
    let d = kit::create_titled(&owner, org, "Owner's", "x").await;
    let id = str_of(&d, "id");
    assert_writes(&viewer, org, id, &t.member.id, 403, "viewer").await;
    // Even a document shared with the viewer for editing stays read-only for a viewer.
    let r = owner
        .post(
            &format!("{}/shares", doc(org, id)),
            &json!({"user_id": t.viewer.id, "permission": "edit"}),
        )
        .await;
    r.expect_status(201);
    let r = viewer.patch(&doc(org, id), &json!({"title": "x"})).await;
    r.expect_problem(403, "forbidden");
    viewer
        .delete(&doc(org, id))
        .await
        .expect_problem(403, "forbidden");
    assert_unchanged(&owner, org, &d).await;
    assert_eq!(kit::listed_ids(&owner, org).await, vec![id.to_owned()]);
}

async fn members_change_only_their_own(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let member = t.member.on(&s.api);
    let member2 = t.member2.on(&s.api);
    let mine = kit::create_titled(&member, org, "Mine", "m").await;
    assert_eq!(mine["owner_id"], t.member.id.as_str());
    let theirs = kit::create_titled(&member2, org, "Theirs", "m2").await;
    let owners = kit::create_titled(&t.owner.on(&s.api), org, "Owner's", "o").await;
    for other in [&theirs, &owners] {
        assert_writes(
            &member,
            org,
            str_of(other, "id"),
            &t.viewer.id,
            403,
            "member",
        )
        .await;
        assert_unchanged(&member, org, other).await;
    }
    // Their own: every write works.
    let id = str_of(&mine, "id");
    let p = kit::patch_doc(&member, org, id, &json!({"content": "edited"})).await;
    assert_eq!(version_of(&p), 2);
    let r = member
        .post(
            &format!("{}/shares", doc(org, id)),
            &json!({"user_id": t.viewer.id, "permission": "view"}),
        )
        .await;
    r.expect_status(201);
    member
        .delete(&format!("{}/shares/{}", doc(org, id), t.viewer.id))
        .await
        .expect_status(204);
    member.delete(&doc(org, id)).await.expect_status(204);
    kit::restore(&member, org, id).await.expect_status(200);
    // Someone else's deleted document cannot be restored by a member.
    t.owner
        .on(&s.api)
        .delete(&doc(org, str_of(&owners, "id")))
        .await
        .expect_status(204);
    kit::restore(&member, org, str_of(&owners, "id"))
        .await
        .expect_problem(403, "forbidden");
}

async fn admins_and_owners_change_everything(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let member = t.member.on(&s.api);
    for who in [&t.admin, &t.owner] {
        let c = who.on(&s.api);
        let d = kit::create_titled(&member, org, "Member's", "c").await;
        let id = str_of(&d, "id");
        let p = kit::patch_doc(&c, org, id, &json!({"title": "By a boss"})).await;
        assert_eq!(
            p["owner_id"],
            t.member.id.as_str(),
            "PATCH changed the owner"
        );
        let r = c
            .post(
                &format!("{}/shares", doc(org, id)),
                &json!({"user_id": t.member2.id, "permission": "edit"}),
            )
            .await;
        r.expect_status(201);
        c.delete(&format!("{}/shares/{}", doc(org, id), t.member2.id))
            .await
            .expect_status(204);
        c.delete(&doc(org, id)).await.expect_status(204);
        kit::restore(&c, org, id).await.expect_status(200);
        c.delete(&doc(org, id)).await.expect_status(204);
        member
            .get(&doc(org, id))
            .await
            .expect_problem(404, "not_found");
    }
}

async fn view_share_reads_edit_share_writes(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let member = t.member.on(&s.api);
    let member2 = t.member2.on(&s.api);
    let d = kit::create_titled(&member, org, "Shared", "s").await;
    let id = str_of(&d, "id");
    let shares = format!("{}/shares", doc(org, id));

    let r = member
        .post(
            &shares,
            &json!({"user_id": t.member2.id, "permission": "view"}),
        )
        .await;
    r.expect_status(201);
    assert_eq!(r.json()["permission"], "view");
    assert_writes(
        &member2,
        org,
        id,
        &t.viewer.id,
        403,
        "member with a view share",
    )
    .await;
    assert_unchanged(&member, org, &d).await;

    // Upgrading the share (same user again) replaces it: one entry, `edit`.
    let r = member
        .post(
            &shares,
            &json!({"user_id": t.member2.id, "permission": "edit"}),
        )
        .await;
    r.expect_status(201);
    let (items, _) = kit::page(&member.get(&shares).await);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["user_id"], t.member2.id.as_str());
    assert_eq!(items[0]["permission"], "edit");

    let p = kit::patch_doc(&member2, org, id, &json!({"content": "by the editor"})).await;
    assert_eq!(
        p["owner_id"],
        t.member.id.as_str(),
        "an editor became the owner"
    );
    let r = member2
        .post(
            &shares,
            &json!({"user_id": t.viewer.id, "permission": "view"}),
        )
        .await;
    r.expect_status(201);
    member2.delete(&doc(org, id)).await.expect_status(204);
    kit::restore(&member2, org, id).await.expect_status(200);

    // A share is for that one document only.
    let other = kit::create_titled(&member, org, "Not shared", "n").await;
    let r = member2
        .patch(&doc(org, str_of(&other, "id")), &json!({"title": "x"}))
        .await;
    r.expect_problem(403, "forbidden");

    // Unshared again: back to read-only.
    member
        .delete(&format!("{shares}/{}", t.member2.id))
        .await
        .expect_status(204);
    let r = member2.patch(&doc(org, id), &json!({"title": "x"})).await;
    r.expect_problem(403, "forbidden");
    kit::get_doc(&member2, org, id).await;
}

async fn api_keys_need_scopes_and_own_what_they_made(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let owner = t.owner.on(&s.api);
    let (rw_id, rw) = api_key(&owner, org, &["documents:read", "documents:write"]).await;
    let (_, read_only) = api_key(&owner, org, &["documents:read"]).await;
    let (_, write_only) = api_key(&owner, org, &["documents:write"]).await;
    let (_, no_docs) = api_key(&owner, org, &["files:read", "jobs:write", "usage:read"]).await;
    let rw = Caller::new(&s.api, &rw);
    let read_only = Caller::new(&s.api, &read_only);
    let write_only = Caller::new(&s.api, &write_only);
    let no_docs = Caller::new(&s.api, &no_docs);

    // Made by the key: owned by the key, and every write works.
    let made = kit::create_titled(&rw, org, "By a key", "k").await;
    assert_eq!(made["owner_id"], rw_id.as_str(), "{made}");
    let id = str_of(&made, "id");
    kit::get_doc(&rw, org, id).await;
    kit::patch_doc(&rw, org, id, &json!({"title": "Still the key's"})).await;
    rw.delete(&doc(org, id)).await.expect_status(204);
    kit::restore(&rw, org, id).await.expect_status(200);

    // Someone else's document: readable, not writable, even with documents:write.
    let users = kit::create_titled(&t.member.on(&s.api), org, "A user's", "u").await;
    let uid = str_of(&users, "id");
    kit::get_doc(&rw, org, uid).await;
    assert_writes(
        &rw,
        org,
        uid,
        &t.viewer.id,
        403,
        "rw key on a user's document",
    )
    .await;
    assert_unchanged(&owner, org, &users).await;
    // An owner (admin+) changes what the key made.
    kit::patch_doc(&owner, org, id, &json!({"content": "owner was here"})).await;

    // documents:read only.
    kit::get_doc(&read_only, org, id).await;
    assert!(kit::listed_ids(&read_only, org).await.len() >= 2);
    read_only
        .post(&docs(org), &json!({"title": "x"}))
        .await
        .expect_problem(403, "forbidden");
    assert_writes(&read_only, org, id, &t.viewer.id, 403, "read-only key").await;

    // documents:write only: creates, but reads nothing.
    let w = kit::create_titled(&write_only, org, "Write only", "w").await;
    for path in [
        docs(org),
        doc(org, str_of(&w, "id")),
        format!("{}/versions", doc(org, str_of(&w, "id"))),
        format!("{}/shares", doc(org, str_of(&w, "id"))),
    ] {
        write_only.get(&path).await.expect_problem(403, "forbidden");
    }
    kit::patch_doc(&write_only, org, str_of(&w, "id"), &json!({"title": "w2"})).await;

    // No documents scope at all.
    for (method, path) in [
        (Method::GET, docs(org)),
        (Method::GET, doc(org, id)),
        (Method::GET, format!("{}/versions", doc(org, id))),
        (Method::DELETE, doc(org, id)),
    ] {
        let r = no_docs.call(method.clone(), &path).await;
        assert_eq!(r.status, 403, "{method} {path} without scope: {}", r.text());
        r.expect_problem(403, "forbidden");
    }
    no_docs
        .post(&docs(org), &json!({"title": "x"}))
        .await
        .expect_problem(403, "forbidden");
    kit::get_doc(&owner, org, id).await;
}
