use chrono::{NaiveDate, TimeZone};
use serde_json::json;

use super::*;
use crate::calendar::advoware::CALENDAR_TZ;
use crate::calendar::mapping::{Frequency, Recurrence};

fn event(time: EventTime) -> CalendarEvent {
    let mut event = CalendarEvent {
        id: EventId::for_appointment("SB", 1001),
        kuerzel: "SB".into(),
        frnr: 1001,
        time,
        recurrence: None,
        summary: "Termin".into(),
        location: None,
        description: None,
        private: false,
        anonymised: true,
        full_content: false,
        content_hash: String::new(),
    };
    event.content_hash = event.compute_content_hash();
    event
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn timed_patch_clears_date_and_insert_carries_the_id_without_nulls() {
    let start = CALENDAR_TZ.with_ymd_and_hms(2025, 3, 31, 13, 0, 0).unwrap();
    let event = event(EventTime::Timed {
        start,
        end: start + chrono::TimeDelta::hours(1),
    });

    let patch = event_body(&event, "Europe/Berlin", false);
    assert_eq!(
        patch["start"],
        json!({"dateTime": "2025-03-31T13:00:00+02:00", "timeZone": "Europe/Berlin", "date": null})
    );
    assert_eq!(patch["end"]["dateTime"], "2025-03-31T14:00:00+02:00");
    assert_eq!(patch["location"], Value::Null);
    assert!(patch.get("id").is_none());
    assert_eq!(
        patch["extendedProperties"]["private"],
        json!({"stepline_kuerzel": "SB", "advoware_frnr": "1001", "stepline_hash": event.content_hash})
    );

    let insert = event_body(&event, "Europe/Berlin", true);
    assert_eq!(insert["id"], "ad13kc9g60og");
    assert_eq!(
        insert["start"],
        json!({"dateTime": "2025-03-31T13:00:00+02:00", "timeZone": "Europe/Berlin"})
    );
    assert!(insert.get("location").is_none() && insert.get("recurrence").is_none());
}

#[test]
fn all_day_clears_date_time_and_a_series_carries_its_zone() {
    let mut event = event(EventTime::AllDay {
        start: day("2025-07-21"),
        end: day("2025-07-24"),
    });
    let single = event_body(&event, "Europe/Berlin", false);
    assert_eq!(
        single["start"],
        json!({"date": "2025-07-21", "dateTime": null, "timeZone": null})
    );
    assert_eq!(single["end"]["date"], "2025-07-24");

    event.recurrence = Some(Recurrence {
        frequency: Frequency::Weekly,
        interval: 2,
        until: day("2025-12-31"),
    });
    let series = event_body(&event, "Europe/Berlin", false);
    assert_eq!(series["start"]["timeZone"], "Europe/Berlin");
    assert_eq!(
        series["recurrence"],
        json!(["RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=20251231"])
    );
}

#[test]
fn listing_reads_days_series_end_and_only_trusts_a_matching_link() {
    let id = EventId::for_appointment("SB", 1001);
    let link = json!({"stepline_kuerzel": "SB", "advoware_frnr": "1001", "stepline_hash": "h1"});
    let item = json!({
        "id": id.as_str(), "etag": "\"7\"", "status": "confirmed",
        "start": {"date": "2025-07-21"}, "end": {"date": "2025-07-24"},
        "recurrence": ["RRULE:FREQ=YEARLY;INTERVAL=1;UNTIL=20300720"],
        "extendedProperties": {"private": link},
    });
    let ListEntry::Present(listed) = Listed::from_json(&item, "sb") else {
        panic!("present")
    };
    assert_eq!(
        listed,
        Listed {
            id: id.to_string(),
            hash: Some("h1".into()),
            first_day: day("2025-07-21"),
            last_day: day("2030-07-20"),
            managed: true,
            etag: Some("\"7\"".into()),
        }
    );

    // The same link under another id, or for another employee, is not the sync's.
    let mut copy = item.clone();
    copy["id"] = json!("abcdef12345");
    let ListEntry::Present(copy) = Listed::from_json(&copy, "SB") else {
        panic!("present")
    };
    assert!(!copy.managed && copy.hash.is_none());
    let ListEntry::Present(other) = Listed::from_json(&item, "MÜ") else {
        panic!("present")
    };
    assert!(!other.managed);

    let timed = json!({"id": "x1234", "start": {"dateTime": "2025-10-26T02:30:00+02:00"},
                       "end": {"dateTime": "2025-10-26T03:30:00+01:00"}});
    let ListEntry::Present(timed) = Listed::from_json(&timed, "SB") else {
        panic!("present")
    };
    assert_eq!(
        (timed.first_day, timed.last_day, timed.managed),
        (day("2025-10-26"), day("2025-10-26"), false)
    );

    assert_eq!(
        Listed::from_json(&json!({"id": "gone1", "status": "cancelled"}), "SB"),
        ListEntry::Cancelled("gone1".into())
    );
}
