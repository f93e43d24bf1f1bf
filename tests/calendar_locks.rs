//! The employee lock under load: 100 concurrent requests for one code while its sync runs
//! give exactly one 200 and 99 × 409; the lock is gone after the run, also after a run that
//! failed. Run against the embedded store and against a Redis the test starts itself.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use common::TestServer;
use serde_json::{Value, json};
use stepline::advoware_cal_sync::{CalendarConfig, CalendarService, RUNS_GROUP, kuerzel};
use stepline::calendar::{
    ApplyReport, Appointments, CalendarSource, CalendarTarget, Employee, IcsTarget, SnapshotSource,
    SourceError, SyncPlan, TargetError, TargetEvent,
};
use stepline_runtime::store::redis::TestRedis;

/// The sample firm, slowed down so that a sync is still running when the requests arrive.
struct SlowSource {
    inner: SnapshotSource,
    delay: Duration,
    /// How long the employee list takes.
    employees_delay: Duration,
}

#[async_trait]
impl CalendarSource for SlowSource {
    async fn employees(&self) -> Result<Vec<Employee>, SourceError> {
        tokio::time::sleep(self.employees_delay).await;
        self.inner.employees().await
    }

    async fn appointments(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Appointments, SourceError> {
        tokio::time::sleep(self.delay).await;
        self.inner.appointments(kuerzel, from, to).await
    }

    fn describe(&self) -> String {
        "slow sample".into()
    }
}

/// A calendar that cannot be read.
struct BrokenTarget;

#[async_trait]
impl CalendarTarget for BrokenTarget {
    async fn list(&self, _kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError> {
        Err(TargetError::InvalidKuerzel("refused by the test".into()))
    }

    async fn apply(&self, _kuerzel: &str, _plan: &SyncPlan) -> Result<ApplyReport, TargetError> {
        Err(TargetError::InvalidKuerzel("refused by the test".into()))
    }

    fn describe(&self) -> String {
        "broken".into()
    }
}

fn repo_manifests() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/advoware_cal_sync")
}

async fn start(redis_url: Option<String>, broken: bool) -> TestServer {
    start_with_source(redis_url, broken, Duration::ZERO).await
}

async fn start_with_source(
    redis_url: Option<String>,
    broken: bool,
    employees_delay: Duration,
) -> TestServer {
    let server = TestServer::start_with(&[], |o| {
        o.manifests = repo_manifests();
        o.redis_url = redis_url;
    })
    .await;
    let config = CalendarConfig {
        snapshot: Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/advoware_snapshot.json"),
        source_time_zone: Default::default(),
        ics_dir: server.data.join("calendars"),
        days_back: 30,
        days_ahead: 365,
        google: None,
        advoware: None,
    };
    let source = SlowSource {
        inner: SnapshotSource::new(&config.snapshot),
        delay: Duration::from_millis(1500),
        employees_delay,
    };
    let target: Arc<dyn CalendarTarget> = if broken {
        Arc::new(BrokenTarget)
    } else {
        Arc::new(IcsTarget::new(&config.ics_dir))
    };
    server.app().provide(Arc::new(CalendarService {
        source: Arc::new(source),
        target,
        config,
    }));
    server
}

async fn hundred_requests_one_winner(server: &TestServer) {
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = server.client.clone();
        let url = server.url("/advoware/calendar/sync");
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"kuerzel": "SB", "full_content": true}))
                .send()
                .await
                .expect("request");
            common::read(response).await
        }));
    }
    let mut ok = 0;
    let mut conflict = 0;
    for task in tasks {
        match task.await.expect("task") {
            (200, body) => {
                assert_eq!(body["kuerzel"], "SB");
                ok += 1;
            }
            (409, body) => {
                assert_eq!(common::code(&body), "sync_running");
                assert_eq!(
                    body["error"]["message"],
                    "a calendar sync for SB is already running; try again when it has finished"
                );
                conflict += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((ok, conflict), (1, 99));
}

async fn lock_holder(server: &TestServer) -> Option<String> {
    let info = server
        .app()
        .locks
        .holder(&kuerzel::lock_key("SB"))
        .await
        .expect("holder");
    info.map(|i| i.owner)
}

async fn wait_for_run(server: &TestServer) -> Value {
    common::eventually(Duration::from_secs(20), || async {
        server
            .app()
            .state
            .get(RUNS_GROUP, "SB")
            .await
            .expect("state")
    })
    .await
    .expect("a run is recorded")
}

async fn one_winner_then_the_lock_is_gone(redis_url: Option<String>) {
    let mut server = start(redis_url, false).await;
    hundred_requests_one_winner(&server).await;
    assert!(
        lock_holder(&server).await.is_some(),
        "held while the sync runs"
    );

    let run = wait_for_run(&server).await;
    assert_eq!(run["outcome"], "ok");
    assert!(run["created"].as_u64().is_some_and(|n| n > 20), "{run}");
    let freed = common::eventually(Duration::from_secs(5), || async {
        lock_holder(&server).await.is_none().then_some(())
    })
    .await;
    assert!(freed.is_some(), "the lock is released after the run");

    // A new request is accepted again.
    let (status, _) = server
        .post_json("/advoware/calendar/sync", &json!({"kuerzel": "SB"}))
        .await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn a_failing_run_frees_the_lock(redis_url: Option<String>) {
    let mut server = start(redis_url, true).await;
    let (status, _) = server
        .post_json("/advoware/calendar/sync", &json!({"kuerzel": "SB"}))
        .await;
    assert_eq!(status, 200);
    let run = wait_for_run(&server).await;
    assert_eq!(run["outcome"], "failed");
    assert_eq!(
        run["error"],
        "updating the calendar failed: employee code \"refused by the test\" cannot name a calendar file"
    );
    let freed = common::eventually(Duration::from_secs(5), || async {
        lock_holder(&server).await.is_none().then_some(())
    })
    .await;
    assert!(freed.is_some(), "a failed run releases the lock");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_hundred_concurrent_requests_give_one_sync() {
    one_winner_then_the_lock_is_gone(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_failing_run_frees_the_lock() {
    a_failing_run_frees_the_lock(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_hundred_concurrent_requests_give_one_sync() {
    let redis = TestRedis::start().expect("redis-server starts (apt-get install redis-server)");
    one_winner_then_the_lock_is_gone(Some(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_failing_run_frees_the_lock() {
    let redis = TestRedis::start().expect("redis-server starts (apt-get install redis-server)");
    a_failing_run_frees_the_lock(Some(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_answers_503_and_recovers_by_itself() {
    let mut redis = TestRedis::start().expect("redis-server starts (apt-get install redis-server)");
    let mut server = start(Some(redis.url()), false).await;

    redis.stop();
    let (status, body) = server
        .post_json("/advoware/calendar/sync", &json!({"kuerzel": "TK"}))
        .await;
    assert_eq!(
        (status, common::code(&body)),
        (503, "unavailable"),
        "{body}"
    );
    let (status, body) = server.get("/_stepline/health").await;
    assert_eq!(
        (status, body["status"].clone()),
        (503, json!("degraded")),
        "{body}"
    );

    redis.restart().expect("redis-server restarts on its port");
    let (status, body) = server.get("/_stepline/health").await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("ok")),
        "{body}"
    );
    let (status, body) = server
        .post_json("/advoware/calendar/sync", &json!({"kuerzel": "TK"}))
        .await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_after_a_crash_takes_over_its_own_lock_but_not_another() {
    // As if a process had died mid-run: the lock is held with the event's own token.
    let server = start(None, false).await;
    let key = kuerzel::lock_key("SB");
    let locks = &server.app().locks;
    assert!(
        locks
            .acquire(&key, "token-of-the-dead-run", Duration::from_secs(300))
            .await
            .expect("lock")
    );
    let payload =
        json!({"kuerzel": "SB", "full_content": true, "lock_token": "token-of-the-dead-run"});
    server
        .app()
        .publish("calendar_sync_employee", payload, "trace-crash")
        .await
        .expect("publish");
    let run = wait_for_run(&server).await;
    assert_eq!(
        (run["outcome"].clone(), run["trace_id"].clone()),
        (json!("ok"), json!("trace-crash"))
    );
    assert_eq!(lock_holder(&server).await, None, "released after the run");

    // Held by another token: the run is skipped and the lock is left alone.
    assert!(
        server
            .app()
            .state
            .delete(RUNS_GROUP, "SB")
            .await
            .expect("clear run")
    );
    assert!(
        locks
            .acquire(&key, "someone-else", Duration::from_secs(300))
            .await
            .expect("lock")
    );
    let payload =
        json!({"kuerzel": "SB", "full_content": true, "lock_token": "token-of-the-dead-run"});
    server
        .app()
        .publish("calendar_sync_employee", payload, "trace-skip")
        .await
        .expect("publish");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        server
            .app()
            .state
            .get(RUNS_GROUP, "SB")
            .await
            .expect("state"),
        None,
        "skipped"
    );
    assert_eq!(lock_holder(&server).await.as_deref(), Some("someone-else"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_answers_in_bounded_time_when_the_source_hangs() {
    let server = start_with_source(None, false, Duration::from_secs(60)).await;
    let started = std::time::Instant::now();
    let (status, body) = server.get("/advoware/calendar/sync/status").await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["employees"], json!([]));
    assert_eq!(
        body["source_error"],
        "unavailable: the employee list did not come within 5 s"
    );
    let (status, body) = server.get("/advoware/calendar/sync/status/SB").await;
    assert_eq!(
        (status, common::code(&body)),
        (503, "unavailable"),
        "{body}"
    );
}
