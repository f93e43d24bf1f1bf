use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::calendar::advoware::{Employee, parse_termine};
use crate::calendar::source::Appointments;
use crate::calendar::target::IcsTarget;
use crate::calendar::testing::day;

/// A source holding SB's records in memory, editable between runs.
struct FakeSource(Mutex<Vec<Value>>);

#[async_trait]
impl CalendarSource for FakeSource {
    async fn employees(&self) -> Result<Vec<Employee>, SourceError> {
        Ok(Vec::new())
    }

    async fn appointments(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Appointments, SourceError> {
        if kuerzel != "SB" {
            return Err(SourceError::UnknownEmployee(kuerzel.to_owned()));
        }
        let records = self.0.lock().expect("not poisoned").clone();
        let parsed = parse_termine(&records);
        Ok(Appointments {
            termine: parsed
                .termine
                .into_iter()
                .filter(|t| t.overlaps(from, to))
                .collect(),
            skipped: parsed.skipped,
        })
    }

    fn describe(&self) -> String {
        "fake".to_owned()
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 6, 0, 0)
        .single()
        .expect("valid")
}

fn records() -> Vec<Value> {
    vec![
        json!({"FrNr": 1, "Text": "Mandantengespräch", "Datum": "2025-06-03T10:00:00", "DatumBis": "2025-06-03T00:00:00", "UhrzeitBis": "11:00:00"}),
        json!({"FrNr": 2, "Text": "Urlaub", "Datum": "2025-07-21T00:00:00", "DatumBis": "2025-07-23T23:59:00", "Abwesenheit": 1}),
        json!({"FrNr": 3, "Text": "Jour fixe", "Datum": "2025-01-06T09:00:00", "DatumBis": "0001-01-01T00:00:00Z", "UhrzeitBis": "09:30:00", "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
        json!({"FrNr": 4, "Text": "Arzt", "Datum": "2025-06-05T08:00:00", "DatumBis": "2025-06-05T00:00:00", "UhrzeitBis": "09:00:00", "Privat": 1}),
        json!({"FrNr": 5, "Text": "Altfall", "Datum": "2025-01-10T09:00:00", "DatumBis": "2025-01-10T00:00:00", "UhrzeitBis": "10:00:00"}),
        json!({"FrNr": 6, "Datum": "kaputt"}),
    ]
}

fn window() -> SyncWindow {
    SyncWindow::default_for(day(2025, 6, 1))
}

fn counts(r: &SyncReport) -> [usize; 6] {
    [
        r.created,
        r.updated,
        r.deleted,
        r.unchanged,
        r.skipped,
        r.errors,
    ]
}

#[tokio::test]
async fn runs_create_then_change_nothing_then_follow_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = FakeSource(Mutex::new(records()));
    let target = IcsTarget::new(dir.path()).with_clock(now);

    // FrNr 5 lies before the window, FrNr 6 is malformed.
    let first = sync_employee(&source, &target, "sb", true, window())
        .await
        .expect("first");
    assert_eq!(counts(&first), [4, 0, 0, 0, 1, 0]);
    assert_eq!((first.kuerzel.as_str(), first.full_content), ("SB", true));

    let path = dir.path().join("SB.ics");
    let written = std::fs::read_to_string(&path).expect("written");
    let second = sync_employee(&source, &target, "SB", true, window())
        .await
        .expect("second");
    assert_eq!(counts(&second), [0, 0, 0, 4, 1, 0]);
    assert_eq!(
        std::fs::read_to_string(&path).expect("kept"),
        written,
        "nothing rewritten"
    );

    let anonymised = sync_employee(&source, &target, "SB", false, window())
        .await
        .expect("anon");
    assert_eq!(counts(&anonymised), [0, 4, 0, 0, 1, 0]);
    let text = std::fs::read_to_string(&path).expect("rewritten");
    assert!(!text.contains("Mandantengespräch") && !text.contains("Urlaub"));

    source.0.lock().expect("not poisoned").remove(0);
    let after_delete = sync_employee(&source, &target, "SB", false, window())
        .await
        .expect("delete");
    assert_eq!(counts(&after_delete), [0, 0, 1, 3, 1, 0]);
    let text = std::fs::read_to_string(&path).expect("rewritten");
    let frnrs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("X-STEPLINE-FRNR:"))
        .collect();
    assert_eq!(
        frnrs,
        [
            "X-STEPLINE-FRNR:3",
            "X-STEPLINE-FRNR:4",
            "X-STEPLINE-FRNR:2"
        ]
    );
}

#[tokio::test]
async fn all_day_trap_is_written_with_an_exclusive_end_and_stays_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = FakeSource(Mutex::new(vec![records()[1].clone()]));
    let target = IcsTarget::new(dir.path()).with_clock(now);
    sync_employee(&source, &target, "SB", true, window())
        .await
        .expect("first");

    let text = std::fs::read_to_string(dir.path().join("SB.ics")).expect("written");
    assert!(text.contains("DTSTART;VALUE=DATE:20250721\r\nDTEND;VALUE=DATE:20250724\r\n"));
    let again = sync_employee(&source, &target, "SB", true, window())
        .await
        .expect("second");
    assert_eq!(counts(&again), [0, 0, 0, 1, 0, 0]);
}

#[tokio::test]
async fn timed_to_all_day_trap_rewrites_both_ends_as_dates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = FakeSource(Mutex::new(vec![records()[0].clone()]));
    let target = IcsTarget::new(dir.path()).with_clock(now);
    sync_employee(&source, &target, "SB", true, window())
        .await
        .expect("timed");

    source.0.lock().expect("not poisoned")[0]["Abwesenheit"] = json!(1);
    let report = sync_employee(&source, &target, "SB", true, window())
        .await
        .expect("all-day");
    assert_eq!(counts(&report), [0, 1, 0, 0, 0, 0]);
    let text = std::fs::read_to_string(dir.path().join("SB.ics")).expect("written");
    assert!(text.contains("DTSTART;VALUE=DATE:20250603\r\nDTEND;VALUE=DATE:20250604\r\n"));
    assert!(!text.contains("TZID=Europe/Berlin:2025"));
}

#[tokio::test]
async fn an_unknown_employee_fails_without_touching_any_calendar() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = FakeSource(Mutex::new(records()));
    let target = IcsTarget::new(dir.path()).with_clock(now);
    let error = sync_employee(&source, &target, "XY", true, window())
        .await
        .expect_err("unknown");
    assert!(error.is_unknown_employee() && !error.is_retryable());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}
