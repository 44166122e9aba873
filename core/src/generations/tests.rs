use super::*;

fn settings() -> Settings {
    Settings {
        base_url: "http://o/ai/v1".into(),
        max_prompt_chars: 10,
        max_output_chars: 100,
        max_tokens: 50,
        deadline_ms: 1000,
        max_attempts: 3,
        models: Settings::parse_models(r#"{"free":["small"],"pro":["small","big"]}"#).unwrap(),
    }
}

fn body(prompt: &str, mode: &str) -> CreateBody {
    CreateBody {
        prompt: prompt.into(),
        mode: mode.into(),
        position: None,
        model: None,
        max_tokens: None,
        temperature: None,
    }
}

fn fields(e: ApiError) -> Vec<String> {
    e.errors().iter().map(|f| f.field.clone()).collect()
}

#[test]
fn a_good_request_gets_the_plan_default_model() {
    let s = Spec::parse(body("hi", "append"), &settings(), Plan::Free).unwrap();
    assert_eq!(s.model, "small");
    assert_eq!(s.max_tokens, 50);
    assert_eq!(s.mode, Mode::Append);
    let b = s.upstream_body();
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"]["include_usage"], true);
    assert_eq!(b["messages"][0]["content"], "hi");
}

#[test]
fn bad_requests_name_their_fields() {
    let st = settings();
    let e = Spec::parse(body("  ", "append"), &st, Plan::Free).unwrap_err();
    assert_eq!(fields(e), ["prompt"]);
    let e = Spec::parse(body("12345678901", "append"), &st, Plan::Free).unwrap_err();
    assert_eq!(fields(e), ["prompt"]);
    let e = Spec::parse(body("hi", "prepend"), &st, Plan::Free).unwrap_err();
    assert_eq!(fields(e), ["mode"]);
    let e = Spec::parse(body("hi", "insert_at"), &st, Plan::Free).unwrap_err();
    assert_eq!(fields(e), ["position"]);
    let mut b = body("hi", "append");
    b.position = Some(3);
    assert_eq!(
        fields(Spec::parse(b, &st, Plan::Free).unwrap_err()),
        ["position"]
    );
    let mut b = body("hi", "append");
    b.model = Some("big".into());
    assert_eq!(
        fields(Spec::parse(b, &st, Plan::Free).unwrap_err()),
        ["model"]
    );
    let mut b = body("hi", "append");
    b.model = Some("big".into());
    assert!(Spec::parse(b, &st, Plan::Pro).is_ok());
    let e = Spec::parse(body("hi", "append"), &st, Plan::Enterprise).unwrap_err();
    assert_eq!(fields(e), ["model"]);
    let mut b = body("hi", "append");
    b.max_tokens = Some(51);
    b.temperature = Some(2.5);
    assert_eq!(
        fields(Spec::parse(b, &st, Plan::Free).unwrap_err()),
        ["max_tokens", "temperature"]
    );
    let mut b = body("hi", "insert_at");
    b.position = Some(4);
    assert_eq!(Spec::parse(b, &st, Plan::Free).unwrap().position, 4);
}

#[test]
fn states_move_one_way() {
    use Status::*;
    assert!(Queued.may_become(Running));
    assert!(Queued.may_become(Cancelled));
    assert!(!Queued.may_become(Succeeded));
    for s in [Succeeded, Failed, Cancelled] {
        assert!(Running.may_become(s));
        assert!(s.is_final());
        for t in Status::ALL {
            assert!(!s.may_become(t));
        }
    }
    assert!(!Running.may_become(Queued));
    assert_eq!(Status::parse("cancelled"), Some(Cancelled));
    assert_eq!(Status::parse("dead"), None);
}

#[test]
fn retries_only_before_the_first_token() {
    let f = UpstreamFailure::Status(500);
    assert_eq!(after_failure(&f, 1, false, 3, 10_000), Next::RetryIn(200));
    assert_eq!(after_failure(&f, 2, false, 3, 10_000), Next::RetryIn(400));
    assert!(matches!(
        after_failure(&f, 3, false, 3, 10_000),
        Next::Fail(_)
    ));
    assert!(matches!(
        after_failure(&f, 1, true, 3, 10_000),
        Next::Fail(_)
    ));
    // No time left for the delay.
    assert!(matches!(after_failure(&f, 1, false, 3, 100), Next::Fail(_)));
    // 4xx other than 408/429 are not retried.
    let f = UpstreamFailure::Status(400);
    let Next::Fail(p) = after_failure(&f, 1, false, 3, 10_000) else {
        panic!("400 retried")
    };
    assert_eq!(p["code"], "upstream_failed");
    assert_eq!(p["status"], 502);
    assert_eq!(p["upstream_status"], 400);
    let Next::Fail(p) = after_failure(&UpstreamFailure::Deadline, 1, false, 3, 0) else {
        panic!("deadline retried")
    };
    assert_eq!(p["status"], 504);
    assert!(UpstreamFailure::Status(429).transient());
    assert!(UpstreamFailure::Unreachable("reset".into()).transient());
    // An error object in a 200 stream: retried before any token, never after.
    let f = UpstreamFailure::InStream("server_error".into());
    assert_eq!(after_failure(&f, 1, false, 3, 10_000), Next::RetryIn(200));
    assert!(matches!(
        after_failure(&f, 1, true, 3, 10_000),
        Next::Fail(_)
    ));
}

#[test]
fn settling_makes_the_quota_equal_the_recorded_tokens() {
    let u = sse::Usage {
        prompt_tokens: 7,
        completion_tokens: 30,
    };
    assert_eq!(settle(20, Some(u), "prompt"), (7, 30, false, 17));
    assert_eq!(settle(50, Some(u), "prompt"), (7, 30, false, -13));
    assert_eq!(settle(10, None, "12345678"), (2, 8, true, 0));
    assert_eq!(settle(1, None, "12345678"), (1, 0, true, 0));
}

#[test]
fn models_config() {
    assert!(Settings::parse_models(Settings::DEFAULT_MODELS).is_ok());
    assert!(Settings::parse_models(r#"{"gold":["x"]}"#).is_err());
    assert!(Settings::parse_models("[]").is_err());
    assert_eq!(author("gen_1", "usr_2"), "generation gen_1 by usr_2");
}

#[test]
fn integers_written_with_a_zero_fraction_are_integers() {
    let b: CreateBody = serde_json::from_str(
        r#"{"prompt":"p","mode":"insert_at","position":3.0,"max_tokens":2375.0}"#,
    )
    .expect("JSON Schema integers");
    assert_eq!((b.position, b.max_tokens), (Some(3), Some(2375)));
    assert!(serde_json::from_str::<CreateBody>(
        r#"{"prompt":"p","mode":"append","max_tokens":1.5}"#
    )
    .is_err());
    let b: CreateBody = serde_json::from_str(r#"{"prompt":"p","mode":"append","max_tokens":null}"#)
        .expect("null is absent");
    assert_eq!(b.max_tokens, None);
}
