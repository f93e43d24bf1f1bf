use serde_json::json;

use super::*;
use crate::calendar::testing::{berlin, day, event};

fn timed(event: &CalendarEvent) -> (String, String) {
    match &event.time {
        EventTime::Timed { start, end } => (start.to_rfc3339(), end.to_rfc3339()),
        other => panic!("expected a timed event, got {other:?}"),
    }
}

#[test]
fn all_day_trap_end_is_the_day_after_the_last_day() {
    let e = event(
        json!({"Datum": "2025-07-21T00:00:00", "DatumBis": "2025-07-23T23:59:00",
               "UhrzeitBis": "23:59:00", "Abwesenheit": 1}),
        true,
    );
    assert_eq!(
        e.time,
        EventTime::AllDay {
            start: day(2025, 7, 21),
            end: day(2025, 7, 24)
        }
    );
    assert_eq!(e.last_date(), day(2025, 7, 23));
}

#[test]
fn single_all_day_entry_without_datum_bis_lasts_one_day() {
    let e = event(
        json!({"Datum": "2025-07-21T00:00:00", "DatumBis": null, "Abwesenheit": 1}),
        true,
    );
    assert_eq!(
        e.time,
        EventTime::AllDay {
            start: day(2025, 7, 21),
            end: day(2025, 7, 22)
        }
    );
}

#[test]
fn dst_trap_timed_events_carry_the_offset_of_their_date() {
    let before = event(
        json!({"Datum": "2025-03-28T13:00:00", "DatumBis": "2025-03-28T00:00:00", "UhrzeitBis": "14:00:00"}),
        true,
    );
    let after = event(
        json!({"Datum": "2025-03-31T13:00:00", "DatumBis": "2025-03-31T00:00:00", "UhrzeitBis": "14:00:00"}),
        true,
    );
    assert_eq!(
        timed(&before),
        (
            "2025-03-28T13:00:00+01:00".into(),
            "2025-03-28T14:00:00+01:00".into()
        )
    );
    assert_eq!(
        timed(&after),
        (
            "2025-03-31T13:00:00+02:00".into(),
            "2025-03-31T14:00:00+02:00".into()
        )
    );
}

#[test]
fn dst_trap_gap_and_repeated_hour() {
    let gap = event(
        json!({"Datum": "2025-03-30T02:30:00", "DatumBis": "2025-03-30T00:00:00", "UhrzeitBis": "04:00:00"}),
        true,
    );
    assert_eq!(
        timed(&gap),
        (
            "2025-03-30T03:30:00+02:00".into(),
            "2025-03-30T04:00:00+02:00".into()
        )
    );
    let repeated = event(
        json!({"Datum": "2025-10-26T02:30:00", "DatumBis": "2025-10-26T00:00:00", "UhrzeitBis": "03:30:00"}),
        true,
    );
    assert_eq!(
        timed(&repeated),
        (
            "2025-10-26T02:30:00+02:00".into(),
            "2025-10-26T03:30:00+01:00".into()
        )
    );
}

#[test]
fn timed_multi_day_ends_on_the_date_of_datum_bis() {
    let e = event(
        json!({"Datum": "2025-11-10T09:00:00", "DatumBis": "2025-11-12T00:00:00", "UhrzeitBis": "17:00:00"}),
        true,
    );
    assert_eq!(
        timed(&e),
        (
            "2025-11-10T09:00:00+01:00".into(),
            "2025-11-12T17:00:00+01:00".into()
        )
    );
    assert_eq!(e.last_date(), day(2025, 11, 12));
}

#[test]
fn missing_or_earlier_end_gives_an_event_without_duration() {
    let no_end = event(json!({"UhrzeitBis": null}), true);
    let earlier = event(json!({"UhrzeitBis": "08:00:00"}), true);
    let nine = berlin(2025, 6, 2, 9, 0);
    for e in [no_end, earlier] {
        assert_eq!(
            e.time,
            EventTime::Timed {
                start: nine,
                end: nine
            }
        );
    }
}

#[test]
fn series_end_comes_from_datum_bis_and_occurrence_end_from_datum() {
    let e = event(
        json!({"Datum": "2025-06-02T09:00:00", "DatumBis": "2025-06-30T00:00:00",
               "UhrzeitBis": "10:30:00", "Dauertermin": 1, "Turnus": 2, "TurnusArt": 2}),
        true,
    );
    assert_eq!(
        timed(&e),
        (
            "2025-06-02T09:00:00+02:00".into(),
            "2025-06-02T10:30:00+02:00".into()
        )
    );
    // 2025-06-30 23:59:59 CEST is 21:59:59 UTC.
    assert_eq!(
        e.rrule().as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=2;UNTIL=20250630T215959Z")
    );
    assert_eq!(e.last_date(), day(2025, 6, 30));
}

#[test]
fn every_turnus_art_maps_to_its_frequency() {
    let rule = |art: u8, turnus: u32| {
        event(
            json!({"Dauertermin": 1, "TurnusArt": art, "Turnus": turnus,
                     "DatumBis": "2026-06-01T00:00:00"}),
            true,
        )
        .rrule()
    };
    let until = "UNTIL=20260601T215959Z";
    assert_eq!(rule(1, 1), Some(format!("FREQ=DAILY;INTERVAL=1;{until}")));
    assert_eq!(rule(2, 3), Some(format!("FREQ=WEEKLY;INTERVAL=3;{until}")));
    assert_eq!(rule(3, 1), Some(format!("FREQ=MONTHLY;INTERVAL=1;{until}")));
    assert_eq!(rule(4, 1), Some(format!("FREQ=YEARLY;INTERVAL=1;{until}")));
    // Turnus 0 means every period; an unknown TurnusArt is no series.
    assert_eq!(rule(2, 0), Some(format!("FREQ=WEEKLY;INTERVAL=1;{until}")));
    assert_eq!(rule(0, 1), None);
    assert_eq!(rule(5, 1), None);
}

#[test]
fn open_series_end_in_2037() {
    let timed = event(
        json!({"Dauertermin": 1, "TurnusArt": 3, "Turnus": 1,
                             "DatumBis": "0001-01-01T00:00:00Z"}),
        true,
    );
    assert_eq!(
        timed.rrule().as_deref(),
        Some("FREQ=MONTHLY;INTERVAL=1;UNTIL=20371231T225959Z")
    );
    let all_day = event(
        json!({"Datum": "2025-06-02T00:00:00", "Abwesenheit": 1,
                               "Dauertermin": 1, "TurnusArt": 4, "Turnus": 1,
                               "DatumBis": null}),
        true,
    );
    assert_eq!(
        all_day.rrule().as_deref(),
        Some("FREQ=YEARLY;INTERVAL=1;UNTIL=20371231")
    );
    assert_eq!(
        all_day.time,
        EventTime::AllDay {
            start: day(2025, 6, 2),
            end: day(2025, 6, 3)
        }
    );
}

#[test]
fn a_series_ending_before_it_starts_is_a_single_event() {
    let e = event(
        json!({"Dauertermin": 1, "TurnusArt": 2, "Turnus": 1,
                         "DatumBis": "2025-05-01T00:00:00"}),
        true,
    );
    assert_eq!(e.recurrence, None);
}

#[test]
fn full_content_keeps_title_place_and_notes() {
    let e = event(
        json!({"Text": "  Termin  Huber ./. Meier ", "Ort": "LG Köln", "Notiz": "Akte 12/25\r\nmitbringen"}),
        true,
    );
    assert_eq!(e.summary, "Termin Huber ./. Meier");
    assert_eq!(e.location.as_deref(), Some("LG Köln"));
    assert_eq!(e.description.as_deref(), Some("Akte 12/25\nmitbringen"));
    assert!(!e.anonymised);
}

#[test]
fn anonymised_events_keep_times_only() {
    let fields = json!({"Text": "Huber ./. Meier", "Ort": "LG Köln", "Notiz": "Akte"});
    let full = event(fields.clone(), true);
    let anon = event(fields, false);
    assert_eq!(anon.summary, PLACEHOLDER_TITLE);
    assert_eq!(
        (anon.location.clone(), anon.description.clone()),
        (None, None)
    );
    assert!(anon.anonymised);
    assert_eq!(anon.time, full.time);
    assert_eq!(anon.id, full.id);
}

#[test]
fn private_appointments_are_anonymised_even_with_full_content() {
    let e = event(json!({"Text": "Arzt", "Ort": "Praxis", "Privat": 1}), true);
    assert_eq!(e.summary, PRIVATE_TITLE);
    assert_eq!((e.location, e.description), (None, None));
    assert!(e.anonymised && e.private);
}

#[test]
fn full_content_trap_switching_changes_the_hash_and_back() {
    let fields = json!({"Text": "Besprechung"});
    let full = event(fields.clone(), true);
    let anon = event(fields.clone(), false);
    assert_ne!(full.content_hash, anon.content_hash);
    assert_eq!(event(fields, true).content_hash, full.content_hash);
    assert_eq!(full.content_hash.len(), 64);
    assert!(full.content_hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn private_appointments_look_the_same_but_switching_still_changes_the_hash() {
    let fields = json!({"Text": "Arzt", "Privat": 1});
    let (full, anon) = (event(fields.clone(), true), event(fields, false));
    assert_eq!(
        (full.summary.as_str(), full.time.clone()),
        (anon.summary.as_str(), anon.time.clone())
    );
    assert_ne!(full.content_hash, anon.content_hash);
}

#[test]
fn timed_to_all_day_trap_keeps_the_id_and_changes_the_hash() {
    let timed = event(json!({"FrNr": 77}), true);
    let all_day = event(json!({"FrNr": 77, "Abwesenheit": 1}), true);
    assert_eq!(timed.id, all_day.id);
    assert_ne!(timed.content_hash, all_day.content_hash);
}

#[test]
fn every_rendered_field_changes_the_hash() {
    let base = event(json!({}), true);
    for changed in [
        json!({"Text": "Anders"}),
        json!({"Ort": "Raum 2"}),
        json!({"Ort": ""}),
        json!({"Notiz": "neu"}),
        json!({"UhrzeitBis": "10:15:00"}),
        json!({"Datum": "2025-06-02T09:05:00"}),
        json!({"Dauertermin": 1, "TurnusArt": 2, "DatumBis": "2025-07-01T00:00:00"}),
    ] {
        assert_ne!(
            event(changed.clone(), true).content_hash,
            base.content_hash,
            "{changed}"
        );
    }
    // The change date alone is not content.
    let touched = event(json!({"ZuletztGeaendertAm": "2025-06-01T00:00:00Z"}), true);
    assert_eq!(touched.content_hash, base.content_hash);
}

#[test]
fn special_entries_and_umlaut_codes_get_valid_ids() {
    let options = MappingOptions {
        full_content: true,
        source_tz: SourceTimeZone::default(),
    };
    let t = crate::calendar::testing::termin(json!({"FrNr": -3}));
    let e = map_termin("mü", &t, &options);
    assert_eq!(e.kuerzel, "MÜ");
    assert_eq!(e.id, EventId::for_appointment("MÜ", -3));
    assert_eq!(e.id.decode(), Some(("MÜ".to_owned(), -3)));
}
