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
