//! Full-text search (`?q=`): words of title and content, all words required, best match first,
//! only the caller's organization, never deleted documents; search syntax in `q` is text, never
//! an error of the server.

use super::kit::{self, doc, docs, encode, page, signup, str_of, word};
use crate::support::{trial, Suite};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(search_finds_words_of_title_and_content),
        trial!(search_ranks_the_best_match_first),
        trial!(search_sees_only_the_callers_live_documents),
        trial!(search_syntax_in_q_is_never_a_server_error),
        trial!(search_pages_and_cursors),
    ]
}

async fn search_finds_words_of_title_and_content(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let (w1, w2, w3) = (word(), word(), word());
    let in_title = kit::create_titled(&c, org, &format!("About {w1}"), "nothing here").await;
    let in_content = kit::create_titled(
        &c,
        org,
        "Unrelated title",
        &format!("Some text mentioning {w1} and also {w2}."),
    )
    .await;
    let _neither = kit::create_titled(&c, org, "Neither", "plain words only").await;
    let (t_id, c_id) = (str_of(&in_title, "id"), str_of(&in_content, "id"));

    let mut found = kit::search_ids(&c, org, &w1).await;
    found.sort();
    let mut want = vec![t_id.to_owned(), c_id.to_owned()];
    want.sort();
    assert_eq!(found, want, "search {w1}");
    // Case does not matter; every word is required; punctuation around words is ignored.
    assert_eq!(
        kit::search_ids(&c, org, &w2.to_uppercase()).await,
        vec![c_id.to_owned()]
    );
    assert_eq!(
        kit::search_ids(&c, org, &format!("{w1} {w2}")).await,
        vec![c_id.to_owned()]
    );
    assert_eq!(
        kit::search_ids(&c, org, &format!("  {w2}!?, ")).await,
        vec![c_id.to_owned()]
    );
    assert!(kit::search_ids(&c, org, &w3).await.is_empty());
    assert!(kit::search_ids(&c, org, &format!("{w1} {w3}"))
        .await
        .is_empty());
    // Words with diacritics.
    let accented = kit::create_titled(&c, org, "Crème brûlée", &format!("{w3} über")).await;
    assert_eq!(
        kit::search_ids(&c, org, &format!("brûlée {w3}")).await,
        vec![str_of(&accented, "id").to_owned()]
    );

    // The index follows PATCHes: new words are found, old ones no longer.
    kit::patch_doc(
        &c,
        org,
        c_id,
        &json!({"content": format!("now about {w3}")}),
    )
    .await;
    assert!(
        kit::search_ids(&c, org, &w2).await.is_empty(),
        "stale index"
    );
    let mut found = kit::search_ids(&c, org, &w3).await;
    found.sort();
    let mut want = vec![c_id.to_owned(), str_of(&accented, "id").to_owned()];
    want.sort();
    assert_eq!(found, want);
    kit::patch_doc(&c, org, t_id, &json!({"title": "Renamed"})).await;
    assert!(
        kit::search_ids(&c, org, &w1).await.is_empty(),
        "stale title index"
    );
    assert_eq!(
        kit::search_ids(&c, org, "Renamed").await,
        vec![t_id.to_owned()]
    );

    // With a status filter.
    kit::patch_doc(&c, org, c_id, &json!({"status": "published"})).await;
    let url = format!("{}?q={w3}&status=published", docs(org));
    let (items, _) = page(&c.get(&url).await);
    assert_eq!(kit::ids(&items), vec![c_id.to_owned()]);
    let url = format!("{}?q={w3}&status=archived", docs(org));
    assert!(page(&c.get(&url).await).0.is_empty());
}

async fn search_ranks_the_best_match_first(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let w = word();
    // The best match is made first, so newest-first order would put it last.
    let best = kit::create_titled(
        &c,
        org,
        &format!("{w} handbook"),
        &format!("{w} {w} {w}: everything on {w}."),
    )
    .await;
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let weak = kit::create_titled(&c, org, "Misc notes", &format!("{filler} {w} {filler}")).await;
    let found = kit::search_ids(&c, org, &w).await;
    assert_eq!(
        found,
        vec![
            str_of(&best, "id").to_owned(),
            str_of(&weak, "id").to_owned()
        ],
        "best match first"
    );
}

async fn search_sees_only_the_callers_live_documents(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let (ac, bc) = (a.on(&s.api), b.on(&s.api));
    let w = word();
    let mine = kit::create_titled(&ac, &a.org_id, &format!("Mine {w}"), "a").await;
    let theirs = kit::create_titled(&bc, &b.org_id, &format!("Theirs {w}"), &w).await;
    let id = str_of(&mine, "id");
    assert_eq!(
        kit::search_ids(&ac, &a.org_id, &w).await,
        vec![id.to_owned()]
    );
    assert_eq!(
        kit::search_ids(&bc, &b.org_id, &w).await,
        vec![str_of(&theirs, "id").to_owned()]
    );
    assert!(kit::search_ids(&ac, &a.org_id, "Theirs").await.is_empty());

    ac.delete(&doc(&a.org_id, id)).await.expect_status(204);
    assert!(
        kit::search_ids(&ac, &a.org_id, &w).await.is_empty(),
        "search shows a deleted document"
    );
    kit::restore(&ac, &a.org_id, id).await.expect_status(200);
    assert_eq!(
        kit::search_ids(&ac, &a.org_id, &w).await,
        vec![id.to_owned()]
    );
}

async fn search_syntax_in_q_is_never_a_server_error(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let (ac, bc) = (a.on(&s.api), b.on(&s.api));
    let w = word();
    let mine = kit::create_titled(&ac, &a.org_id, &format!("Visible {w}"), "secret").await;
    kit::create_titled(&bc, &b.org_id, &format!("secret {w}"), "secret title").await;
    let deleted = kit::create_titled(&ac, &a.org_id, &format!("secret gone {w}"), "x").await;
    ac.delete(&doc(&a.org_id, str_of(&deleted, "id")))
        .await
        .expect_status(204);
    let hostile = [
        "\"".to_owned(),
        "\"\"".to_owned(),
        format!("\"{w}"),
        format!("{w}\""),
        "*".to_owned(),
        format!("{w}*"),
        "secr*".to_owned(),
        "NEAR(".to_owned(),
        format!("NEAR({w} secret, 2)"),
        "OR".to_owned(),
        "a OR b".to_owned(),
        format!("{w} OR secret"),
        "NOT secret".to_owned(),
        "AND".to_owned(),
        "title:x".to_owned(),
        "title:secret".to_owned(),
        format!("content:{w}"),
        "{title content}: secret".to_owned(),
        "^secret".to_owned(),
        "-secret".to_owned(),
        "+secret".to_owned(),
        "(".to_owned(),
        ")".to_owned(),
        "secret)".to_owned(),
        "'".to_owned(),
        "' OR 1=1 --".to_owned(),
        "'; DROP TABLE documents; --".to_owned(),
        "\\".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "\u{0}".to_owned(),
        "secret\u{0}".to_owned(),
        ":".to_owned(),
        "rowid:1".to_owned(),
        "documents_fts".to_owned(),
        "*:*".to_owned(),
        "a".repeat(5000),
        format!("{} {w}", "x ".repeat(200)),
        "😀".to_owned(),
        "\u{202e}secret".to_owned(),
        "".to_owned(),
        " ".to_owned(),
    ];
    let replies = join_all(hostile.iter().map(|q| {
        let url = format!("{}?q={}", docs(&a.org_id), encode(q));
        ac.get_owned(url)
    }))
    .await;
    for (q, r) in hostile.iter().zip(replies) {
        let shown: String = q.chars().take(40).collect();
        match r.status {
            200 => {
                let (items, _) = page(&r);
                for d in &items {
                    kit::assert_summary(d);
                    assert_eq!(d["org_id"], a.org_id.as_str(), "q={shown:?} leaks: {d}");
                    assert_ne!(
                        d["id"], deleted["id"],
                        "q={shown:?} shows a deleted document"
                    );
                }
            }
            400 => {
                r.expect_problem(400, "validation_failed").expect_field("q");
            }
            other => panic!("q={shown:?}: {other} {}", r.text()),
        }
    }
    // Syntax is text: operators are plain words, and a word of the document still finds it.
    let found = kit::search_ids(&ac, &a.org_id, &format!("\"{w}\" OR")).await;
    assert!(
        found.is_empty(),
        "`OR` is a required word, not an operator: {found:?}"
    );
    let found = kit::search_ids(&ac, &a.org_id, &format!("title:{w}")).await;
    assert!(found.is_empty(), "`title` is a required word: {found:?}");
    assert_eq!(
        kit::search_ids(&ac, &a.org_id, &format!("({w}*)")).await,
        vec![str_of(&mine, "id").to_owned()]
    );
    // No word at all is a 400 naming q.
    for q in ["", "   ", "\"*()^:-", "***", "\"\""] {
        let r = ac
            .get(&format!("{}?q={}", docs(&a.org_id), encode(q)))
            .await;
        assert_eq!(r.status, 400, "q={q:?}: {}", r.text());
        r.expect_problem(400, "validation_failed").expect_field("q");
    }
    // Bad list parameters with q.
    for bad in [
        format!("q={w}&limit=0"),
        format!("q={w}&limit=101"),
        format!("q={w}&status=gone"),
        format!("q={w}&cursor=forged"),
    ] {
        let r = ac.get(&format!("{}?{bad}", docs(&a.org_id))).await;
        r.expect_problem(400, "validation_failed");
    }
}

async fn search_pages_and_cursors(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let (ac, bc) = (a.on(&s.api), b.on(&s.api));
    let w = word();
    let mut made = Vec::new();
    for i in 0..5 {
        let d = kit::create_titled(&ac, &a.org_id, &format!("{w} number {i}"), "").await;
        made.push(str_of(&d, "id").to_owned());
    }
    kit::create_titled(&bc, &b.org_id, &format!("{w} of B"), "").await;
    let all = kit::list_all(&ac, &format!("{}?q={w}", docs(&a.org_id)), 2).await;
    let mut found = kit::ids(&all);
    assert_eq!(found.len(), 5, "{found:?}");
    found.sort();
    found.dedup();
    made.sort();
    assert_eq!(found, made, "pages repeat or skip hits");

    let (_, next) = page(&ac.get(&format!("{}?q={w}&limit=2", docs(&a.org_id))).await);
    let cursor = next.expect("a cursor after 2 of 5 hits");
    // The cursor belongs to this search of this organization.
    for (c, url) in [
        (
            &ac,
            format!("{}?q=other&limit=2&cursor={cursor}", docs(&a.org_id)),
        ),
        (&ac, format!("{}?limit=2&cursor={cursor}", docs(&a.org_id))),
        (
            &bc,
            format!("{}?q={w}&limit=2&cursor={cursor}", docs(&b.org_id)),
        ),
    ] {
        let r = c.get(&url).await;
        r.expect_problem(400, "validation_failed")
            .expect_field("cursor");
    }
}
