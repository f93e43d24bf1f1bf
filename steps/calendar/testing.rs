//! Builders shared by the calendar unit tests.

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::advoware::{CALENDAR_TZ, SourceTimeZone, Termin};
use super::mapping::{CalendarEvent, MappingOptions, map_termin};

/// A Termin from Advoware JSON; fields not given get the values of a plain timed
/// appointment.
pub fn termin(fields: Value) -> Termin {
    let mut record = json!({
        "FrNr": 1, "Text": "Besprechung", "Anwalt": "SB", "Sb": "SB",
        "Datum": "2025-06-02T09:00:00", "DatumBis": "2025-06-02T00:00:00",
        "UhrzeitBis": "10:00:00", "Abwesenheit": 0, "Ort": "Raum 1", "Notiz": "",
        "Privat": 0, "Dauertermin": 0, "Turnus": 0, "TurnusArt": 0,
        "ZuletztGeaendertAm": "2025-05-01T08:00:00Z"
    });
    if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object()) {
        for (key, value) in fields {
            record.insert(key.clone(), value.clone());
        }
    }
    Termin::try_from(&record).expect("test record is valid")
}

/// The event for `fields` in SB's calendar.
pub fn event(fields: Value, full_content: bool) -> CalendarEvent {
    let options = MappingOptions {
        full_content,
        source_tz: SourceTimeZone::default(),
    };
    map_termin("SB", &termin(fields), &options)
}

/// A Berlin time.
pub fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Tz> {
    CALENDAR_TZ
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .expect("test time exists")
}

/// A date.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date exists")
}
