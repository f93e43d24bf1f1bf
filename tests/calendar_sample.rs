//! The bundled Advoware snapshot, `samples/advoware_snapshot.json`: checks that it is
//! exactly what its generator (`calendar_sample/generator.rs`) makes, and that it covers
//! every kind of appointment the calendar sync must handle, with counts.
//!
//! After changing the generator, rewrite the sample with
//! `STEPLINE_WRITE_SAMPLE=1 cargo test -p stepline --test calendar_sample`.

#[path = "calendar_sample/generator.rs"]
mod generator;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use serde_json::Value;
use stepline::calendar::advoware::{Termin, parse_employees, parse_termine};

use generator::generate;

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/advoware_snapshot.json")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[test]
fn sample_file_is_what_the_generator_makes() {
    let generated = generate();
    if std::env::var_os("STEPLINE_WRITE_SAMPLE").is_some() {
        // Through a rename, so the other test never reads half a file.
        let temp = sample_path().with_extension("json.tmp");
        std::fs::write(&temp, &generated).expect("sample written");
        std::fs::rename(&temp, sample_path()).expect("sample replaced");
    }
    let stored = std::fs::read_to_string(sample_path()).expect("sample exists");
    assert!(
        stored == generated,
        "samples/advoware_snapshot.json differs from its generator; rerun with STEPLINE_WRITE_SAMPLE=1"
    );
}

/// How many records of each kind the sample holds, counted over every employee's list.
#[derive(Debug, Default, PartialEq, Eq)]
struct Coverage {
    records: usize,
    skipped: usize,
    distinct_appointments: usize,
    timed_single_day: usize,
    all_day_single_day: usize,
    multi_day_all_day: usize,
    multi_day_timed: usize,
    daily_series: usize,
    weekly_series: usize,
    monthly_series: usize,
    yearly_series: usize,
    open_series: usize,
    private: usize,
    general: usize,
    special: usize,
    on_dst_change_days: usize,
    in_the_spring_gap: usize,
    in_the_repeated_autumn_hour: usize,
    with_fractional_seconds: usize,
    without_change_date: usize,
}

fn coverage(snapshot: &Value) -> Coverage {
    let mut c = Coverage::default();
    let mut distinct = HashSet::new();
    let dst_days = [day(2026, 10, 25), day(2027, 3, 28), day(2027, 10, 31)];
    let lists = snapshot["appointments"]
        .as_object()
        .expect("appointments object");
    for records in lists.values() {
        let records = records.as_array().expect("array");
        let parsed = parse_termine(records);
        c.records += records.len();
        c.skipped += parsed.skipped;
        c.with_fractional_seconds += records
            .iter()
            .filter(|r| r["Datum"].as_str().is_some_and(|d| d.contains('.')))
            .count();
        for t in &parsed.termine {
            distinct.insert(t.frnr);
            classify(t, &dst_days, &mut c);
        }
    }
    c.distinct_appointments = distinct.len();
    c
}

fn classify(t: &Termin, dst_days: &[NaiveDate], c: &mut Coverage) {
    let (first, last) = t.span();
    let time = t.datum.time();
    match (t.is_series(), t.turnus_art) {
        (true, 1) => c.daily_series += 1,
        (true, 2) => c.weekly_series += 1,
        (true, 3) => c.monthly_series += 1,
        (true, _) => c.yearly_series += 1,
        (false, _) if first != last && t.abwesenheit => c.multi_day_all_day += 1,
        (false, _) if first != last => c.multi_day_timed += 1,
        (false, _) if t.abwesenheit => c.all_day_single_day += 1,
        (false, _) => c.timed_single_day += 1,
    }
    c.open_series += usize::from(t.is_series() && t.datum_bis.is_none());
    c.private += usize::from(t.privat);
    c.general += usize::from(t.is_general());
    c.special += usize::from(t.is_special());
    c.without_change_date += usize::from(t.zuletzt_geaendert_am.is_none());
    if !t.abwesenheit && dst_days.contains(&first) {
        c.on_dst_change_days += 1;
        let hour = chrono::Timelike::hour(&time);
        let spring = first.month() == 3;
        c.in_the_spring_gap += usize::from(spring && hour == 2);
        c.in_the_repeated_autumn_hour += usize::from(!spring && hour == 2);
    }
}

#[test]
fn sample_covers_every_kind_of_appointment() {
    let text = std::fs::read_to_string(sample_path()).expect("sample exists");
    let snapshot: Value = serde_json::from_str(&text).expect("sample is JSON");

    let employees = parse_employees(snapshot["employees"].as_array().expect("employees"));
    let codes: Vec<&str> = employees.iter().map(|e| e.kuerzel.as_str()).collect();
    assert_eq!(
        codes,
        ["SB", "AO", "MÜ", "TK", "LF", "RE", "JW"],
        "the entry without a code is skipped"
    );
    let inactive: Vec<&str> = employees
        .iter()
        .filter(|e| !e.active)
        .map(|e| e.kuerzel.as_str())
        .collect();
    assert_eq!(inactive, ["JW"]);

    let lists: BTreeMap<&str, usize> = snapshot["appointments"]
        .as_object()
        .expect("appointments")
        .iter()
        .map(|(code, list)| (code.as_str(), list.as_array().map_or(0, Vec::len)))
        .collect();
    let expected = [
        ("AO", 59),
        ("JW", 8),
        ("LF", 60),
        ("MÜ", 61),
        ("RE", 59),
        ("SB", 71),
        ("TK", 60),
    ];
    assert_eq!(lists, BTreeMap::from(expected));

    // Every category the sync must handle, with how often the sample has it.
    assert_eq!(
        coverage(&snapshot),
        Coverage {
            records: 378,
            skipped: 1,
            distinct_appointments: 317,
            timed_single_day: 239,
            all_day_single_day: 54,
            multi_day_all_day: 19,
            multi_day_timed: 10,
            daily_series: 8,
            weekly_series: 28,
            monthly_series: 16,
            yearly_series: 3,
            open_series: 16,
            private: 22,
            general: 72,
            special: 12,
            on_dst_change_days: 11,
            in_the_spring_gap: 2,
            in_the_repeated_autumn_hour: 8,
            with_fractional_seconds: 81,
            without_change_date: 29,
        }
    );
}
