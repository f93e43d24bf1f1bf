//! The calendar sync through `stepline serve`, the real binary with the repository's
//! manifests, on a copy of the sample firm: the three documented calls, idempotence,
//! anonymisation switches, deletions, and the served ICS file read back by an independent
//! parser.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{Local, NaiveDate};
use common::binary::{Served, serve};
use serde_json::{Value, json};

struct Firm {
    served: Served,
    snapshot: std::path::PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn start() -> Firm {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot.json");
    std::fs::copy(repo("samples/advoware_snapshot.json"), &snapshot).expect("copy sample");
    let served = serve(
        &repo("manifests"),
        &dir.path().join("data"),
        &[(
            "STEPLINE_ADVOWARE_SNAPSHOT",
            snapshot.to_str().expect("utf-8 path"),
        )],
    );
    Firm {
        served,
        snapshot,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Firm {
    async fn sync(&self, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/advoware/calendar/sync", self.served.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        common::read(response).await
    }

    /// Waits for a run of `code` newer than `after` and returns it.
    async fn run_after(&self, code: &str, after: &Value) -> Value {
        let url = format!("{}/advoware/calendar/sync/status/{code}", self.served.base);
        common::eventually(Duration::from_secs(10), || async {
            let status: Value = self.client.get(&url).send().await.ok()?.json().await.ok()?;
            let run = status["last_run"].clone();
            (run.is_object()
                && run["started_at"] != after["started_at"]
                && status["locked"] == false)
                .then_some(run)
        })
        .await
        .unwrap_or_else(|| panic!("no new run of {code}"))
    }

    async fn calendar(&self, code: &str) -> Vec<ical::parser::ical::component::IcalEvent> {
        let text = self
            .client
            .get(format!("{}/advoware/calendar/{code}.ics", self.served.base))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        let mut parser = ical::IcalParser::new(text.as_bytes());
        let calendar = parser.next().expect("one calendar").expect("valid ICS");
        assert!(parser.next().is_none(), "exactly one VCALENDAR");
        calendar.events
    }
}

fn prop<'a>(event: &'a ical::parser::ical::component::IcalEvent, name: &str) -> Option<&'a str> {
    event
        .properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

/// The FrNr of `code`'s appointments that touch the sync window, computed here from the raw
/// snapshot with the DOMAIN.md rules: a series runs to `DatumBis` (open: 2037), a single
/// appointment to the date of `DatumBis` (or its start when that has no value).
fn expected_frnrs(snapshot: &Path, code: &str) -> BTreeSet<i64> {
    let today = Local::now().date_naive();
    let (from, to) = (
        today - chrono::Days::new(30),
        today + chrono::Days::new(365),
    );
    let data: Value =
        serde_json::from_slice(&std::fs::read(snapshot).expect("read")).expect("json");
    let date = |v: &Value| -> Option<NaiveDate> {
        let text = v.as_str()?;
        let d = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
        (d.year_ce().1 > 1).then_some(d)
    };
    use chrono::Datelike;
    data["appointments"][code]
        .as_array()
        .expect("appointments")
        .iter()
        .filter_map(|a| {
            let start = date(&a["Datum"])?;
            let series = a["Dauertermin"] == 1;
            let end = match date(&a["DatumBis"]) {
                Some(d) => d,
                None if series => NaiveDate::from_ymd_opt(2037, 12, 31)?,
                None => start,
            };
            (start <= to && end >= from)
                .then(|| a["FrNr"].as_i64())
                .flatten()
        })
        .collect()
}

fn frnrs(events: &[ical::parser::ical::component::IcalEvent]) -> BTreeSet<i64> {
    events
        .iter()
        .map(|e| {
            prop(e, "X-STEPLINE-FRNR")
                .and_then(|v| v.parse().ok())
                .expect("FrNr")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_calls_sync_the_sample_firm() {
    let firm = start();

    // 1. One employee, full content.
    let (status, body) = firm
        .sync(json!({"kuerzel": "SB", "full_content": true}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "triggered", "kuerzel": "SB", "message": "Calendar sync triggered for SB"})
    );
    let first = firm.run_after("SB", &Value::Null).await;
    assert_eq!(first["outcome"], "ok");
    let expected = expected_frnrs(&firm.snapshot, "SB");
    assert!(expected.len() > 20, "the sample gives SB a real calendar");
    assert_eq!(first["created"], expected.len());
    assert_eq!(
        (first["updated"].clone(), first["deleted"].clone()),
        (json!(0), json!(0))
    );

    let events = firm.calendar("SB").await;
    assert_eq!(frnrs(&events), expected);
    let uids: BTreeSet<_> = events.iter().filter_map(|e| prop(e, "UID")).collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique");
    let private = events
        .iter()
        .filter(|e| prop(e, "CLASS") == Some("PRIVATE"))
        .count();
    assert!(
        private > 0,
        "the sample has private appointments, written anonymised"
    );

    // 2. The same again: nothing changes.
    firm.sync(json!({"kuerzel": "sb", "full_content": true}))
        .await;
    let second = firm.run_after("SB", &first).await;
    assert_eq!(second["unchanged"], expected.len());
    assert_eq!(
        (second["created"].clone(), second["updated"].clone()),
        (json!(0), json!(0))
    );

    // 3. Anonymised: every event is rewritten, to placeholders with times only.
    let (status, body) = firm
        .sync(json!({"kuerzel": "SB", "full_content": false}))
        .await;
    assert_eq!((status, body["kuerzel"].clone()), (200, json!("SB")));
    let third = firm.run_after("SB", &second).await;
    assert_eq!(third["updated"], expected.len());
    let anonymous = firm.calendar("SB").await;
    assert_eq!(frnrs(&anonymous), expected);
    for event in &anonymous {
        assert!(prop(event, "LOCATION").is_none() && prop(event, "DESCRIPTION").is_none());
    }
    let starts = |evs: &[ical::parser::ical::component::IcalEvent]| -> BTreeSet<String> {
        evs.iter()
            .map(|e| format!("{:?}{:?}", prop(e, "UID"), prop(e, "DTSTART")))
            .collect()
    };
    assert_eq!(
        starts(&anonymous),
        starts(&events),
        "times stay as they were"
    );

    // And back: every event is rewritten again.
    firm.sync(json!({"kuerzel": "SB"})).await;
    let fourth = firm.run_after("SB", &third).await;
    assert_eq!(fourth["updated"], expected.len());

    // 4. ALL: every active employee is synced, the inactive one is not.
    let (status, body) = firm.sync(json!({"full_content": true})).await;
    assert_eq!((status, body["kuerzel"].clone()), (200, json!("ALL")));
    let ao = firm.run_after("AO", &Value::Null).await;
    assert_eq!(ao["created"], expected_frnrs(&firm.snapshot, "AO").len());
    let mu = firm.run_after("MÜ", &Value::Null).await;
    assert_eq!(mu["outcome"], "ok");
    let inactive = firm
        .client
        .get(format!(
            "{}/advoware/calendar/sync/status/JW",
            firm.served.base
        ))
        .send()
        .await
        .expect("status");
    let inactive: Value = inactive.json().await.expect("json");
    assert_eq!(
        (inactive["active"].clone(), inactive["last_run"].clone()),
        (json!(false), Value::Null)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appointment_deleted_in_advoware_is_deleted_from_the_calendar() {
    let firm = start();
    firm.sync(json!({"kuerzel": "SB"})).await;
    let first = firm.run_after("SB", &Value::Null).await;
    let before = frnrs(&firm.calendar("SB").await);

    // Remove one appointment inside the window from the snapshot.
    let mut data: Value =
        serde_json::from_slice(&std::fs::read(&firm.snapshot).expect("read")).expect("json");
    let gone = *before.iter().next_back().expect("an event");
    data["appointments"]["SB"]
        .as_array_mut()
        .expect("array")
        .retain(|a| a["FrNr"].as_i64() != Some(gone));
    std::fs::write(&firm.snapshot, serde_json::to_vec(&data).expect("encode")).expect("write");

    firm.sync(json!({"kuerzel": "SB"})).await;
    let second = firm.run_after("SB", &first).await;
    assert_eq!(second["deleted"], 1);
    assert_eq!(second["unchanged"], before.len() - 1);
    let after = frnrs(&firm.calendar("SB").await);
    let mut expected = before.clone();
    expected.remove(&gone);
    assert_eq!(after, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sync_requests_are_refused_and_change_nothing() {
    let firm = start();
    let cases = [
        (json!({"kurzel": "SB"}), 400, "unknown_field"),
        (json!({"full_content": "yes"}), 400, "invalid_body"),
        (json!({"kuerzel": 7}), 400, "invalid_body"),
        (json!({"kuerzel": ""}), 400, "invalid_kuerzel"),
        (json!({"kuerzel": "S B"}), 400, "invalid_kuerzel"),
        (json!({"kuerzel": "SB:*"}), 400, "invalid_kuerzel"),
        (json!({"kuerzel": "SB\u{0}"}), 400, "invalid_kuerzel"),
        (json!({"kuerzel": "X".repeat(21)}), 400, "invalid_kuerzel"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = firm.sync(body.clone()).await;
        assert_eq!(
            (got, common::code(&answer)),
            (status, code),
            "{body} → {answer}"
        );
    }
    let (status, answer) = firm.sync(json!({"kurzel": "SB"})).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`kurzel`")),
        "{answer}"
    );

    // Nothing ran: no run recorded, no lock, no calendar.
    let status: Value = firm
        .client
        .get(format!(
            "{}/advoware/calendar/sync/status",
            firm.served.base
        ))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let employees = status["employees"].as_array().expect("list");
    assert!(
        employees
            .iter()
            .all(|e| e["last_run"].is_null() && e["locked"] == false),
        "{status}"
    );
    let response = firm
        .client
        .get(format!("{}/advoware/calendar/SB.ics", firm.served.base))
        .send()
        .await
        .expect("feed");
    assert_eq!(response.status(), 404);

    // A well-formed unknown code is passed on and recorded as unknown.
    let (status, _) = firm.sync(json!({"kuerzel": "ZZ"})).await;
    assert_eq!(status, 200);
    let run = firm.run_after("ZZ", &Value::Null).await;
    assert_eq!(run["outcome"], "unknown_employee");
}
