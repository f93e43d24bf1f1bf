//! Drop-in steps: with `watch`, a manifest added to the folder of a running server takes
//! effect within two seconds, a removed one stops answering, and an invalid one is refused
//! while the previous set keeps serving.

mod common;

use std::time::Duration;

use common::{TestServer, code, eventually};
use serde_json::json;

const ECHO: &str = "type: api\nname: Echo\npath: /echo\nmethod: POST\nhandler: test_echo\n";
const DROPPED: &str = "type: api\nname: Dropped In\npath: /dropped\nmethod: POST\nhandler: stepline.forward\nemits: [dropped.created]\n";
const RECORD: &str =
    "type: event\nname: Record Dropped\nhandler: test_record_a\nsubscribes: [dropped.created]\n";

async fn status_within(server: &TestServer, path: &str, want: u16, limit: Duration) -> bool {
    eventually(limit, || async {
        let (status, _) = server.post_json(path, &json!({"id": "w1"})).await;
        (status == want).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_dropped_in_changed_and_removed_take_effect_without_a_restart() {
    let server = TestServer::start_with(&[("echo.yaml", ECHO)], |o| o.settings.watch = true).await;
    let (status, body) = server.post_json("/dropped", &json!({"id": "w1"})).await;
    assert_eq!((status, code(&body)), (404, "not_found"));

    // Added: the route answers within two seconds, and its events reach a new subscriber.
    std::fs::write(server.manifests.join("dropped.yaml"), DROPPED).expect("write");
    std::fs::write(server.manifests.join("record.yaml"), RECORD).expect("write");
    assert!(
        status_within(&server, "/dropped", 202, Duration::from_secs(2)).await,
        "new route live"
    );
    let recorded = eventually(Duration::from_secs(5), || async {
        server
            .app()
            .state
            .get("test:Record Dropped", "w1")
            .await
            .expect("state")
    })
    .await;
    assert!(recorded.is_some(), "the new subscriber ran");

    // Invalid: refused as a whole; the previous set keeps serving.
    std::fs::write(
        server.manifests.join("broken.yaml"),
        "type: api\nname: Broken\npath: nope\n",
    )
    .expect("write");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, _) = server.post_json("/dropped", &json!({"id": "w2"})).await;
    assert_eq!(status, 202, "the old set still serves");
    assert_eq!(server.app().steps.len(), 3);
    std::fs::remove_file(server.manifests.join("broken.yaml")).expect("remove");

    // Removed: the route is gone within two seconds; the others stay.
    std::fs::remove_file(server.manifests.join("dropped.yaml")).expect("remove");
    std::fs::remove_file(server.manifests.join("record.yaml")).expect("remove");
    assert!(
        status_within(&server, "/dropped", 404, Duration::from_secs(2)).await,
        "route removed"
    );
    let (status, _) = server.post_json("/echo", &json!({"x": 1})).await;
    assert_eq!(status, 200);
    assert_eq!(server.app().steps.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_services_the_start_hook_provided() {
    struct Marker(u32);
    let server = TestServer::start(&[("echo.yaml", ECHO)]).await;
    server.app().provide(std::sync::Arc::new(Marker(7)));
    server
        .server
        .as_ref()
        .expect("running")
        .live()
        .reload()
        .await
        .expect("reload");
    assert_eq!(server.app().service::<Marker>().map(|m| m.0), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_lets_a_running_handler_finish_once_and_hands_over_the_waiting_ones() {
    let submit = "type: api\nname: Submit\npath: /naps\nmethod: POST\nhandler: stepline.forward\nemits: [nap]\n";
    let napper = "type: event\nname: Napper\nhandler: test_sleep\nsubscribes: [nap]\nqueue: {concurrency: 1}\n";
    let server = TestServer::start(&[("submit.yaml", submit), ("napper.yaml", napper)]).await;
    for (id, ms) in [("long", 1500), ("short", 10)] {
        let (status, _) = server
            .post_json("/naps", &json!({"id": id, "ms": ms}))
            .await;
        assert_eq!(status, 202);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // `long` is running and `short` waits for the one permit; the reload must not wait for
    // `long`, run it again, or lose `short`.
    let started = std::time::Instant::now();
    server
        .server
        .as_ref()
        .expect("running")
        .live()
        .reload()
        .await
        .expect("reload");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the reload does not wait for handlers"
    );

    let done = eventually(Duration::from_secs(5), || async {
        let group = server
            .app()
            .state
            .get_group("test:Napper")
            .await
            .expect("group");
        (group.len() == 2).then_some(())
    })
    .await;
    assert!(done.is_some(), "both ran");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = server
        .app()
        .state
        .get_group("test:Napper:attempts")
        .await
        .expect("group");
    assert_eq!(
        attempts,
        vec![
            ("long".to_string(), json!(1)),
            ("short".to_string(), json!(1))
        ],
        "each ran exactly once"
    );
}
