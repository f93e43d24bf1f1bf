//! Event routing through a real server: fan-out, retries, the dead-letter queue and its
//! redrive, schema-invalid payloads, undeclared emits, FIFO groups.

mod common;

use std::time::Duration;

use common::{TestServer, eventually};
use serde_json::{Value, json};

fn forward(name: &str, path: &str, topic: &str) -> String {
    format!(
        "type: api\nname: {name}\npath: {path}\nmethod: POST\nhandler: stepline.forward\nemits: [{topic}]\n"
    )
}

fn subscriber(name: &str, handler: &str, topic: &str, queue: &str) -> String {
    format!("type: event\nname: {name}\nhandler: {handler}\nsubscribes: [{topic}]\n{queue}")
}

async fn state(server: &TestServer, group: &str, key: &str) -> Option<Value> {
    server.app().state.get(group, key).await.expect("state")
}

/// Waits until the dead-letter queue holds exactly one letter; returns the listing.
async fn one_dead_letter(server: &TestServer) -> Value {
    eventually(Duration::from_secs(5), || async {
        let (_, body) = server.get("/_stepline/dead-letters").await;
        (body["count"] == 1).then_some(body)
    })
    .await
    .expect("dead-lettered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_both_subscribers_once_with_the_trace_id() {
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/jobs", "job.created")),
        (
            "a.yaml",
            &subscriber("Record A", "test_record_a", "job.created", ""),
        ),
        (
            "b.yaml",
            &subscriber("Record B", "test_record_b", "job.created", ""),
        ),
    ])
    .await;

    let response = server
        .client
        .post(server.url("/jobs"))
        .header("x-trace-id", "trace-fanout-1")
        .json(&json!({"id": "j1"}))
        .send()
        .await
        .expect("request");
    let (status, body) = common::read(response).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["topic"], "job.created");
    assert!(
        body["event_id"].as_str().is_some_and(|id| id.len() == 36),
        "{body}"
    );

    for step in ["Record A", "Record B"] {
        let seen = eventually(Duration::from_secs(5), || async {
            state(&server, &format!("test:{step}"), "j1").await
        })
        .await;
        assert_eq!(seen, Some(json!({"trace_id": "trace-fanout-1"})), "{step}");
    }
    // Give a duplicate delivery a moment to show up; there must be none.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for step in ["Record A", "Record B"] {
        let attempts = state(&server, &format!("test:{step}:attempts"), "j1").await;
        assert_eq!(attempts, Some(json!(1)), "{step} ran once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_twice_then_succeeding_runs_three_times() {
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/flaky", "job.flaky")),
        (
            "flaky.yaml",
            &subscriber(
                "Flaky",
                "test_flaky",
                "job.flaky",
                "queue: {max_retries: 3, backoff: 10ms}\n",
            ),
        ),
    ])
    .await;
    let (status, _) = server.post_json("/flaky", &json!({"id": "f1"})).await;
    assert_eq!(status, 202);

    let done = eventually(Duration::from_secs(5), || async {
        state(&server, "test:Flaky", "f1").await
    })
    .await;
    assert_eq!(done, Some(json!({"succeeded_on": 3})));
    let (_, dead) = server.get("/_stepline/dead-letters").await;
    assert_eq!(dead["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_always_fails_is_dead_lettered_and_can_be_redriven() {
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/fail", "job.fail")),
        (
            "fail.yaml",
            &subscriber(
                "Always Fail",
                "test_always_fail",
                "job.fail",
                "queue: {max_retries: 2, backoff: 10ms}\n",
            ),
        ),
    ])
    .await;
    server.post_json("/fail", &json!({"id": "x1"})).await;

    let dead = one_dead_letter(&server).await;
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["step"], "Always Fail");
    assert_eq!(letter["topic"], "job.fail");
    assert_eq!(letter["attempts"], 3, "max_retries + 1 attempts");
    assert_eq!(letter["error"], "attempt 3 fails on purpose");
    assert_eq!(letter["payload"], json!({"id": "x1"}));
    assert_eq!(
        state(&server, "test:Always Fail:attempts", "x1").await,
        Some(json!(3))
    );

    // An unknown id is a 404; the real one is delivered again and now succeeds.
    let response = server
        .client
        .post(server.url("/_stepline/dead-letters/nope/redrive"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);

    server
        .app()
        .state
        .set("test:switch", "heal", json!(true))
        .await
        .expect("heal");
    let id = letter["id"].as_str().expect("id");
    let response = server
        .client
        .post(server.url(&format!("/_stepline/dead-letters/{id}/redrive")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    let healed = eventually(Duration::from_secs(5), || async {
        state(&server, "test:Always Fail", "x1").await
    })
    .await;
    assert_eq!(healed, Some(json!({"healed_on": 4})));
    let (_, after) = server.get("/_stepline/dead-letters").await;
    assert_eq!(after["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_breaks_the_input_schema_is_dead_lettered_at_once() {
    let strict = "type: event\nname: Strict\nhandler: test_record_a\nsubscribes: [job.strict]\n\
                  input:\n  type: object\n  required: [id]\n  properties:\n    id: {type: string}\n";
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/strict", "job.strict")),
        ("strict.yaml", strict),
    ])
    .await;
    server.post_json("/strict", &json!({"id": 42})).await;

    let dead = one_dead_letter(&server).await;
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["attempts"], 0, "never run");
    let error = letter["error"].as_str().expect("error");
    assert!(
        error.starts_with("payload does not match the input schema:"),
        "{error}"
    );
    assert!(error.contains("42 is not of type \"string\""), "{error}");
    assert_eq!(state(&server, "test:Strict:attempts", "42").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_emit_is_refused_and_delivers_nothing() {
    let emitter = "type: api\nname: Emitter\npath: /emit\nmethod: POST\nhandler: test_emit_both\nemits: [declared]\n";
    let server = TestServer::start(&[
        ("emitter.yaml", emitter),
        (
            "declared.yaml",
            &subscriber("Declared", "test_record_a", "declared", ""),
        ),
        (
            "undeclared.yaml",
            &subscriber("Undeclared", "test_record_b", "undeclared", ""),
        ),
    ])
    .await;
    let (status, body) = server.post_json("/emit", &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["declared_ok"], true);
    assert_eq!(
        body["undeclared_error"],
        "step `Emitter` emitted `undeclared`, which its manifest does not list in `emits`"
    );
    let declared = eventually(Duration::from_secs(5), || async {
        state(&server, "test:Declared", "d1").await
    })
    .await;
    assert!(declared.is_some());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state(&server, "test:Undeclared", "u1").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_run_in_emit_order_one_at_a_time() {
    // Concurrency 8, but one group: a failed first attempt must hold the group back, and no
    // two handlers of the group may overlap (the handler's read-modify-write would lose ids).
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/ordered", "job.ordered")),
        (
            "ordered.yaml",
            &subscriber(
                "Ordered",
                "test_sequence",
                "job.ordered",
                "queue: {max_retries: 3, backoff: 5ms, concurrency: 8, group_by: group}\n",
            ),
        ),
    ])
    .await;
    for i in 0..6 {
        let (status, _) = server
            .post_json("/ordered", &json!({"id": format!("o{i}"), "group": "g"}))
            .await;
        assert_eq!(status, 202);
    }
    let order = eventually(Duration::from_secs(10), || async {
        let list = state(&server, "test:sequence", "order").await?;
        (list.as_array()?.len() == 6).then_some(list)
    })
    .await;
    assert_eq!(order, Some(json!(["o0", "o1", "o2", "o3", "o4", "o5"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_runs_of_a_step() {
    use std::sync::atomic::Ordering::SeqCst;
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/naps", "job.nap")),
        (
            "nap.yaml",
            &subscriber("Nap", "test_sleep", "job.nap", "queue: {concurrency: 2}\n"),
        ),
    ])
    .await;
    for i in 0..8 {
        server
            .post_json("/naps", &json!({"id": format!("n{i}"), "ms": 60}))
            .await;
    }
    let done = eventually(Duration::from_secs(10), || async {
        let group = server
            .app()
            .state
            .get_group("test:Nap")
            .await
            .expect("group");
        (group.len() == 8).then_some(())
    })
    .await;
    assert!(done.is_some(), "all eight ran");
    assert_eq!(common::steps::MOST_IN_FLIGHT.load(SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_timeout_fails_and_is_dead_lettered() {
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/slow", "job.slow")),
        (
            "slow.yaml",
            &subscriber(
                "Slow",
                "test_sleep",
                "job.slow",
                "queue: {timeout: 100ms, max_retries: 1, backoff: 10ms}\n",
            ),
        ),
    ])
    .await;
    server
        .post_json("/slow", &json!({"id": "s1", "ms": 5000}))
        .await;
    let dead = one_dead_letter(&server).await;
    assert_eq!(
        dead["dead_letters"][0]["error"],
        "handler timed out after 100ms"
    );
    assert_eq!(dead["dead_letters"][0]["attempts"], 2);
    assert_eq!(state(&server, "test:Slow", "s1").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_step_fires_on_its_schedule() {
    let server = TestServer::start(&[(
        "tick.yaml",
        "type: cron\nname: Tick\nhandler: test_tick\ncron: \"* * * * * *\"\ntimezone: Europe/Berlin\n",
    )])
    .await;
    let ticks = eventually(Duration::from_secs(6), || async {
        let n = state(&server, "test:cron", "ticks").await?.as_u64()?;
        (n >= 2).then_some(n)
    })
    .await;
    assert!(
        ticks.is_some(),
        "the every-second schedule fired at least twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_event_handler_is_a_failure_and_the_consumer_lives_on() {
    let server = TestServer::start(&[
        ("submit.yaml", &forward("Submit", "/boom", "job.boom")),
        (
            "boom.yaml",
            &subscriber(
                "Boom",
                "test_panic_event",
                "job.boom",
                "queue: {max_retries: 1, backoff: 10ms}\n",
            ),
        ),
    ])
    .await;
    server.post_json("/boom", &json!({"id": "p1"})).await;
    let dead = one_dead_letter(&server).await;
    assert_eq!(dead["dead_letters"][0]["attempts"], 2);
    assert_eq!(
        dead["dead_letters"][0]["error"],
        "handler panicked: this event handler panics on purpose"
    );
    // The step's consumer still takes events.
    server.post_json("/boom", &json!({"id": "p2"})).await;
    let both = eventually(Duration::from_secs(5), || async {
        let (_, body) = server.get("/_stepline/dead-letters").await;
        (body["count"] == 2).then_some(())
    })
    .await;
    assert!(both.is_some());
}
