//! The Calendar API's event JSON: what the sync writes ([`event_body`]) and what it reads
//! back from a listing ([`Listed::from_json`]).
//!
//! The link back to Advoware lives in `extendedProperties.private`: the employee code, the
//! appointment number and the content hash, never content. An event counts as the sync's
//! own ([`Listed::managed`]) only when that link names this employee and the event's id is
//! the one the link gives, so copies and foreign events are never touched.
//!
//! `start` and `end` are always written with both `date` and `dateTime` keys, the unused
//! one `null`: a patch that turns a timed event into an all-day one (or back) then clears
//! the other field instead of leaving both, which Google refuses with a 400.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::calendar::advoware::normalise_kuerzel;
use crate::calendar::id::EventId;
use crate::calendar::mapping::{CalendarEvent, EventTime};
use crate::calendar::plan::TargetEvent;

/// `extendedProperties.private` key: the employee code.
pub const PROP_KUERZEL: &str = "stepline_kuerzel";
/// `extendedProperties.private` key: the Advoware appointment number.
pub const PROP_FRNR: &str = "advoware_frnr";
/// `extendedProperties.private` key: the content hash.
pub const PROP_HASH: &str = "stepline_hash";

/// The body that writes `event`: for `events.insert` (with the id, no `null`s) or for
/// `events.patch` (every field present, cleared ones `null`). All-day events of a series
/// carry `time_zone`, since Google wants a zone on every recurring event.
pub fn event_body(event: &CalendarEvent, time_zone: &str, for_insert: bool) -> Value {
    let recurring = event.recurrence.is_some();
    let (start, end) = match &event.time {
        EventTime::Timed { start, end } => (
            json!({"dateTime": start.to_rfc3339(), "timeZone": start.timezone().name(), "date": null}),
            json!({"dateTime": end.to_rfc3339(), "timeZone": end.timezone().name(), "date": null}),
        ),
        EventTime::AllDay { start, end } => {
            let zone = if recurring {
                json!(time_zone)
            } else {
                Value::Null
            };
            (
                json!({"date": start.to_string(), "dateTime": null, "timeZone": zone}),
                json!({"date": end.to_string(), "dateTime": null, "timeZone": zone}),
            )
        }
    };
    let mut body = json!({
        "summary": event.summary,
        "location": event.location,
        "description": event.description,
        "start": start,
        "end": end,
        "recurrence": event.rrule().map(|rule| vec![format!("RRULE:{rule}")]),
        "status": "confirmed",
        "visibility": if event.private { json!("private") } else { Value::Null },
        "extendedProperties": {"private": {
            PROP_KUERZEL: event.kuerzel,
            PROP_FRNR: event.frnr.to_string(),
            PROP_HASH: event.content_hash,
        }},
    });
    if for_insert {
        body["id"] = json!(event.id.as_str());
        strip_nulls(&mut body);
    }
    body
}

fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

/// An event as the sync remembers it from a listing: what planning needs, and the etag
/// for `If-Match`. Kept in state between runs for incremental listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The event id.
    pub id: String,
    /// The content hash of the link, when the event is the sync's own.
    pub hash: Option<String>,
    /// The first day.
    pub first_day: NaiveDate,
    /// The last day of the event or its series.
    pub last_day: NaiveDate,
    /// Whether the event carries this employee's link under its own id.
    pub managed: bool,
    /// The version the listing saw.
    pub etag: Option<String>,
}

/// What one entry of a listing means.
#[derive(Debug, PartialEq, Eq)]
pub enum ListEntry {
    /// An event that exists.
    Present(Listed),
    /// A cancelled (deleted) event: in an incremental listing it may carry only an id.
    Cancelled(String),
    /// An entry without id or times, ignored.
    Unreadable,
}

impl Listed {
    /// Reads one item of `events.list` for `kuerzel`'s calendar.
    pub fn from_json(item: &Value, kuerzel: &str) -> ListEntry {
        let Some(id) = item["id"].as_str() else {
            return ListEntry::Unreadable;
        };
        if item["status"] == "cancelled" {
            return ListEntry::Cancelled(id.to_owned());
        }
        let (Some(first_day), Some(end_day)) =
            (day(&item["start"], false), day(&item["end"], true))
        else {
            return ListEntry::Unreadable;
        };
        let last_day = match series_until(&item["recurrence"]) {
            Some(until) => until.max(end_day),
            None => end_day,
        };
        let link = &item["extendedProperties"]["private"];
        let managed = link_matches(id, link, kuerzel);
        ListEntry::Present(Self {
            id: id.to_owned(),
            hash: managed
                .then(|| link[PROP_HASH].as_str().map(str::to_owned))
                .flatten(),
            first_day,
            last_day: last_day.max(first_day),
            managed,
            etag: item["etag"].as_str().map(str::to_owned),
        })
    }

    /// The planner's view of the event.
    pub fn target_event(&self) -> TargetEvent {
        TargetEvent {
            id: self.id.clone(),
            content_hash: self.hash.clone(),
            first_day: self.first_day,
            last_day: self.last_day,
            managed: self.managed,
        }
    }
}

/// Whether the private properties link event `id` to an appointment of `kuerzel` whose
/// deterministic id is `id`.
pub fn link_matches(id: &str, link: &Value, kuerzel: &str) -> bool {
    let code = link[PROP_KUERZEL].as_str().map(normalise_kuerzel);
    let frnr = link[PROP_FRNR].as_str().and_then(|n| n.parse::<i64>().ok());
    match (code, frnr) {
        (Some(code), Some(frnr)) => {
            code == normalise_kuerzel(kuerzel)
                && EventId::for_appointment(&code, frnr).as_str() == id
                && link[PROP_HASH].is_string()
        }
        _ => false,
    }
}

/// The day of a `start` or `end`; an exclusive all-day `end` gives the day before.
fn day(time: &Value, is_end: bool) -> Option<NaiveDate> {
    if let Some(date) = time["date"].as_str() {
        let date: NaiveDate = date.parse().ok()?;
        return Some(if is_end {
            date.pred_opt().unwrap_or(date)
        } else {
            date
        });
    }
    let at = DateTime::parse_from_rfc3339(time["dateTime"].as_str()?).ok()?;
    Some(at.date_naive())
}

/// The last day of a series from its `RRULE`: the `UNTIL` day, or the end of time when the
/// rule has none. `None` when the event does not repeat.
fn series_until(recurrence: &Value) -> Option<NaiveDate> {
    let rule = recurrence
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|line| line.strip_prefix("RRULE:"))?;
    let until = rule.split(';').find_map(|part| part.strip_prefix("UNTIL="));
    Some(match until {
        Some(value) => NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()?,
        None => NaiveDate::MAX,
    })
}

/// The items of one listing page.
pub fn page_items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests;
