//! The Google Calendar target against the emulator in `tests/emulators/google.rs`: each
//! trap of `DOMAIN.md` with the exact calls made and events left, and the whole flow
//! through the real binary.

mod common;
mod emulators;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use emulators::google::{Fault, GoogleEmulator};
use serde_json::{Value, json};
use stepline::calendar::google::{GoogleConfig, GoogleTarget, ServiceAccountKey};
use stepline::calendar::{
    ApplyReport, CalendarTarget, EventId, SnapshotSource, SyncError, SyncPlan, SyncReport,
    SyncWindow, TargetError, TargetEvent, sync_employee,
};
use stepline_runtime::store::StateStore;
use stepline_runtime::store::file::FileStore;

const SHARED_WITH: &str = "sb@kanzlei.example";

/// The emulator, a Google target on it, and a snapshot file the test edits.
struct Rig {
    google: GoogleEmulator,
    target: Arc<GoogleTarget>,
    snapshot: PathBuf,
    window: SyncWindow,
    _dir: tempfile::TempDir,
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// A timed appointment of SB on `date` from 13:00 to 14:00.
fn timed(frnr: i64, date: &str) -> Value {
    json!({"FrNr": frnr, "Text": format!("Besprechung Akte {frnr}"), "Anwalt": "SB", "Sb": "SB",
           "Datum": format!("{date}T13:00:00"), "DatumBis": format!("{date}T00:00:00"),
           "UhrzeitBis": "14:00:00", "Abwesenheit": 0, "Ort": "Raum 2", "Notiz": "Mandant Kern",
           "Privat": 0, "Dauertermin": 0, "Turnus": 0, "TurnusArt": 0,
           "ZuletztGeaendertAm": "2025-01-02T08:00:00Z"})
}

fn all_day(frnr: i64, first: &str, last: &str) -> Value {
    let mut record = timed(frnr, first);
    record["Datum"] = json!(format!("{first}T00:00:00"));
    record["DatumBis"] = json!(format!("{last}T23:59:00"));
    record["UhrzeitBis"] = json!("23:59:00");
    record["Abwesenheit"] = json!(1);
    record
}

fn id(frnr: i64) -> String {
    EventId::for_appointment("SB", frnr).to_string()
}

impl Rig {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut GoogleConfig)) -> Self {
        let google = GoogleEmulator::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let key: ServiceAccountKey = serde_json::from_value(google.key_json()).expect("key");
        let mut config = GoogleConfig::new(key);
        config.api_url = google.api_url();
        config.subject = Some("kalender@kanzlei.example".into());
        config.share_with.insert("SB".into(), SHARED_WITH.into());
        config.backoff_base = Duration::from_millis(1);
        config.backoff_cap = Duration::from_millis(4);
        adjust(&mut config);
        let state: Arc<dyn StateStore> =
            Arc::new(FileStore::open(&dir.path().join("state"), false).expect("store"));
        let target = Arc::new(GoogleTarget::new(config, state).expect("target"));
        let rig = Self {
            google,
            target,
            snapshot: dir.path().join("snapshot.json"),
            window: SyncWindow {
                from: day("2025-01-01"),
                to: day("2025-12-31"),
            },
            _dir: dir,
        };
        rig.appointments(&[]);
        rig
    }

    /// Replaces SB's appointments in the snapshot.
    fn appointments(&self, records: &[Value]) {
        let snapshot = json!({
            "employees": [{"Kuerzel": "SB", "Vorname": "Sabine", "Name": "Brenner", "Aktiv": true}],
            "appointments": {"SB": records},
        });
        std::fs::write(&self.snapshot, snapshot.to_string()).expect("write snapshot");
    }

    async fn sync(&self, full_content: bool) -> Result<SyncReport, SyncError> {
        self.sync_through(self.target.as_ref(), full_content, self.window)
            .await
    }

    async fn sync_through(
        &self,
        target: &dyn CalendarTarget,
        full_content: bool,
        window: SyncWindow,
    ) -> Result<SyncReport, SyncError> {
        let source = SnapshotSource::new(&self.snapshot);
        sync_employee(&source, target, "SB", full_content, window).await
    }

    fn calendar(&self) -> String {
        let ids = self.google.calendar_ids();
        assert_eq!(ids.len(), 1, "exactly one calendar: {ids:?}");
        ids[0].clone()
    }

    fn events(&self) -> BTreeMap<String, Value> {
        self.google.events(&self.calendar())
    }

    fn calls(&self) -> Vec<(String, usize)> {
        self.google.all_calls().into_iter().collect()
    }
}

fn counts(report: &SyncReport) -> [usize; 5] {
    [
        report.created,
        report.updated,
        report.deleted,
        report.unchanged,
        report.errors,
    ]
}

fn calls(list: &[(&str, usize)]) -> Vec<(String, usize)> {
    list.iter().map(|(m, n)| ((*m).to_owned(), *n)).collect()
}

#[tokio::test]
async fn first_sync_creates_exactly_the_events_and_a_second_run_writes_nothing() {
    let rig = Rig::start().await;
    let mut series = timed(1003, "2025-01-06");
    series["Dauertermin"] = json!(1);
    series["Turnus"] = json!(1);
    series["TurnusArt"] = json!(2);
    series["DatumBis"] = json!("2025-06-30T00:00:00");
    let mut private = timed(1004, "2025-10-26");
    private["Privat"] = json!(1);
    rig.appointments(&[
        timed(1001, "2025-03-28"),
        all_day(1002, "2025-07-21", "2025-07-23"),
        series,
        private,
    ]);

    let first = rig.sync(true).await.expect("first sync");
    assert_eq!(counts(&first), [4, 0, 0, 0, 0]);
    assert_eq!(
        rig.calls(),
        calls(&[
            ("acl.insert", 1),
            ("calendars.insert", 1),
            ("events.insert", 4),
            ("events.list", 1),
            ("token", 1)
        ])
    );

    // The calendar: one per employee, in the configured zone, shared with the mapped address.
    let calendar = rig.calendar();
    assert_eq!(
        rig.google.calendar(&calendar),
        Some(("Advoware SB".into(), "Europe/Berlin".into()))
    );
    let acl = rig.google.acl(&calendar);
    assert_eq!(acl.len(), 1);
    assert_eq!(
        acl[0]["scope"],
        json!({"type": "user", "value": SHARED_WITH})
    );
    assert_eq!(acl[0]["role"], "reader");

    // The assertion the token endpoint accepted.
    let claims = rig.google.last_claims().expect("claims");
    assert_eq!(claims["iss"], emulators::google::CLIENT_EMAIL);
    assert_eq!(claims["sub"], "kalender@kanzlei.example");
    assert_eq!(claims["aud"], rig.google.token_url());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );

    let events = rig.events();
    assert_eq!(events.keys().cloned().collect::<Vec<_>>(), {
        let mut ids = vec![id(1001), id(1002), id(1003), id(1004)];
        ids.sort();
        ids
    });
    let timed_event = &events[&id(1001)];
    assert_eq!(timed_event["summary"], "Besprechung Akte 1001");
    assert_eq!(timed_event["location"], "Raum 2");
    assert_eq!(
        timed_event["start"],
        json!({"dateTime": "2025-03-28T13:00:00+01:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(timed_event["end"]["dateTime"], "2025-03-28T14:00:00+01:00");
    let link = &timed_event["extendedProperties"]["private"];
    assert_eq!(link["stepline_kuerzel"], "SB");
    assert_eq!(link["advoware_frnr"], "1001");
    assert_eq!(link["stepline_hash"].as_str().map(str::len), Some(64));
    assert_eq!(
        link.as_object().map(|o| o.len()),
        Some(3),
        "ids and hash only: {link}"
    );

    // Trap 4: the all-day end is exclusive.
    assert_eq!(events[&id(1002)]["start"], json!({"date": "2025-07-21"}));
    assert_eq!(events[&id(1002)]["end"], json!({"date": "2025-07-24"}));
    assert_eq!(
        events[&id(1003)]["recurrence"],
        json!(["RRULE:FREQ=WEEKLY;INTERVAL=1;UNTIL=20250630T215959Z"])
    );
    assert_eq!(events[&id(1003)]["start"]["timeZone"], "Europe/Berlin");
    assert_eq!(events[&id(1004)]["summary"], "Privat");
    assert_eq!(events[&id(1004)]["visibility"], "private");
    assert!(events[&id(1004)].get("location").is_none());
    // Trap 5: the day the clocks go back, 13:00 is already winter time.
    assert_eq!(
        events[&id(1004)]["start"]["dateTime"],
        "2025-10-26T13:00:00+01:00"
    );

    // Second and third runs: one incremental listing each, no write, no new token.
    for _ in 0..2 {
        rig.google.reset_calls();
        let again = rig.sync(true).await.expect("again");
        assert_eq!(counts(&again), [0, 0, 0, 4, 0]);
        assert_eq!(rig.calls(), calls(&[("events.list", 1)]));
    }
    assert_eq!(rig.events(), events);
}

#[tokio::test]
async fn steady_state_with_500_appointments_makes_only_the_listing_call() {
    let rig = Rig::start_with(|c| c.page_size = 100).await;
    let records: Vec<Value> = (0..500)
        .map(|n| {
            timed(
                2000 + n,
                &(day("2025-02-01") + chrono::TimeDelta::days(n % 300)).to_string(),
            )
        })
        .collect();
    rig.appointments(&records);

    let first = rig.sync(true).await.expect("first");
    assert_eq!(counts(&first), [500, 0, 0, 0, 0]);
    assert_eq!(rig.google.calls("events.insert"), 500);
    assert_eq!(rig.events().len(), 500);

    // The run after the first sees its own 500 writes as changes: 5 pages, no write.
    rig.google.reset_calls();
    let second = rig.sync(true).await.expect("second");
    assert_eq!(counts(&second), [0, 0, 0, 500, 0]);
    assert_eq!(rig.calls(), calls(&[("events.list", 5)]));

    // Steady state: one listing call, nothing else.
    rig.google.reset_calls();
    let third = rig.sync(true).await.expect("third");
    assert_eq!(counts(&third), [0, 0, 0, 500, 0]);
    assert_eq!(rig.calls(), calls(&[("events.list", 1)]));

    // An expired sync token (410) means a full listing, every page, and still no write.
    rig.google.expire_sync_tokens();
    rig.google.reset_calls();
    let full = rig.sync(true).await.expect("after 410");
    assert_eq!(counts(&full), [0, 0, 0, 500, 0]);
    assert_eq!(rig.calls(), calls(&[("events.list", 1 + 5)]));
}

#[tokio::test]
async fn empty_or_failed_listing_then_409_patches_without_a_duplicate() {
    let rig = Rig::start().await;
    rig.appointments(&[timed(1001, "2025-03-28"), timed(1002, "2025-04-01")]);
    rig.sync(true).await.expect("first");

    // A listing that keeps failing stops the run before any write; it may be retried.
    rig.google.reset_calls();
    rig.google.inject("events.list", Fault::Unavailable, 6);
    let failed = rig.sync(true).await.expect_err("listing fails");
    assert!(failed.is_retryable(), "{failed}");
    assert_eq!(rig.calls(), calls(&[("events.list", 6)]));

    // An empty full listing (after the sync token expired): both look new, insert answers
    // 409, the event is re-read and patched.
    let mut changed = timed(1001, "2025-03-28");
    changed["Text"] = json!("Verlegt");
    rig.appointments(&[changed, timed(1002, "2025-04-01")]);
    rig.google.reset_calls();
    rig.google.expire_sync_tokens();
    rig.google.inject("events.list", Fault::EmptyListing, 1);
    let report = rig.sync(true).await.expect("empty listing");
    assert_eq!(counts(&report), [2, 0, 0, 0, 0]);
    assert_eq!(
        rig.calls(),
        calls(&[
            ("events.get", 2),
            ("events.insert", 2),
            ("events.list", 2),
            ("events.patch", 2)
        ])
    );
    let events = rig.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[&id(1001)]["summary"], "Verlegt");

    // The empty listing gave no token; the next run lists everything and writes nothing.
    rig.google.reset_calls();
    let after = rig.sync(true).await.expect("after");
    assert_eq!(counts(&after), [0, 0, 0, 2, 0]);
    assert_eq!(rig.google.event_writes(), 0);
}

#[tokio::test]
async fn rate_limits_are_retried_until_one_write_succeeds() {
    let rig = Rig::start().await;
    rig.sync(true).await.expect("empty calendar");
    rig.appointments(&[timed(1001, "2025-03-28")]);
    for fault in [
        Fault::RateLimit,
        Fault::UserRateLimit,
        Fault::TooManyRequests,
        Fault::Unavailable,
    ] {
        rig.google.inject("events.insert", fault, 1);
    }
    rig.google.reset_calls();

    let report = rig.sync(true).await.expect("retried");
    assert_eq!(counts(&report), [1, 0, 0, 0, 0]);
    assert_eq!(rig.google.calls("events.insert"), 5);
    assert_eq!(rig.google.calls("events.patch"), 0);
    assert_eq!(
        rig.events().keys().cloned().collect::<Vec<_>>(),
        vec![id(1001)]
    );
}

#[tokio::test]
async fn quota_exceeded_stops_the_run_at_once() {
    let rig = Rig::start().await;
    rig.sync(true).await.expect("empty calendar");
    rig.appointments(&[
        timed(1001, "2025-03-28"),
        timed(1002, "2025-03-29"),
        timed(1003, "2025-03-30"),
    ]);
    rig.google.inject("events.insert", Fault::Quota, 1);
    rig.google.reset_calls();

    let stopped = rig.sync(true).await.expect_err("quota");
    assert!(
        matches!(stopped, SyncError::Target(TargetError::QuotaExceeded)),
        "{stopped}"
    );
    assert!(!stopped.is_retryable());
    assert_eq!(
        rig.calls(),
        calls(&[("events.insert", 1), ("events.list", 1)])
    );
    assert!(rig.events().is_empty());

    // The next run starts from the last complete run's token and writes all three.
    let next = rig.sync(true).await.expect("next run");
    assert_eq!(counts(&next), [3, 0, 0, 0, 0]);
    assert_eq!(rig.events().len(), 3);
}

#[tokio::test]
async fn switching_between_timed_and_all_day_is_patched_cleanly() {
    let rig = Rig::start().await;
    rig.appointments(&[timed(1001, "2025-07-21")]);
    rig.sync(true).await.expect("timed");

    rig.appointments(&[all_day(1001, "2025-07-21", "2025-07-23")]);
    rig.google.reset_calls();
    let report = rig.sync(true).await.expect("to all-day");
    assert_eq!(counts(&report), [0, 1, 0, 0, 0]);
    assert_eq!(rig.google.event_writes(), 1);
    let event = &rig.events()[&id(1001)];
    assert_eq!(event["start"], json!({"date": "2025-07-21"}));
    assert_eq!(event["end"], json!({"date": "2025-07-24"}));

    rig.appointments(&[timed(1001, "2025-07-22")]);
    let back = rig.sync(true).await.expect("back to timed");
    assert_eq!(counts(&back), [0, 1, 0, 0, 0]);
    let event = &rig.events()[&id(1001)];
    assert_eq!(
        event["start"],
        json!({"dateTime": "2025-07-22T13:00:00+02:00", "timeZone": "Europe/Berlin"})
    );

    // The emulator refuses, like Google, a patch that would leave both kinds in `start`.
    let key: ServiceAccountKey = serde_json::from_value(rig.google.key_json()).expect("key");
    let tokens = stepline::calendar::google::auth::TokenSource::new(&GoogleConfig::new(key))
        .expect("tokens");
    let http = reqwest::Client::new();
    let token = tokens.token(&http).await.expect("token");
    let url = format!(
        "{}/calendars/{}/events/{}",
        rig.google.api_url(),
        rig.calendar(),
        id(1001)
    );
    let half = json!({"start": {"date": "2025-07-22"}, "end": {"date": "2025-07-23"}});
    let response = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&half)
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status().as_u16(), 400);

    // ... and client ids outside `a-v0-9`, or shorter than 5.
    let events_url = format!(
        "{}/calendars/{}/events",
        rig.google.api_url(),
        rig.calendar()
    );
    for bad in ["ABCDEF", "abcd", "abcdw"] {
        let event =
            json!({"id": bad, "start": {"date": "2025-07-22"}, "end": {"date": "2025-07-23"}});
        let response = http
            .post(&events_url)
            .bearer_auth(&token)
            .json(&event)
            .send()
            .await
            .expect("insert");
        assert_eq!(response.status().as_u16(), 400, "{bad}");
    }
}

#[tokio::test]
async fn switching_anonymisation_rewrites_every_event_and_back() {
    let rig = Rig::start().await;
    rig.appointments(&[
        timed(1001, "2025-03-28"),
        all_day(1002, "2025-05-05", "2025-05-06"),
    ]);
    rig.sync(true).await.expect("full content");

    rig.google.reset_calls();
    let hidden = rig.sync(false).await.expect("anonymised");
    assert_eq!(counts(&hidden), [0, 2, 0, 0, 0]);
    assert_eq!(rig.google.event_writes(), 2);
    for event in rig.events().values() {
        assert_eq!(event["summary"], "Termin");
        assert!(
            event.get("location").is_none() && event.get("description").is_none(),
            "{event}"
        );
    }

    let shown = rig.sync(true).await.expect("full content again");
    assert_eq!(counts(&shown), [0, 2, 0, 0, 0]);
    let events = rig.events();
    assert_eq!(events[&id(1001)]["summary"], "Besprechung Akte 1001");
    assert_eq!(events[&id(1001)]["description"], "Mandant Kern");
}

#[tokio::test]
async fn deletes_inside_the_window_only_and_a_vanished_event_counts_as_deleted() {
    let rig = Rig::start().await;
    let wide = SyncWindow {
        from: day("2024-01-01"),
        to: day("2026-12-31"),
    };
    rig.appointments(&[
        timed(1001, "2025-03-28"),
        timed(1002, "2025-04-02"),
        timed(1009, "2024-06-01"),
    ]);
    let report = rig
        .sync_through(rig.target.as_ref(), true, wide)
        .await
        .expect("wide");
    assert_eq!(counts(&report), [3, 0, 0, 0, 0]);

    // All three vanish from Advoware; the 2025 window covers two of them. One of those is
    // already gone from Google when the delete arrives (410), which is still success.
    rig.appointments(&[]);
    let gone_early = DeleteBeforeApply {
        inner: rig.target.clone(),
        google: &rig.google,
        id: id(1002),
    };
    rig.google.reset_calls();
    let report = rig
        .sync_through(&gone_early, true, rig.window)
        .await
        .expect("narrow");
    assert_eq!(counts(&report), [0, 0, 2, 0, 0]);
    assert_eq!(rig.google.calls("events.delete"), 2);
    assert_eq!(
        rig.events().keys().cloned().collect::<Vec<_>>(),
        vec![id(1009)]
    );
}

/// A target that deletes one event behind the sync's back between listing and applying.
struct DeleteBeforeApply<'a> {
    inner: Arc<GoogleTarget>,
    google: &'a GoogleEmulator,
    id: String,
}

#[async_trait]
impl CalendarTarget for DeleteBeforeApply<'_> {
    async fn list(&self, kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError> {
        let listed = self.inner.list(kuerzel).await?;
        let calendar = self.google.calendar_ids()[0].clone();
        let mut event = self.google.events(&calendar)[&self.id].clone();
        event["status"] = json!("cancelled");
        self.google.put_event(&calendar, event);
        Ok(listed)
    }

    async fn apply(&self, kuerzel: &str, plan: &SyncPlan) -> Result<ApplyReport, TargetError> {
        self.inner.apply(kuerzel, plan).await
    }

    fn describe(&self) -> String {
        "google, with an event deleted elsewhere".into()
    }
}

/// A target whose events are edited elsewhere between listing and applying: the patch's
/// `If-Match` fails with 412.
struct EditBeforeApply<'a> {
    inner: Arc<GoogleTarget>,
    google: &'a GoogleEmulator,
    id: String,
}

#[async_trait]
impl CalendarTarget for EditBeforeApply<'_> {
    async fn list(&self, kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError> {
        let listed = self.inner.list(kuerzel).await?;
        self.google.touch(&self.google.calendar_ids()[0], &self.id);
        Ok(listed)
    }

    async fn apply(&self, kuerzel: &str, plan: &SyncPlan) -> Result<ApplyReport, TargetError> {
        self.inner.apply(kuerzel, plan).await
    }

    fn describe(&self) -> String {
        "google, with an event edited elsewhere".into()
    }
}

#[tokio::test]
async fn a_412_re_reads_and_re_applies() {
    let rig = Rig::start().await;
    rig.appointments(&[timed(1001, "2025-03-28")]);
    rig.sync(true).await.expect("first");

    let mut changed = timed(1001, "2025-03-28");
    changed["Text"] = json!("Verlegt");
    rig.appointments(&[changed]);
    let edited = EditBeforeApply {
        inner: rig.target.clone(),
        google: &rig.google,
        id: id(1001),
    };
    rig.google.reset_calls();
    let report = rig
        .sync_through(&edited, true, rig.window)
        .await
        .expect("412");
    assert_eq!(counts(&report), [0, 1, 0, 0, 0]);
    assert_eq!(
        rig.calls(),
        calls(&[("events.get", 1), ("events.list", 1), ("events.patch", 2)])
    );
    assert_eq!(rig.events()[&id(1001)]["summary"], "Verlegt");
}

#[tokio::test]
async fn events_without_the_link_are_never_touched() {
    let rig = Rig::start().await;
    rig.sync(true).await.expect("calendar");
    let calendar = rig.calendar();
    let foreign = [
        // A person's own entry in the window.
        json!({"id": "private0001", "summary": "Zahnarzt",
               "start": {"dateTime": "2025-03-28T08:00:00+01:00"}, "end": {"dateTime": "2025-03-28T09:00:00+01:00"}}),
        // Another employee's link.
        json!({"id": EventId::for_appointment("AO", 1001).to_string(), "summary": "AO",
               "start": {"date": "2025-03-28"}, "end": {"date": "2025-03-29"},
               "extendedProperties": {"private": {"stepline_kuerzel": "AO", "advoware_frnr": "1001", "stepline_hash": "x"}}}),
        // The sync's id for appointment 1001, but without the link.
        json!({"id": id(1001), "summary": "Von Hand",
               "start": {"date": "2025-03-28"}, "end": {"date": "2025-03-29"}}),
    ];
    for event in &foreign {
        rig.google.put_event(&calendar, event.clone());
    }
    let before = rig.events();

    rig.appointments(&[timed(1001, "2025-03-28"), timed(1002, "2025-03-29")]);
    rig.google.reset_calls();
    let report = rig.sync(true).await.expect("sync");
    // 1002 is created; 1001's id is taken by an event without the link: re-read, left alone.
    assert_eq!(counts(&report), [1, 0, 0, 0, 1]);
    assert_eq!(
        rig.calls(),
        calls(&[("events.get", 1), ("events.insert", 2), ("events.list", 1)])
    );
    let after = rig.events();
    for (id, event) in &before {
        assert_eq!(&after[id], event, "untouched");
    }
    assert_eq!(after.len(), 4);

    // With Advoware empty, nothing of theirs is deleted: only the sync's own 1002.
    rig.appointments(&[]);
    let report = rig.sync(true).await.expect("empty");
    assert_eq!(counts(&report), [0, 0, 1, 0, 0]);
    assert_eq!(rig.events(), before);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_token_endpoint_retried() {
    let rig = Rig::start().await;
    rig.appointments(&[timed(1001, "2025-03-28")]);
    rig.sync(true).await.expect("first");
    rig.google.revoke_tokens();
    // The token endpoint fails once too: retried like the API.
    rig.google.inject("token", Fault::Unavailable, 1);
    rig.google.reset_calls();
    let again = rig.sync(true).await.expect("after revocation");
    assert_eq!(counts(&again), [0, 0, 0, 1, 0]);
    assert_eq!(rig.calls(), calls(&[("events.list", 2), ("token", 2)]));
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_through_the_binary_fills_the_emulated_calendar() {
    let google = GoogleEmulator::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("service-account.json");
    std::fs::write(&key_file, google.key_json().to_string()).expect("key file");
    let (api_url, token_url) = (google.api_url(), google.token_url());
    let served = common::binary::serve(
        &repo("manifests"),
        &dir.path().join("data"),
        &[
            (
                "GOOGLE_SERVICE_ACCOUNT_FILE",
                key_file.to_str().expect("utf-8"),
            ),
            ("GOOGLE_API_URL", &api_url),
            ("GOOGLE_TOKEN_URL", &token_url),
            ("GOOGLE_SHARE_WITH", "SB=sb@kanzlei.example"),
        ],
    );
    let http = reqwest::Client::new();

    // What the calendar must hold: SB's sample appointments in the server's window.
    let window = SyncWindow::default_for(chrono::Local::now().date_naive());
    let source = SnapshotSource::new(repo("samples/advoware_snapshot.json"));
    let expected = common::expected_events(&source, "SB", window).await;
    assert!(expected.len() > 3, "the sample has appointments for SB");

    for run_number in 0..2 {
        google.reset_calls();
        let sync = http
            .post(format!("{}/advoware/calendar/sync", served.base))
            .json(&json!({"kuerzel": "SB"}))
            .send()
            .await
            .expect("sync request");
        assert_eq!(sync.status().as_u16(), 200);
        let status_url = format!("{}/advoware/calendar/sync/status/SB", served.base);
        let last_run = common::eventually(Duration::from_secs(20), || async {
            let status: Value = http.get(&status_url).send().await.ok()?.json().await.ok()?;
            let run = status["last_run"].clone();
            let done = if run_number == 0 {
                run["created"] == json!(expected.len())
            } else {
                run["unchanged"] == json!(expected.len())
            };
            (status["locked"] == false && run["outcome"] == "ok" && done).then_some(run)
        })
        .await;
        let Some(last_run) = last_run else {
            panic!(
                "run {run_number} did not finish: {:?}",
                served.log.lock().map(|l| l.join("\n"))
            );
        };
        assert_eq!(last_run["errors"], 0);
        if run_number == 1 {
            assert_eq!(google.event_writes(), 0, "second run writes nothing");
        }

        let calendars = google.calendar_ids();
        assert_eq!(calendars.len(), 1);
        let held: BTreeMap<String, String> = google
            .events(&calendars[0])
            .into_iter()
            .map(|(id, e)| {
                (
                    id,
                    e["extendedProperties"]["private"]["stepline_hash"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(held, expected);
    }
    // 403 quotaExceeded stops AO's run at its first write, recorded as failed.
    google.reset_calls();
    google.inject("events.insert", Fault::Quota, 1);
    let sync = http
        .post(format!("{}/advoware/calendar/sync", served.base))
        .json(&json!({"kuerzel": "AO"}))
        .send()
        .await
        .expect("sync request");
    assert_eq!(sync.status().as_u16(), 200);
    let status_url = format!("{}/advoware/calendar/sync/status/AO", served.base);
    let failed = common::eventually(Duration::from_secs(20), || async {
        let status: Value = http.get(&status_url).send().await.ok()?.json().await.ok()?;
        (status["locked"] == false && status["last_run"]["outcome"] == "failed")
            .then(|| status["last_run"].clone())
    })
    .await
    .expect("AO's run is recorded as failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or("")
            .contains("quota exceeded"),
        "{failed}"
    );
    assert_eq!(google.calls("events.insert"), 1);

    let log = served.log.lock().expect("log").join("\n");
    assert!(
        !log.contains("BEGIN PRIVATE KEY") && !log.contains("ya29."),
        "no secret in the log"
    );
}

#[tokio::test]
async fn a_calendar_deleted_by_hand_is_created_again() {
    let rig = Rig::start().await;
    rig.appointments(&[timed(1001, "2025-03-28")]);
    rig.sync(true).await.expect("first");
    rig.google.drop_calendar(&rig.calendar());

    rig.google.reset_calls();
    let report = rig.sync(true).await.expect("again");
    assert_eq!(counts(&report), [1, 0, 0, 0, 0]);
    assert_eq!(
        rig.calls(),
        calls(&[
            ("acl.insert", 1),
            ("calendars.insert", 1),
            ("events.insert", 1),
            ("events.list", 2),
        ])
    );
    assert_eq!(
        rig.events().keys().cloned().collect::<Vec<_>>(),
        vec![id(1001)]
    );
}
