//! The calendar sync end to end on the bundled sample firm: `sync_employee` reads
//! `samples/advoware_snapshot.json` and writes ICS files, which are parsed back with an
//! independent parser (the `ical` crate) and compared with what the snapshot says.
//!
//! The sync window is fixed at 2026-11-04 ..= 2027-12-04 (today 2026-12-04, 30 days
//! back, 365 ahead), so the expectations do not move with the clock.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use serde_json::Value;
use stepline::calendar::{
    EventId, IcsTarget, SnapshotSource, SyncReport, SyncWindow, sync_employee,
};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 4).expect("valid date")
}

fn window() -> SyncWindow {
    SyncWindow::default_for(today())
}

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0)
        .single()
        .expect("valid")
}

/// A copy of the sample in a temp dir, a source on it, and a target beside it.
struct Fixture {
    dir: tempfile::TempDir,
    snapshot: PathBuf,
    source: SnapshotSource,
    target: IcsTarget,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let snapshot = dir.path().join("snapshot.json");
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/advoware_snapshot.json");
        std::fs::copy(sample, &snapshot).expect("sample copied");
        let source = SnapshotSource::new(&snapshot);
        let target = IcsTarget::new(dir.path().join("calendars")).with_clock(fixed_now);
        Self {
            dir,
            snapshot,
            source,
            target,
        }
    }

    async fn sync(&self, kuerzel: &str, full_content: bool) -> SyncReport {
        sync_employee(&self.source, &self.target, kuerzel, full_content, window())
            .await
            .expect("sync succeeds")
    }

    fn ics(&self, kuerzel: &str) -> String {
        let path = self
            .dir
            .path()
            .join("calendars")
            .join(format!("{kuerzel}.ics"));
        std::fs::read_to_string(path).expect("calendar written")
    }

    fn snapshot(&self) -> Value {
        let text = std::fs::read_to_string(&self.snapshot).expect("snapshot");
        serde_json::from_str(&text).expect("snapshot is JSON")
    }
}

/// Parses with the `ical` crate; exactly one calendar.
fn parse(text: &str) -> IcalCalendar {
    let mut calendars = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .expect("valid iCalendar");
    assert!(calendars.next().is_none(), "exactly one VCALENDAR");
    calendar
}

/// One parsed event: property name to (parameters, value).
type Props = BTreeMap<String, (Vec<(String, Vec<String>)>, String)>;

fn props(event: &IcalEvent) -> Props {
    event
        .properties
        .iter()
        .map(|p| {
            let params = p.params.clone().unwrap_or_default();
            (
                p.name.clone(),
                (params, p.value.clone().unwrap_or_default()),
            )
        })
        .collect()
}

/// Events by Advoware number.
fn by_frnr(calendar: &IcalCalendar) -> BTreeMap<i64, Props> {
    calendar
        .events
        .iter()
        .map(props)
        .map(|p| {
            let frnr = p["X-STEPLINE-FRNR"].1.parse().expect("FrNr is a number");
            (frnr, p)
        })
        .collect()
}

fn value<'a>(event: &'a Props, name: &str) -> &'a str {
    event.get(name).map_or("", |(_, v)| v.as_str())
}

/// `NAME;PARAM=value:VALUE` as written, for a compact comparison.
fn line(event: &Props, name: &str) -> String {
    let (params, value) = &event[name];
    let params: String = params
        .iter()
        .map(|(k, v)| format!(";{k}={}", v.join(",")))
        .collect();
    format!("{name}{params}:{value}")
}

/// The appointment numbers of `kuerzel` that touch the window, read straight from the
/// snapshot JSON: first day from `Datum`, last day from `DatumBis` (for a series the
/// series end, 2037-12-31 when open).
fn expected_frnrs(snapshot: &Value, kuerzel: &str) -> BTreeSet<i64> {
    let (from, to) = (window().from.to_string(), window().to.to_string());
    let mut expected = BTreeSet::new();
    for record in snapshot["appointments"][kuerzel].as_array().expect("list") {
        let datum = record["Datum"].as_str().unwrap_or_default();
        let Some(first) = datum.get(..10).filter(|d| d.parse::<NaiveDate>().is_ok()) else {
            continue; // the malformed record
        };
        let bis = record["DatumBis"].as_str().unwrap_or_default();
        let bis = (!bis.starts_with("0001")).then(|| &bis[..10]);
        let series = record["Dauertermin"] == 1
            && (1..=4).contains(&record["TurnusArt"].as_i64().unwrap_or(0));
        let last = match (series, bis) {
            (true, Some(end)) => end,
            (true, None) => "2037-12-31",
            (false, Some(end)) => end.max(first),
            (false, None) => first,
        };
        if first <= to.as_str() && last >= from.as_str() {
            expected.insert(record["FrNr"].as_i64().expect("FrNr"));
        }
    }
    expected
}

#[tokio::test]
async fn sb_calendar_holds_exactly_the_expected_events() {
    let fx = Fixture::new();
    let expected = expected_frnrs(&fx.snapshot(), "SB");
    let report = fx.sync("SB", true).await;
    assert_eq!(report.created, expected.len());
    assert_eq!(
        (report.updated, report.deleted, report.unchanged),
        (0, 0, 0)
    );
    assert_eq!((report.skipped, report.errors), (0, 0));
    assert_eq!(expected.len(), 63, "SB's appointments touching the window");

    let text = fx.ics("SB");
    assert!(
        text.lines().all(|l| l.len() <= 75),
        "lines are folded at 75 octets"
    );
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    let calendar = parse(&text);
    let events = by_frnr(&calendar);
    assert_eq!(calendar.events.len(), expected.len());
    assert_eq!(events.keys().copied().collect::<BTreeSet<_>>(), expected);

    // The time zone definition, with both daylight saving rules.
    assert_eq!(calendar.timezones.len(), 1);
    let zone = &calendar.timezones[0];
    assert!(
        zone.properties
            .iter()
            .any(|p| p.name == "TZID" && p.value.as_deref() == Some("Europe/Berlin"))
    );
    assert_eq!(zone.transitions.len(), 2);

    // UIDs come from the deterministic id; SB:1001 in base32hex is ad13kc9g60og.
    for (frnr, event) in &events {
        let id = EventId::for_appointment("SB", *frnr);
        assert_eq!(value(event, "UID"), format!("{id}@stepline"));
        assert_eq!(value(event, "X-STEPLINE-EMPLOYEE"), "SB");
        assert_eq!(value(event, "X-STEPLINE-HASH").len(), 64);
    }
    assert_eq!(value(&events[&1001], "UID"), "ad13kc9g60og@stepline");

    // Both ends are dates, or both are Berlin times.
    for event in events.values() {
        let start = line(event, "DTSTART");
        if start.starts_with("DTSTART;VALUE=DATE:") {
            assert!(
                line(event, "DTEND").starts_with("DTEND;VALUE=DATE:"),
                "{start}"
            );
        } else {
            assert!(start.starts_with("DTSTART;TZID=Europe/Berlin:"), "{start}");
        }
    }
}

#[tokio::test]
async fn sb_events_carry_the_exact_times_rules_and_texts() {
    let fx = Fixture::new();
    fx.sync("SB", true).await;
    let events = by_frnr(&parse(&fx.ics("SB")));
    let check = |frnr: i64, name: &str, expected: &str| {
        assert_eq!(line(&events[&frnr], name), expected, "FrNr {frnr}");
    };

    // All-day, end exclusive: 21st to 23rd inclusive ends on the 24th.
    check(1001, "DTSTART", "DTSTART;VALUE=DATE:20270721");
    check(1001, "DTEND", "DTEND;VALUE=DATE:20270724");
    // Daylight saving: the Friday before, the gap, the Monday after, the repeated hour.
    check(
        1002,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20270326T130000",
    );
    check(
        1004,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20270328T033000",
    );
    check(1004, "DTEND", "DTEND;TZID=Europe/Berlin:20270328T040000");
    check(
        1003,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20270329T130000",
    );
    check(
        1005,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20271031T023000",
    );
    check(1005, "DTEND", "DTEND;TZID=Europe/Berlin:20271031T033000");
    // Series: weekly open since before the window, daily, monthly, yearly all-day.
    check(
        1006,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20260105T090000",
    );
    check(1006, "DTEND", "DTEND;TZID=Europe/Berlin:20260105T093000");
    check(
        1006,
        "RRULE",
        "RRULE:FREQ=WEEKLY;INTERVAL=1;UNTIL=20371231T225959Z",
    );
    check(
        1007,
        "RRULE",
        "RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20270212T225959Z",
    );
    check(1007, "DTEND", "DTEND;TZID=Europe/Berlin:20270201T081500");
    check(
        1008,
        "RRULE",
        "RRULE:FREQ=MONTHLY;INTERVAL=1;UNTIL=20271116T225959Z",
    );
    check(1009, "RRULE", "RRULE:FREQ=YEARLY;INTERVAL=1;UNTIL=20371231");
    check(1009, "DTEND", "DTEND;VALUE=DATE:20261211");
    // A special entry over two days.
    check(
        -101,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20270510T070000",
    );
    check(-101, "DTEND", "DTEND;TZID=Europe/Berlin:20270511T190000");
    // Private: a placeholder even with full content.
    check(1010, "SUMMARY", "SUMMARY:Privat");
    check(1010, "CLASS", "CLASS:PRIVATE");
    assert!(!events[&1010].contains_key("LOCATION"));
    // Full content, escaped as RFC 5545 TEXT.
    check(1002, "LOCATION", "LOCATION:Besprechungsraum 1");
    check(
        1011,
        "SUMMARY",
        r"SUMMARY:Vergleichsverhandlung Hartwig ./. Sommerfeld\, Az. 3 O 212/26\; Saal 4",
    );
    assert_eq!(
        value(&events[&1011], "DESCRIPTION"),
        r"Ablage: K:\\Akten\\2026\\Hartwig\, bitte vorher Fristen prüfen\, Schriftsatz der Gegenseite lesen und Vergleichsvorschlag abstimmen.\nRückfragen an LF."
    );
    // A general appointment shows up in SB's calendar too.
    check(900011, "SUMMARY", "SUMMARY:Serverwartung (Zeitumstellung)");
    check(
        900011,
        "DTSTART",
        "DTSTART;TZID=Europe/Berlin:20271031T020000",
    );
}

#[tokio::test]
async fn repeating_switching_and_deleting_change_exactly_what_they_should() {
    let fx = Fixture::new();
    let first = fx.sync("SB", true).await;
    let n = first.created;
    let written = fx.ics("SB");

    // A second identical run changes nothing, not even the file.
    let again = fx.sync("SB", true).await;
    assert_eq!(
        (again.created, again.updated, again.deleted, again.unchanged),
        (0, 0, 0, n)
    );
    assert_eq!(fx.ics("SB"), written);

    // Switching full_content rewrites every event to placeholders...
    let anon = fx.sync("SB", false).await;
    assert_eq!(
        (anon.created, anon.updated, anon.deleted, anon.unchanged),
        (0, n, 0, 0)
    );
    let calendar = parse(&fx.ics("SB"));
    assert_eq!(calendar.events.len(), n);
    for event in calendar.events.iter().map(props) {
        let summary = value(&event, "SUMMARY");
        let private = event.contains_key("CLASS");
        assert_eq!(summary, if private { "Privat" } else { "Termin" });
        assert!(!event.contains_key("LOCATION") && !event.contains_key("DESCRIPTION"));
    }
    for secret in [
        "Hartwig",
        "Besprechungsraum",
        "Akte mitbringen",
        "Jour fixe",
    ] {
        assert!(
            !fx.ics("SB").contains(secret),
            "{secret} left in an anonymised calendar"
        );
    }

    // ...and back again.
    let back = fx.sync("SB", true).await;
    assert_eq!((back.updated, back.unchanged), (n, 0));

    // An appointment deleted in Advoware disappears, and nothing else does.
    let mut snapshot = fx.snapshot();
    let list = snapshot["appointments"]["SB"]
        .as_array_mut()
        .expect("SB's list");
    list.retain(|r| r["FrNr"] != 1002);
    std::fs::write(
        &fx.snapshot,
        serde_json::to_string(&snapshot).expect("JSON"),
    )
    .expect("saved");
    let after = fx.sync("SB", true).await;
    assert_eq!(
        (after.created, after.updated, after.deleted, after.unchanged),
        (0, 0, 1, n - 1)
    );
    let events = by_frnr(&parse(&fx.ics("SB")));
    assert!(!events.contains_key(&1002));
    assert_eq!(events.len(), n - 1);
}

#[tokio::test]
async fn every_employee_gets_a_valid_calendar_and_unknown_codes_none() {
    let fx = Fixture::new();
    let snapshot = fx.snapshot();
    for (code, skipped) in [
        ("SB", 0),
        ("AO", 0),
        ("MÜ", 0),
        ("TK", 0),
        ("LF", 1),
        ("RE", 0),
        ("JW", 0),
    ] {
        let report = fx.sync(code, true).await;
        assert_eq!(report.skipped, skipped, "{code}");
        let calendar = parse(&fx.ics(code));
        let frnrs: BTreeSet<i64> = by_frnr(&calendar).into_keys().collect();
        assert_eq!(frnrs, expected_frnrs(&snapshot, code), "{code}");
        assert_eq!(report.created, frnrs.len(), "{code}");
    }

    let unknown = sync_employee(&fx.source, &fx.target, "XY", true, window()).await;
    assert!(unknown.expect_err("unknown code").is_unknown_employee());
    assert!(!fx.dir.path().join("calendars/XY.ics").exists());
}
