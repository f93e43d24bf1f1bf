//! The production path end to end: `stepline serve` reading the Advoware emulator (loaded
//! with the sample firm) and writing the Google emulator. `ALL` and one code fill every
//! active employee's calendar with exactly the events the sample maps to, and a second run
//! makes no write call at all.

mod common;
mod emulators;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use emulators::advoware::{AdvowareEmulator, Credentials};
use emulators::google::GoogleEmulator;
use serde_json::{Value, json};
use stepline::calendar::{SnapshotSource, SyncWindow};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Calendar summary (`Advoware <CODE>`) → id → content hash, as the Google emulator holds it.
fn held(google: &GoogleEmulator) -> BTreeMap<String, BTreeMap<String, String>> {
    google
        .calendar_ids()
        .into_iter()
        .map(|calendar| {
            let summary = google.calendar(&calendar).map(|c| c.0).unwrap_or_default();
            let events = google
                .events(&calendar)
                .into_iter()
                .map(|(id, e)| {
                    let hash = e["extendedProperties"]["private"]["stepline_hash"]
                        .as_str()
                        .unwrap_or("");
                    (id, hash.to_string())
                })
                .collect();
            (summary, events)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_and_one_code_sync_from_advoware_to_google_and_a_second_run_writes_nothing() {
    // The Advoware emulator serves the sample firm, as TermineActiveSync would.
    let sample: Value = serde_json::from_slice(
        &std::fs::read(repo("samples/advoware_snapshot.json")).expect("sample"),
    )
    .expect("json");
    let credentials = Credentials::generate();
    let advoware = AdvowareEmulator::start(credentials.clone()).await;
    advoware.set_employees(sample["employees"].as_array().expect("employees").clone());
    for (code, records) in sample["appointments"].as_object().expect("appointments") {
        advoware.set_appointments(code, records.as_array().expect("records").clone());
    }
    let google = GoogleEmulator::start().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("service-account.json");
    std::fs::write(&key_file, google.key_json().to_string()).expect("key file");
    let (configurator, key) = (advoware.configurator_url(), credentials.api_key_base64());
    let (api_url, token_url) = (google.api_url(), google.token_url());
    let served = common::binary::serve(
        &repo("manifests"),
        &dir.path().join("data"),
        &[
            ("STEPLINE_ADVOWARE_SNAPSHOT", "/nonexistent/snapshot.json"),
            ("ADVOWARE_CONFIGURATOR_URL", &configurator),
            ("ADVOWARE_FIRM", &credentials.firm),
            ("ADVOWARE_DATABASE", &credentials.database),
            ("ADVOWARE_USER", &credentials.user),
            ("ADVOWARE_PASSWORD", &credentials.password),
            ("ADVOWARE_APP_ID", &credentials.app_id),
            ("ADVOWARE_API_KEY", &key),
            ("ADVOWARE_PRODUCT", &credentials.product),
            (
                "GOOGLE_SERVICE_ACCOUNT_FILE",
                key_file.to_str().expect("utf-8"),
            ),
            ("GOOGLE_API_URL", &api_url),
            ("GOOGLE_TOKEN_URL", &token_url),
        ],
    );
    let configured = served
        .startup
        .iter()
        .find(|l| l.contains("calendar sync configured"))
        .expect("configuration logged");
    assert!(
        configured.contains("source=Advoware API") && configured.contains("target=Google"),
        "{configured}"
    );

    let window = SyncWindow::default_for(chrono::Local::now().date_naive());
    let active = ["AO", "LF", "MÜ", "RE", "SB", "TK"];
    let mut want = BTreeMap::new();
    for code in active {
        let sample = SnapshotSource::new(repo("samples/advoware_snapshot.json"));
        want.insert(
            format!("Advoware {code}"),
            common::expected_events(&sample, code, window).await,
        );
    }
    let http = reqwest::Client::new();
    let sync = |body: Value| {
        let http = http.clone();
        let url = format!("{}/advoware/calendar/sync", served.base);
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .expect("sync")
                .status()
                .as_u16()
        }
    };
    let runs_done = |since: usize| {
        let http = http.clone();
        let url = format!("{}/advoware/calendar/sync/status", served.base);
        async move {
            common::eventually(Duration::from_secs(60), || async {
                let status: Value = http.get(&url).send().await.ok()?.json().await.ok()?;
                let rows = status["employees"].as_array()?.clone();
                let finished: Vec<&Value> = rows
                    .iter()
                    .filter(|r| {
                        r["active"] == true
                            && r["locked"] == false
                            && r["last_run"]["outcome"] == "ok"
                    })
                    .filter(|r| r["last_run"]["unchanged"].as_u64().unwrap_or(0) as usize >= since)
                    .collect();
                (finished.len() == active.len()).then_some(rows)
            })
            .await
            .expect("every active employee synced")
        }
    };

    // ALL: every active employee's calendar holds exactly the expected events.
    assert_eq!(sync(json!({"kuerzel": "ALL"})).await, 200);
    runs_done(0).await;
    assert_eq!(held(&google), want);

    // The same again: listing calls only, no write at all.
    google.reset_calls();
    assert_eq!(sync(json!({})).await, 200);
    runs_done(1).await;
    assert_eq!(google.event_writes(), 0);
    let calls = google.all_calls();
    assert!(
        calls.keys().all(|m| m == "events.list" || m == "token"),
        "{calls:?}"
    );
    assert_eq!(held(&google), want);

    // One code: the same, for that employee only.
    google.reset_calls();
    assert_eq!(sync(json!({"kuerzel": "SB"})).await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    runs_done(1).await;
    assert_eq!(google.event_writes(), 0);
    assert!(google.calls("events.list") >= 1);

    let log = served.log.lock().expect("log").join("\n");
    assert!(
        !log.contains(&credentials.password) && !log.contains(&key),
        "no secret in the log"
    );
}
