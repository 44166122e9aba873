//! The `/demo/rooms` page in headless Chromium: it joins with a ticket from its URL, shows a
//! message a test client sends, and sends one the test client receives.

use super::kit::{connect, encode_q, room_name, say, signup, ticket, EVENT};
use crate::support::{trial, Suite};
use edge_tests::chromium::Chromium;
use edge_tests::SendExt;
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_demo_page_joins_and_chats_in_headless_chromium)]
}

async fn the_demo_page_joins_and_chats_in_headless_chromium(s: &Suite) {
    let page = s.api.get("/demo/rooms").reply().await;
    page.expect_status(200);
    assert!(page
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    let csp = page
        .header("content-security-policy")
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'nonce-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "no external assets"
    );

    let a = signup(&s.api).await;
    let org = a.org_id.clone();
    let room = room_name();
    let (mut me, _) = connect(&s.api, &a.access, &org, &room).await;
    let t = ticket(&a.on(&s.api), &org, &room).await;
    let url = s.api.url(&format!(
        "/demo/rooms?org={}&room={}&ticket={}&autojoin=1",
        encode_q(&org),
        encode_q(&room),
        encode_q(t["ticket"].as_str().unwrap_or(""))
    ));
    let mut browser = Chromium::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let joined = browser
        .wait_for(
            "document.body.dataset.state === 'joined'",
            Duration::from_secs(30),
        )
        .await;
    assert!(
        joined,
        "page state: {:?}; log: {:?}",
        browser.eval("document.body.dataset.state").await,
        browser
            .eval("document.getElementById('log').innerText")
            .await
    );
    say(&mut me, json!("hello from the test client")).await;
    let shown = browser
        .wait_for(
            "document.getElementById('log').innerText.includes('hello from the test client')",
            EVENT,
        )
        .await;
    assert!(
        shown,
        "log: {:?}",
        browser
            .eval("document.getElementById('log').innerText")
            .await
    );
    // And the other way round: typed into the page, received by the test client.
    browser
        .eval("document.getElementById('text').value = 'hello from chromium'; document.getElementById('say').requestSubmit(); true")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = me.next_of("message", EVENT).await;
    let got = if got["data"] == "hello from the test client" {
        me.next_of("message", EVENT).await
    } else {
        got
    };
    assert_eq!(got["data"], "hello from chromium");
    assert_eq!(got["from"]["user_id"], a.id.as_str());
}
