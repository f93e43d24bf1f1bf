//! The Advoware API source through `stepline serve`, the real binary with the repository's
//! manifests: the `ADVOWARE_*` settings point at the Advoware emulator, the startup log
//! names the API source, and one employee's sync writes exactly its appointments.

#[path = "emulators/advoware.rs"]
mod advoware_emulator;
mod common;

use std::path::Path;
use std::time::Duration;

use advoware_emulator::{AdvowareEmulator, Credentials};
use chrono::{Days, Local, NaiveDate};
use common::binary::serve;
use serde_json::{Value, json};

fn at(day: NaiveDate, time: &str) -> String {
    format!("{}T{time}", day.format("%Y-%m-%d"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_reads_the_advoware_api_when_it_is_configured() {
    let credentials = Credentials::generate();
    let emulator = AdvowareEmulator::start(credentials.clone()).await;
    let today = Local::now().date_naive();
    let later = |days: u64| today + Days::new(days);
    emulator.set_employees(vec![
        json!({"Kuerzel": "SB", "Vorname": "Sabine", "Name": "Brenner"}),
    ]);
    emulator.set_appointments(
        "SB",
        vec![
            json!({"FrNr": 101, "Text": "Termin A", "Datum": at(later(1), "09:00:00"), "UhrzeitBis": "10:00:00"}),
            json!({"FrNr": 102, "Text": "Termin B", "Datum": at(later(10), "14:00:00.000"), "UhrzeitBis": "15:30:00"}),
            json!({"FrNr": 103, "Text": "Urlaub", "Datum": at(later(100), "00:00:00"),
                   "DatumBis": at(later(102), "23:59:00"), "Abwesenheit": 1}),
            json!({"FrNr": 104, "Text": "kaputt", "Datum": at(later(5), "25:61:00")}),
            json!({"FrNr": 105, "Text": "zu spät", "Datum": at(later(500), "09:00:00")}),
        ],
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let key = credentials.api_key_base64();
    let configurator = emulator.configurator_url();
    let env = credentials.serve_env(&configurator);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let served = serve(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests"),
        &dir.path().join("data"),
        &env,
    );
    let configured = served
        .startup
        .iter()
        .find(|line| line.contains("calendar sync configured"))
        .expect("the start logs the calendar configuration");
    assert!(
        configured.contains(&format!(
            "source=Advoware API (configurator {};",
            configurator.trim_end_matches("/configurator")
        )) && !configured.contains("/configurator;"),
        "{configured}"
    );

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/advoware/calendar/sync", served.base))
        .json(&json!({"kuerzel": "SB"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    let url = format!("{}/advoware/calendar/sync/status/SB", served.base);
    let run = common::eventually(Duration::from_secs(20), || async {
        let status: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
        let run = status["last_run"].clone();
        (run.is_object() && status["locked"] == false).then_some(run)
    })
    .await
    .expect("a recorded run");
    assert_eq!(run["outcome"], "ok", "{run}");
    assert_eq!(
        (
            &run["created"],
            &run["updated"],
            &run["deleted"],
            &run["skipped"]
        ),
        (&json!(3), &json!(0), &json!(0), &json!(1))
    );

    // The default window (30 days back, 365 ahead) in 90-day chunks: five requests, one
    // token, one discovery.
    assert_eq!(emulator.calls("TermineActiveSync"), 5);
    assert_eq!(emulator.calls("token"), 1);
    assert_eq!(emulator.calls("configurator"), 1);

    // `ALL` lists the employees through the API and syncs SB again: nothing to write.
    let response = client
        .post(format!("{}/advoware/calendar/sync", served.base))
        .json(&json!({"kuerzel": "ALL"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let second = common::eventually(Duration::from_secs(20), || async {
        let status: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
        let next = status["last_run"].clone();
        (next["started_at"] != run["started_at"] && status["locked"] == false).then_some(next)
    })
    .await
    .expect("a second run");
    assert_eq!(
        (&second["outcome"], &second["created"], &second["unchanged"]),
        (&json!("ok"), &json!(0), &json!(3)),
        "{second}"
    );
    assert_eq!(emulator.calls("TermineActiveSync"), 10);
    assert_eq!(emulator.calls("token"), 1);

    let mut log = served.startup.clone();
    log.extend(served.log.lock().expect("log").iter().cloned());
    let log = log.join("\n");
    for secret in [
        credentials.password.as_str(),
        key.as_str(),
        "Termin A",
        "Urlaub",
    ] {
        assert!(
            !log.contains(secret),
            "the log shows a secret or appointment content"
        );
    }
}
