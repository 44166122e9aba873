//! Changing the password: the current one is required, the policy applies, a user with a
//! second factor needs a recent one, every other session ends at once (tokens and sockets)
//! while this one stays, and the user gets a notice.

use super::kit::{enrolled, login, login_tokens, signup, step_up, Caller};
use crate::identity::kit::wait_emails;
use crate::rooms::kit::{connect, room_name, EVENT};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_password_change_ends_the_other_sessions),
        trial!(a_password_change_needs_the_current_password_and_a_recent_factor),
    ]
}

async fn a_password_change_ends_the_other_sessions(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (other, other_refresh) = login_tokens(&login(api, &a.email, &a.password).await);
    let (mut ws, _) = connect(api, &other, &a.org_id, &room_name()).await;
    let r = a
        .on(api)
        .post(
            "/v1/me/password",
            &json!({"current_password": a.password, "new_password": "a brand new password"}),
        )
        .await;
    r.expect_status(204);
    // The other session: tokens dead, socket closed. This one lives on.
    Caller::bearer(api, &other)
        .get("/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": other_refresh}))
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(ws.closed_with(EVENT).await, Some(4001));
    a.on(api).get("/v1/me").await.expect_status(200);
    // The old password no longer signs in; the new one does.
    login(api, &a.email, &a.password)
        .await
        .expect_problem(401, "unauthenticated");
    login_tokens(&login(api, &a.email, "a brand new password").await);
    let mail = &wait_emails(s, &a.email, "password_changed", 1).await[0];
    assert_eq!(mail["payload"]["sessions_ended"], 1, "{mail}");
}

async fn a_password_change_needs_the_current_password_and_a_recent_factor(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let a = e.account.clone();
    let change = |by: String, current: String| {
        let body = json!({"current_password": current, "new_password": "another new password"});
        async move {
            Caller::bearer(api, &by)
                .post("/v1/me/password", &body)
                .await
        }
    };
    change(a.access.clone(), "not the password".into())
        .await
        .expect_problem(403, "forbidden");
    Caller::bearer(api, &a.access)
        .post(
            "/v1/me/password",
            &json!({"current_password": a.password, "new_password": "short"}),
        )
        .await
        .expect_problem(400, "validation_failed");
    // The signup session has the password only: step up first.
    change(e.password_only.clone(), a.password.clone())
        .await
        .expect_problem(403, "step_up_required");
    // Nothing changed: the password still signs in (to the second factor).
    login(api, &a.email, &a.password)
        .await
        .expect_problem(403, "mfa_required");
    let r = step_up(api, &e.password_only, json!({"code": e.app.code().await})).await;
    r.expect_status(200);
    let fresh = r.json()["access_token"].as_str().expect("token").to_owned();
    change(fresh.clone(), a.password.clone())
        .await
        .expect_status(204);
    // The confirmation's session ended with the change; the stepped-up one stays.
    Caller::bearer(api, &a.access)
        .get("/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    Caller::bearer(api, &fresh)
        .get("/v1/me")
        .await
        .expect_status(200);
}
