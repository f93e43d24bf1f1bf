use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::calendar::ics::write::{escape_text, render_calendar, render_event};
use crate::calendar::testing::{day, event};

fn stamp() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
        .single()
        .expect("valid")
}

fn calendar_of(events: &[crate::calendar::CalendarEvent]) -> String {
    let blocks: Vec<String> = events.iter().map(|e| render_event(e, stamp())).collect();
    render_calendar("SB", &blocks)
}

#[test]
fn written_events_read_back_with_id_hash_and_days() {
    let all_day = event(
        json!({"FrNr": 1, "Datum": "2025-07-21T00:00:00", "DatumBis": "2025-07-23T23:59:00", "Abwesenheit": 1}),
        true,
    );
    let series = event(
        json!({"FrNr": 2, "DatumBis": "2025-09-30T00:00:00", "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
        true,
    );
    let listed =
        list_events(&calendar_of(&[all_day.clone(), series.clone()]), "sb").expect("valid");

    assert_eq!(
        listed,
        [
            TargetEvent {
                id: all_day.id.to_string(),
                content_hash: Some(all_day.content_hash.clone()),
                first_day: day(2025, 7, 21),
                last_day: day(2025, 7, 23),
                managed: true,
            },
            TargetEvent {
                id: series.id.to_string(),
                content_hash: Some(series.content_hash.clone()),
                first_day: day(2025, 6, 2),
                last_day: day(2025, 9, 30),
                managed: true,
            },
        ]
    );
}

#[test]
fn events_of_another_employee_or_without_marker_are_not_ours() {
    let mine = event(json!({"FrNr": 1}), true);
    let text = calendar_of(&[mine]);
    let listed = list_events(&text, "TK").expect("valid");
    assert!(!listed[0].managed);

    let foreign = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc@example.org\r\n\
                   DTSTART:20250601T080000Z\r\nSUMMARY:Fremd\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let listed = list_events(foreign, "SB").expect("valid");
    assert_eq!(listed[0].id, "abc@example.org");
    assert!(!listed[0].managed);
    assert_eq!(
        (listed[0].first_day, listed[0].last_day),
        (day(2025, 6, 1), day(2025, 6, 1))
    );
}

#[test]
fn folded_lines_quoted_parameters_and_nested_components_are_read() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x@y\r\n\
                DTSTART;TZID=\"Europe/Berlin\";X-A=\"a:b;c\":20250102T0\r\n 90000\r\n\
                SUMMARY:Lang\r\n\tzeile\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n\
                END:VEVENT\r\nEND:VCALENDAR\r\n";
    let document = parse(text).expect("valid");
    let event = &document.components[0];
    let start = event.property("DTSTART").expect("has DTSTART");
    assert_eq!(start.value, "20250102T090000");
    assert_eq!(start.param("TZID"), Some("Europe/Berlin"));
    assert_eq!(start.param("X-A"), Some("a:b;c"));
    assert_eq!(
        event.property("SUMMARY").map(|p| p.value.as_str()),
        Some("Langzeile")
    );
    assert!(
        event.property("TRIGGER").is_none(),
        "nested properties stay nested"
    );
    assert!(event.raw.starts_with("BEGIN:VEVENT\r\n") && event.raw.ends_with("END:VEVENT\r\n"));
    assert!(event.raw.contains("TRIGGER:-PT15M\r\n"));
}

#[test]
fn broken_files_name_the_line() {
    assert_eq!(parse(""), Ok(IcsDocument::default()));
    let mismatched = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VTODO\nEND:VCALENDAR\n";
    assert_eq!(
        parse(mismatched),
        Err(IcsError {
            line: 3,
            problem: "END does not match BEGIN"
        })
    );
    let unterminated = "BEGIN:VCALENDAR\nBEGIN:VEVENT\n";
    assert_eq!(
        parse(unterminated).map_err(|e| e.problem),
        Err("the file ends inside a component")
    );
    assert_eq!(parse("hello\n").map_err(|e| e.line), Err(1));
}

#[test]
fn unescape_undoes_escape() {
    let original = "Az. 12/26; Müller, Schmidt\\Partner\nZeile 2";
    assert_eq!(unescape_text(&escape_text(original)), original);
}

#[test]
fn a_start_given_in_utc_counts_on_its_berlin_day() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART:20250601T230000Z\r\n\
                RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let listed = list_events(text, "SB").expect("valid");
    assert_eq!(listed[0].first_day, day(2025, 6, 2));
    assert_eq!(listed[0].last_day, chrono::NaiveDate::MAX);
}
