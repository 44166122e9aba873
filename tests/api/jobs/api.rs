//! `POST/GET /v1/orgs/{org}/jobs…`: shapes, per-type payload rules, listing, access and
//! tenancy (`Idempotency-Key` is in `idempotency`).

use super::kit::{
    api_key, assert_accepted, create, get_job, job_path, jobs_path, join, payload, signup,
    wait_final, Caller, JOB_DEADLINE, SETTLE,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(create_answers_202_with_location_and_the_job_reads_back),
        trial!(every_type_is_accepted_with_its_required_field),
        trial!(payload_rules_per_type_are_400_on_the_field),
        trial!(payload_must_be_an_object_of_at_most_64_kib),
        trial!(list_filters_by_status_and_paginates),
        trial!(api_keys_need_jobs_write_and_viewers_only_read),
        trial!(another_orgs_job_is_404),
    ]
}

async fn create_answers_202_with_location_and_the_job_reads_back(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let key = random::unique("jobs-api-a");
    s.origin
        .script(&key, vec![Answer::Json(200, json!({"rendered": key}))]);
    let job = create(&by, &owner.org_id, "email", payload(s, "email", &key)).await;
    let keys: BTreeSet<&str> = job
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for k in ["id", "type", "status", "created_at"] {
        assert!(keys.contains(k), "202 lacks {k}: {job}");
    }
    let id = job["id"].as_str().unwrap();
    let read = get_job(&by, &owner.org_id, id).await;
    assert_eq!(read["type"], "email", "{read}");
    assert_eq!(read["created_at"], job["created_at"], "{read}");
    let done = wait_final(&by, &owner.org_id, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["result"], json!({"rendered": key}), "{done}");
    assert!(
        done["error"].is_null(),
        "a succeeded job has no error: {done}"
    );
}

async fn every_type_is_accepted_with_its_required_field(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    // webhook.deliver: `jobs::webhook` (it needs an endpoint and an event).
    for job_type in ["email", "file.process", "ai.generate"] {
        let key = random::unique("jobs-api-type");
        let p = match job_type {
            "file.process" => super::kit::file_job(&by, &owner.org_id, &key).await,
            other => payload(s, other, &key),
        };
        let job = create(&by, &owner.org_id, job_type, p).await;
        let done = wait_final(
            &by,
            &owner.org_id,
            job["id"].as_str().unwrap(),
            JOB_DEADLINE,
        )
        .await;
        assert_eq!(done["status"], "succeeded", "{job_type}: {done}");
        assert_eq!(done["type"], job_type, "{done}");
    }
}

async fn payload_rules_per_type_are_400_on_the_field(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let cases = [
        ("email", json!({}), "payload.to"),
        ("email", json!({"to": "not-an-email"}), "payload.to"),
        ("email", json!({"to": 7}), "payload.to"),
        ("email", json!({"to": ""}), "payload.to"),
        ("file.process", json!({}), "payload.file_id"),
        ("file.process", json!({"file_id": ""}), "payload.file_id"),
        ("file.process", json!({"file_id": 12}), "payload.file_id"),
        ("ai.generate", json!({}), "payload.prompt"),
        ("ai.generate", json!({"prompt": ""}), "payload.prompt"),
        ("ai.generate", json!({"prompt": ["a"]}), "payload.prompt"),
        ("webhook.deliver", json!({}), "payload"),
        (
            "webhook.deliver",
            json!({"url": "https://hooks.example.com/"}),
            "payload",
        ),
        (
            "webhook.deliver",
            json!({"endpoint_id": "whe_x", "event_id": "evt_y"}),
            "payload.event_id",
        ),
    ];
    for (job_type, payload, field) in cases {
        let body = json!({"type": job_type, "payload": payload});
        let r = by.post(&jobs_path(&owner.org_id), &body).await;
        let p = r.expect_problem(400, "validation_failed");
        p.expect_field(field);
    }
    for (body, field) in [
        (json!({"type": "nope", "payload": {}}), "type"),
        (json!({"type": "email"}), "payload"),
        (json!({"payload": {"to": random::email()}}), "type"),
    ] {
        let r = by.post(&jobs_path(&owner.org_id), &body).await;
        r.expect_problem(400, "validation_failed")
            .expect_field(field);
    }
    // Nothing was created by any refusal.
    let list = by.get(&jobs_path(&owner.org_id)).await;
    list.expect_status(200);
    assert_eq!(list.json()["items"], json!([]), "refused jobs were stored");
}

async fn payload_must_be_an_object_of_at_most_64_kib(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    for payload in [json!("x"), json!(5), json!([1]), json!(null), json!(true)] {
        let body = json!({"type": "email", "payload": payload});
        let r = by.post(&jobs_path(org), &body).await;
        r.expect_problem(400, "validation_failed")
            .expect_field("payload");
    }
    // A payload over 64 KiB of JSON.
    let big = json!({"file_id": "file_big", "pad": "a".repeat(66 * 1024)});
    let r = by
        .post(
            &jobs_path(org),
            &json!({"type": "file.process", "payload": big}),
        )
        .await;
    r.expect_problem(400, "validation_failed")
        .expect_field("payload");
    // Just under the limit is fine.
    let key = random::unique("jobs-api-big");
    let mut fits = super::kit::file_job(&by, org, &key).await;
    fits["pad"] = json!("");
    let room = 64 * 1024 - fits.to_string().len() - 16;
    fits["pad"] = json!("b".repeat(room));
    let job = create(&by, org, "file.process", fits.clone()).await;
    let seen = s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    assert_eq!(
        seen[0].json()["payload"],
        fits,
        "the payload reached the origin intact"
    );
    let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

async fn list_filters_by_status_and_paginates(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let ok_key = random::unique("jobs-list-ok");
    let bad_key = random::unique("jobs-list-bad");
    s.origin.script(&bad_key, vec![Answer::Status(422)]);
    let ok = create(&by, org, "ai.generate", payload(s, "ai.generate", &ok_key)).await;
    let bad_payload = super::kit::file_job(&by, org, &bad_key).await;
    let bad = create(&by, org, "file.process", bad_payload).await;
    let ok_id = ok["id"].as_str().unwrap();
    let bad_id = bad["id"].as_str().unwrap();
    wait_final(&by, org, ok_id, JOB_DEADLINE).await;
    wait_final(&by, org, bad_id, JOB_DEADLINE).await;
    let mut more = Vec::new();
    for _ in 0..3 {
        let k = random::unique("jobs-list-more");
        more.push(create(&by, org, "ai.generate", payload(s, "ai.generate", &k)).await);
    }

    let ids_of = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {v}"))
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let failed = by.get(&format!("{}?status=failed", jobs_path(org))).await;
    failed.expect_status(200);
    let failed = failed.json();
    assert_eq!(ids_of(&failed), vec![bad_id.to_owned()], "{failed}");
    assert_eq!(failed["items"][0]["status"], "failed", "{failed}");
    let succeeded = by
        .get(&format!("{}?status=succeeded", jobs_path(org)))
        .await;
    let succeeded = succeeded.json();
    let ids = ids_of(&succeeded);
    assert!(ids.contains(&ok_id.to_owned()), "{succeeded}");
    assert!(!ids.contains(&bad_id.to_owned()), "{succeeded}");
    for j in succeeded["items"].as_array().unwrap() {
        assert_eq!(j["status"], "succeeded", "{succeeded}");
    }
    let r = by.get(&format!("{}?status=bogus", jobs_path(org))).await;
    r.expect_problem(400, "validation_failed");

    // Pages of one, newest first, every job once.
    let mut seen = Vec::new();
    let mut path = format!("{}?limit=1", jobs_path(org));
    for _ in 0..20 {
        let r = by.get(&path).await;
        r.expect_status(200);
        let page = r.json();
        let ids = ids_of(&page);
        assert!(ids.len() <= 1, "limit=1 gave {page}");
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("{}?limit=1&cursor={c}", jobs_path(org)),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a job was listed twice: {seen:?}");
    for id in [ok_id, bad_id]
        .into_iter()
        .chain(more.iter().map(|j| j["id"].as_str().unwrap()))
    {
        assert!(seen.contains(&id.to_owned()), "{id} missing from {seen:?}");
    }
    let newest = more[2]["id"].as_str().unwrap();
    assert_eq!(seen[0], newest, "newest first: {seen:?}");
}

async fn api_keys_need_jobs_write_and_viewers_only_read(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = &owner.org_id;
    let by = owner.on(&s.api);
    let viewer = join(s, &by, org, "viewer").await;
    let (_, reader) = api_key(&by, org, &["documents:read", "documents:write"]).await;
    let (_, writer) = api_key(&by, org, &["jobs:write"]).await;
    let reader = Caller::new(&s.api, &reader);
    let writer = Caller::new(&s.api, &writer);
    let viewer = viewer.on(&s.api);
    let anon = Caller::anon(&s.api);

    let key = random::unique("jobs-acl");
    let body = json!({"type": "ai.generate", "payload": payload(s, "ai.generate", &key)});
    reader
        .post(&jobs_path(org), &body)
        .await
        .expect_problem(403, "forbidden");
    viewer
        .post(&jobs_path(org), &body)
        .await
        .expect_problem(403, "forbidden");
    anon.post(&jobs_path(org), &body)
        .await
        .expect_problem(401, "unauthenticated");

    let r = writer.post(&jobs_path(org), &body).await;
    let job = assert_accepted(&r, org, "ai.generate");
    let id = job["id"].as_str().unwrap();
    get_job(&writer, org, id).await;
    get_job(&viewer, org, id).await;
    writer.get(&jobs_path(org)).await.expect_status(200);
    reader
        .get(&job_path(org, id))
        .await
        .expect_problem(403, "forbidden");
    anon.get(&job_path(org, id))
        .await
        .expect_problem(401, "unauthenticated");
    anon.get(&jobs_path(org))
        .await
        .expect_problem(401, "unauthenticated");
    // Only the writer's job was made.
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "one job, one delivery"
    );
}

async fn another_orgs_job_is_404(s: &Suite) {
    let a = signup(&s.api).await;
    let b = signup(&s.api).await;
    let key = random::unique("jobs-tenancy");
    let job = create(
        &a.on(&s.api),
        &a.org_id,
        "ai.generate",
        payload(s, "ai.generate", &key),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let by_b = b.on(&s.api);
    by_b.get(&job_path(&b.org_id, id))
        .await
        .expect_problem(404, "not_found");
    by_b.get(&job_path(&a.org_id, id))
        .await
        .expect_problem(404, "not_found");
    by_b.get(&jobs_path(&a.org_id))
        .await
        .expect_problem(404, "not_found");
    by_b.post(
        &jobs_path(&a.org_id),
        &json!({"type": "ai.generate", "payload": {"prompt": "x"}}),
    )
    .await
    .expect_problem(404, "not_found");
    let list = by_b.get(&jobs_path(&b.org_id)).await.json();
    assert!(
        !list.to_string().contains(id),
        "org B's list shows org A's job: {list}"
    );
    let unknown = format!("job_{}", random::hex(12));
    for bad in [unknown.as_str(), "nope"] {
        by_b.get(&job_path(&b.org_id, bad))
            .await
            .expect_problem(404, "not_found");
    }
}
