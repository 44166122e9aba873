//! Another organization's documents are missing, not forbidden: 404 on every route, under the
//! other organization's path and under the caller's own, for users and API keys alike.

use super::kit::{self, api_key, doc, docs, signup, str_of, Caller};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(other_orgs_documents_are_404_on_every_route),
        trial!(unknown_and_malformed_ids_are_404),
    ]
}

/// Every documents route for document `id` under organization `org`, as `c`.
async fn every_route(c: &Caller, org: &str, id: &str, user: &str) -> Vec<(String, Reply)> {
    let d = doc(org, id);
    let mut out = vec![
        (format!("GET {d}"), c.get(&d).await),
        (
            format!("GET {d} If-None-Match"),
            c.request(Method::GET, &d)
                .header("if-none-match", kit::etag_of(id, 1))
                .reply()
                .await,
        ),
        (
            format!("PATCH {d}"),
            c.patch(&d, &json!({"title": "hijacked"})).await,
        ),
        (
            format!("PATCH {d} If-Match"),
            c.request(Method::PATCH, &d)
                .header("if-match", kit::etag_of(id, 1))
                .json(&json!({"title": "hijacked"}))
                .reply()
                .await,
        ),
        (
            format!("GET {d}/versions"),
            c.get(&format!("{d}/versions")).await,
        ),
        (
            format!("GET {d}/versions/1"),
            c.get(&format!("{d}/versions/1")).await,
        ),
        (
            format!("GET {d}/shares"),
            c.get(&format!("{d}/shares")).await,
        ),
        (
            format!("POST {d}/shares"),
            c.post(
                &format!("{d}/shares"),
                &json!({"user_id": user, "permission": "edit"}),
            )
            .await,
        ),
        (
            format!("DELETE {d}/shares/{user}"),
            c.delete(&format!("{d}/shares/{user}")).await,
        ),
        (format!("DELETE {d}"), c.delete(&d).await),
        (format!("POST {d}/restore"), kit::restore(c, org, id).await),
    ];
    out.push((
        format!("GET {}", docs(org)),
        c.get(&format!("{}?limit=5", docs(org))).await,
    ));
    out
}

/// Only the replies of routes naming document `id` (not the organization's list).
fn naming(replies: Vec<(String, Reply)>, id: &str) -> Vec<(String, Reply)> {
    replies
        .into_iter()
        .filter(|(what, _)| what.contains(id))
        .collect()
}

fn assert_all_404(replies: &[(String, Reply)], who: &str) {
    for (what, r) in replies {
        assert_eq!(r.status, 404, "{who}: {what}: {}", r.text());
        let p = r.problem();
        assert_eq!(p.code, "not_found", "{who}: {what}: {}", p.body);
        assert!(
            !r.text().contains("forbidden"),
            "{who}: {what} hints at existence: {}",
            r.text()
        );
    }
}

async fn other_orgs_documents_are_404_on_every_route(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let a_c = a.on(&s.api);
    let b_c = b.on(&s.api);
    let (b_doc, a_doc) = tokio::join!(
        kit::create_titled(&b_c, &b.org_id, "B's secret", "classified"),
        kit::create_titled(&a_c, &a.org_id, "A's own", "a"),
    );
    let b_id = str_of(&b_doc, "id");
    // A deleted document of B too: restore must not reach it either.
    let b_gone = kit::create_titled(&b_c, &b.org_id, "B's deleted", "x").await;
    let gone_id = str_of(&b_gone, "id");
    b_c.delete(&doc(&b.org_id, gone_id))
        .await
        .expect_status(204);

    let (_, a_key) = api_key(&a_c, &a.org_id, &["documents:read", "documents:write"]).await;
    let a_key = Caller::new(&s.api, &a_key);

    for (who, c) in [("user of A", &a_c), ("API key of A", &a_key)] {
        // Under B's path: B's organization is not theirs.
        let mut replies = every_route(c, &b.org_id, b_id, &a.id).await;
        let r = c.post(&docs(&b.org_id), &json!({"title": "planted"})).await;
        replies.push((format!("POST {}", docs(&b.org_id)), r));
        replies.push((
            format!("GET {}?q=secret", docs(&b.org_id)),
            c.get(&format!("{}?q=secret", docs(&b.org_id))).await,
        ));
        assert_all_404(&replies, who);
        // Under A's own path with B's ids.
        let replies = naming(every_route(c, &a.org_id, b_id, &a.id).await, b_id);
        assert_all_404(&replies, who);
        assert_all_404(
            &[(
                "restore B's deleted document".to_owned(),
                kit::restore(c, &a.org_id, gone_id).await,
            )],
            who,
        );
        // B's documents never show in A's list or search.
        let listed = kit::listed_ids(c, &a.org_id).await;
        assert!(
            !listed.contains(&b_id.to_owned()),
            "{who} lists B's document"
        );
        assert!(kit::search_ids(c, &a.org_id, "secret classified")
            .await
            .is_empty());
    }
    // B's documents are untouched, and B cannot reach A's either.
    assert_eq!(kit::get_doc(&b_c, &b.org_id, b_id).await, b_doc);
    b_c.get(&doc(&b.org_id, gone_id))
        .await
        .expect_problem(404, "not_found");
    let (shares, _) = kit::page(&b_c.get(&format!("{}/shares", doc(&b.org_id, b_id))).await);
    assert!(shares.is_empty(), "a share was planted: {shares:?}");
    assert_eq!(
        kit::listed_ids(&b_c, &b.org_id).await,
        vec![b_id.to_owned()]
    );
    let a_id = str_of(&a_doc, "id");
    let replies = naming(every_route(&b_c, &b.org_id, a_id, &b.id).await, a_id);
    assert_all_404(&replies, "user of B on A's document");
    assert_eq!(
        kit::get_doc(&a_c, &a.org_id, str_of(&a_doc, "id")).await,
        a_doc
    );
}

async fn unknown_and_malformed_ids_are_404(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let unknown = kit::unknown_doc_id();
    for id in [
        unknown.as_str(),
        "nope",
        "usr_0000000000000000",
        "doc_",
        "DOC_0000000000000000",
    ] {
        let replies = naming(every_route(&c, &a.org_id, id, &a.id).await, id);
        assert_all_404(&replies, &format!("id {id}"));
    }
    // An organization that does not exist.
    let org = format!("org_{}", edge_tests::random::hex(12));
    let r = c.get(&docs(&org)).await;
    r.expect_problem(404, "not_found");
    let r = c.post(&docs(&org), &json!({"title": "x"})).await;
    r.expect_problem(404, "not_found");
}
