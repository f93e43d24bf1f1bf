use chrono::{NaiveDate, NaiveTime};
use serde_json::json;

use super::*;
use crate::calendar::testing::{day, termin};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    day(y, m, d).and_hms_opt(h, min, 0).expect("valid time")
}

#[test]
fn dst_trap_offsets_follow_the_date() {
    let berlin = SourceTimeZone::default();
    let before = berlin.to_calendar_time(local(2025, 3, 28, 13, 0));
    let after = berlin.to_calendar_time(local(2025, 3, 31, 13, 0));
    assert_eq!(before.to_rfc3339(), "2025-03-28T13:00:00+01:00");
    assert_eq!(after.to_rfc3339(), "2025-03-31T13:00:00+02:00");
}

#[test]
fn dst_trap_nonexistent_time_moves_forward_by_the_gap() {
    let zoned = SourceTimeZone::default().to_calendar_time(local(2025, 3, 30, 2, 30));
    assert_eq!(zoned.to_rfc3339(), "2025-03-30T03:30:00+02:00");
}

#[test]
fn dst_trap_ambiguous_time_takes_the_first_offset() {
    let zoned = SourceTimeZone::default().to_calendar_time(local(2025, 10, 26, 2, 30));
    assert_eq!(zoned.to_rfc3339(), "2025-10-26T02:30:00+02:00");
}

#[test]
fn a_utc_source_is_converted_to_berlin() {
    let utc = SourceTimeZone::from_name("UTC").expect("UTC is a zone");
    let zoned = utc.to_calendar_time(local(2025, 7, 21, 7, 0));
    assert_eq!(zoned.to_rfc3339(), "2025-07-21T09:00:00+02:00");
    assert!(SourceTimeZone::from_name("Europe/Bonn").is_err());
}

#[test]
fn date_times_with_and_without_fraction_suffix_or_time() {
    let nine = Some(local(2025, 7, 21, 9, 0));
    assert_eq!(parse_date_time("2025-07-21T09:00:00"), Ok(nine));
    assert_eq!(parse_date_time("2025-07-21T09:00:00.1234567"), Ok(nine));
    assert_eq!(parse_date_time("2025-07-21T09:00:00.000Z"), Ok(nine));
    assert_eq!(parse_date_time("2025-07-21T09:00:00+01:00"), Ok(nine));
    assert_eq!(parse_date_time("2025-07-21T09:00"), Ok(nine));
    assert_eq!(
        parse_date_time("2025-07-21"),
        Ok(Some(local(2025, 7, 21, 0, 0)))
    );
    assert_eq!(parse_date_time("0001-01-01T00:00:00Z"), Ok(None));
    assert_eq!(parse_date_time("0001-01-01T00:00:00"), Ok(None));
    assert_eq!(parse_date_time(""), Ok(None));
    assert_eq!(parse_date_time("21.07.2025"), Err(InvalidDateTime));
}

#[test]
fn a_full_record_reads_every_field() {
    let t = termin(json!({
        "FrNr": -12, "Text": "Dienstreise", "Anwalt": " ALLE ", "Sb": "",
        "Datum": "2025-07-21T08:15:00.000", "DatumBis": "0001-01-01T00:00:00Z",
        "UhrzeitBis": "17:45:00", "Abwesenheit": true, "Privat": "1",
        "Dauertermin": 1, "Turnus": 2, "TurnusArt": 2,
        "ZuletztGeaendertAm": "2025-07-01T10:11:12.5Z"
    }));
    assert_eq!(t.frnr, -12);
    assert_eq!(t.anwalt, "ALLE");
    assert_eq!(t.datum, local(2025, 7, 21, 8, 15));
    assert_eq!(t.datum_bis, None);
    assert_eq!(t.uhrzeit_bis, NaiveTime::from_hms_opt(17, 45, 0));
    assert!(t.abwesenheit && t.privat && t.dauertermin);
    assert_eq!((t.turnus, t.turnus_art), (2, 2));
    assert_eq!(
        t.zuletzt_geaendert_am.map(|z| z.to_rfc3339()),
        Some("2025-07-01T10:11:12+00:00".to_owned())
    );
    assert!(t.is_general() && t.is_special() && t.is_series());
    assert_eq!(t.series_end(), day(2037, 12, 31));
}

#[test]
fn general_codes_are_empty_alle_or_allgemein() {
    assert!(is_general_code(""));
    assert!(is_general_code("ALLE"));
    assert!(is_general_code("Allgemein"));
    assert!(!is_general_code("SB"));
    assert!(!termin(json!({"Anwalt": "ALLE", "Sb": "SB"})).is_general());
}

#[test]
fn malformed_records_are_skipped_and_errors_never_carry_values() {
    let records = [
        json!({"FrNr": 1, "Datum": "2025-07-21T09:00:00"}),
        json!({"FrNr": 2, "Datum": "Mandant Huber vertraulich", "Text": "Geheim"}),
        json!({"Text": "ohne Nummer", "Datum": "2025-07-21T09:00:00"}),
        json!({"FrNr": 4, "Datum": "2025-07-21T09:00:00", "Privat": 7}),
        json!("kein Objekt"),
    ];
    let parsed = parse_termine(&records);
    assert_eq!(parsed.termine.len(), 1);
    assert_eq!(parsed.skipped, 4);

    let error = Termin::try_from(&records[1]).expect_err("Datum is not a date");
    assert_eq!(error.to_string(), "field Datum is not an ISO date-time");
    let error = Termin::try_from(&records[2]).expect_err("FrNr is missing");
    assert_eq!(error.to_string(), "field FrNr is missing");

    // Through serde too: the error is the field's, never the value.
    let error = serde_json::from_value::<Termin>(records[1].clone()).expect_err("bad Datum");
    assert_eq!(error.to_string(), "field Datum is not an ISO date-time");
    let ok = serde_json::from_value::<Vec<Termin>>(json!([records[0]])).expect("valid");
    assert_eq!(ok[0].frnr, 1);
}

#[test]
fn debug_output_leaves_out_the_content() {
    let t = termin(json!({"Text": "Scheidung Müller", "Ort": "Kanzlei", "Notiz": "Az 1/25"}));
    let shown = format!("{t:?}");
    assert!(shown.contains("frnr: 1"));
    for secret in ["Scheidung", "Kanzlei", "Az 1/25"] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
}

#[test]
fn span_covers_multi_day_entries_and_whole_series() {
    let multi_day =
        termin(json!({"Datum": "2025-07-21T00:00:00", "DatumBis": "2025-07-23T23:59:00"}));
    assert_eq!(multi_day.span(), (day(2025, 7, 21), day(2025, 7, 23)));

    let series = termin(json!({
        "Datum": "2024-01-08T09:00:00", "DatumBis": "2026-06-30T00:00:00",
        "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2
    }));
    assert_eq!(series.span(), (day(2024, 1, 8), day(2026, 6, 30)));
    assert!(series.overlaps(day(2025, 11, 4), day(2026, 12, 4)));
    assert!(!series.overlaps(day(2026, 7, 1), day(2026, 12, 4)));

    // A Dauertermin without a known TurnusArt is its first occurrence only.
    let odd = termin(json!({"Dauertermin": 1, "TurnusArt": 9, "DatumBis": "2030-01-01T00:00:00"}));
    assert_eq!(odd.span(), (day(2025, 6, 2), day(2025, 6, 2)));
}

#[test]
fn employees_read_the_unverified_shape_and_skip_empty_codes() {
    let records = [
        json!({"Kuerzel": "SB", "Vorname": "Sabine", "Name": "Brenner", "Aktiv": true}),
        json!({"Kuerzel": " MÜ ", "Vorname": "Moritz", "Name": "Übelacker", "Aktiv": 0}),
        json!({"Kuerzel": "TK", "Name": "Kranich"}),
        json!({"Kuerzel": "", "Name": "Empfang"}),
    ];
    let employees = parse_employees(&records);
    let summary: Vec<(&str, &str, bool)> = employees
        .iter()
        .map(|e| (e.kuerzel.as_str(), e.name.as_str(), e.active))
        .collect();
    assert_eq!(
        summary,
        [
            ("SB", "Sabine Brenner", true),
            ("MÜ", "Moritz Übelacker", false),
            ("TK", "Kranich", true),
        ]
    );
    assert_eq!(normalise_kuerzel(" mü "), "MÜ");
    assert_eq!(
        open_series_end(),
        NaiveDate::from_ymd_opt(2037, 12, 31).expect("date")
    );
}
