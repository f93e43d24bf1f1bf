//! Rendering calendars and events as RFC 5545 text: CRLF line endings, lines folded at 75
//! octets (never inside a UTF-8 character), text values escaped, and a `VTIMEZONE` for
//! Europe/Berlin so that clients need no time zone database of their own.
//!
//! Timed events are written in local Berlin time with `TZID`, so a weekly series stays at
//! 09:00 across daylight saving changes; all-day events as `VALUE=DATE` with an exclusive
//! end.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{UID_SUFFIX, X_EMPLOYEE, X_FRNR, X_HASH};
use crate::calendar::advoware::CALENDAR_TZ;
use crate::calendar::mapping::{CalendarEvent, EventTime};

/// The product identifier written into every calendar.
pub const PRODID: &str = "-//Stepline//Advoware Calendar Sync//DE";

/// The longest physical line, in octets, without its CRLF.
const FOLD_AT: usize = 75;

/// Europe/Berlin since 1996: CEST from the last Sunday of March 02:00, CET from the last
/// Sunday of October 03:00.
const VTIMEZONE_BERLIN: [&str; 17] = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

/// Renders a whole calendar for `kuerzel` around `components`, which are complete,
/// already folded blocks (`BEGIN:...` to `END:...` with CRLF), in the order given.
pub fn render_calendar(kuerzel: &str, components: &[String]) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!(
            "X-WR-CALNAME:{}",
            escape_text(&format!("Advoware {kuerzel}"))
        ),
        format!("X-WR-TIMEZONE:{}", CALENDAR_TZ.name()),
    ] {
        push_line(&mut out, &line);
    }
    for line in VTIMEZONE_BERLIN {
        push_line(&mut out, line);
    }
    for component in components {
        out.push_str(component);
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// Renders one event as a folded `VEVENT` block; `dtstamp` is when it is written.
pub fn render_event(event: &CalendarEvent, dtstamp: DateTime<Utc>) -> String {
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}{UID_SUFFIX}", event.id),
        format!("DTSTAMP:{}", dtstamp.format("%Y%m%dT%H%M%SZ")),
    ];
    match &event.time {
        EventTime::AllDay { start, end } => {
            lines.push(format!("DTSTART;VALUE=DATE:{}", start.format("%Y%m%d")));
            lines.push(format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")));
        }
        EventTime::Timed { start, end } => {
            lines.push(format!("DTSTART{}", date_time(*start)));
            // RFC 5545 wants DTEND after DTSTART; an event without duration has none.
            if end > start {
                lines.push(format!("DTEND{}", date_time(*end)));
            }
        }
    }
    if let Some(rrule) = event.rrule() {
        lines.push(format!("RRULE:{rrule}"));
    }

    lines.push(format!("SUMMARY:{}", escape_text(&event.summary)));
    if let Some(location) = &event.location {
        lines.push(format!("LOCATION:{}", escape_text(location)));
    }
    if let Some(description) = &event.description {
        lines.push(format!("DESCRIPTION:{}", escape_text(description)));
    }
    if event.private {
        lines.push("CLASS:PRIVATE".to_owned());
    }

    lines.push(format!("{X_EMPLOYEE}:{}", escape_text(&event.kuerzel)));
    lines.push(format!("{X_FRNR}:{}", event.frnr));
    lines.push(format!("{X_HASH}:{}", event.content_hash));
    lines.push("END:VEVENT".to_owned());

    let mut out = String::new();
    for line in &lines {
        push_line(&mut out, line);
    }
    out
}

/// `;TZID=Europe/Berlin:YYYYMMDDTHHMMSS`, or `:YYYYMMDDTHHMMSSZ` for the one case local
/// time cannot express: the second pass through the hour repeated when clocks go back
/// (RFC 5545 reads a repeated local time as its first occurrence).
fn date_time(t: DateTime<Tz>) -> String {
    let local = t.naive_local();
    if t.timezone().from_local_datetime(&local).earliest() == Some(t) {
        format!(
            ";TZID={}:{}",
            t.timezone().name(),
            local.format("%Y%m%dT%H%M%S")
        )
    } else {
        format!(":{}", t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ"))
    }
}

/// Escapes a TEXT value: backslash, semicolon and comma get a backslash, line breaks
/// become `\n`, and other control characters (forbidden in values) are dropped.
pub fn escape_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded to at most 75 octets per physical line, each ending in CRLF.
///
/// A fold never splits a UTF-8 character, and never leaves a space or tab as the last
/// character of a physical line: some readers trim line ends before unfolding.
pub fn push_line(out: &mut String, line: &str) {
    let mut used = 0;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        let width = ch.len_utf8();
        let next_width = chars.peek().map_or(0, |c| c.len_utf8());
        let last_on_line = next_width > 0 && used + width + next_width > FOLD_AT;
        let trailing_blank = (ch == ' ' || ch == '\t') && last_on_line && used > 1;
        if used + width > FOLD_AT || trailing_blank {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(ch);
        used += width;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::calendar::testing::event;

    fn physical_lines(text: &str) -> Vec<&str> {
        text.strip_suffix("\r\n")
            .unwrap_or(text)
            .split("\r\n")
            .collect()
    }

    #[test]
    fn short_lines_are_not_folded() {
        let mut out = String::new();
        push_line(&mut out, "SUMMARY:Besprechung");
        assert_eq!(out, "SUMMARY:Besprechung\r\n");
    }

    #[test]
    fn long_lines_fold_at_75_octets_and_unfold_to_the_original() {
        let line = format!("DESCRIPTION:{}", "x".repeat(200));
        let mut out = String::new();
        push_line(&mut out, &line);

        let lines = physical_lines(&out);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 75);
        assert_eq!(lines[1].len(), 75);
        assert!(lines[1].starts_with(' '));
        assert_eq!(out.replace("\r\n ", "").trim_end(), line);
    }

    #[test]
    fn folding_never_splits_a_multibyte_character() {
        // 'Ü' is two octets; after 74 ASCII octets it would straddle octet 75.
        let line = format!("SUMMARY:{}ÜÜ", "a".repeat(66));
        let mut out = String::new();
        push_line(&mut out, &line);

        let lines = physical_lines(&out);
        assert_eq!(lines[0].len(), 74);
        assert_eq!(lines[1], " ÜÜ");
        assert!(lines.iter().all(|l| l.len() <= FOLD_AT));
    }

    #[test]
    fn folding_never_ends_a_physical_line_with_a_space() {
        let line = format!("SUMMARY:{} word", "a".repeat(66));
        let mut out = String::new();
        push_line(&mut out, &line);

        let lines = physical_lines(&out);
        assert_eq!(lines[0], format!("SUMMARY:{}", "a".repeat(66)));
        assert_eq!(lines[1], "  word");
        assert_eq!(out.replace("\r\n ", "").trim_end(), line);
    }

    fn unfolded_lines(text: &str) -> Vec<String> {
        physical_lines(&text.replace("\r\n ", ""))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn stamp() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn all_day_events_use_dates_with_an_exclusive_end() {
        let e = event(
            json!({"FrNr": 1001, "Text": "Urlaub", "Ort": "", "Datum": "2025-07-21T00:00:00",
                   "DatumBis": "2025-07-23T23:59:00", "Abwesenheit": 1}),
            true,
        );
        assert_eq!(
            unfolded_lines(&render_event(&e, stamp())),
            [
                "BEGIN:VEVENT".to_owned(),
                format!("UID:{}@stepline", e.id),
                "DTSTAMP:20261204T120000Z".to_owned(),
                "DTSTART;VALUE=DATE:20250721".to_owned(),
                "DTEND;VALUE=DATE:20250724".to_owned(),
                "SUMMARY:Urlaub".to_owned(),
                "X-STEPLINE-EMPLOYEE:SB".to_owned(),
                "X-STEPLINE-FRNR:1001".to_owned(),
                format!("X-STEPLINE-HASH:{}", e.content_hash),
                "END:VEVENT".to_owned(),
            ]
        );
    }

    #[test]
    fn timed_series_use_berlin_local_time_and_a_utc_until() {
        let e = event(
            json!({"FrNr": -4, "Text": "Jour fixe; Team", "Notiz": "a\nb", "Privat": 0,
                   "Datum": "2025-03-30T02:30:00", "DatumBis": "2025-12-31T00:00:00",
                   "UhrzeitBis": "04:00:00", "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
            true,
        );
        let lines = unfolded_lines(&render_event(&e, stamp()));
        assert_eq!(
            lines[3..9],
            [
                "DTSTART;TZID=Europe/Berlin:20250330T033000",
                "DTEND;TZID=Europe/Berlin:20250330T040000",
                "RRULE:FREQ=WEEKLY;INTERVAL=1;UNTIL=20251231T225959Z",
                "SUMMARY:Jour fixe\\; Team",
                "LOCATION:Raum 1",
                "DESCRIPTION:a\\nb",
            ]
        );
        assert_eq!(lines[10], "X-STEPLINE-FRNR:-4");
    }

    #[test]
    fn private_events_are_classified_and_the_second_repeated_hour_is_utc() {
        let e = event(
            json!({"Privat": 1, "Datum": "2025-10-26T01:30:00",
                             "DatumBis": "2025-10-26T00:00:00", "UhrzeitBis": "04:00:00"}),
            true,
        );
        let lines = unfolded_lines(&render_event(&e, stamp()));
        assert!(lines.contains(&"CLASS:PRIVATE".to_owned()));
        assert!(lines.contains(&"SUMMARY:Privat".to_owned()));
        assert!(lines.contains(&"DTSTART;TZID=Europe/Berlin:20251026T013000".to_owned()));
        assert!(lines.contains(&"DTEND;TZID=Europe/Berlin:20251026T040000".to_owned()));

        // 02:30 +01:00 is the second pass through 02:30: only UTC can say which one.
        let second = CALENDAR_TZ
            .with_ymd_and_hms(2025, 10, 26, 1, 30, 0)
            .single()
            .expect("valid")
            + chrono::TimeDelta::hours(2);
        assert_eq!(date_time(second), ":20251026T013000Z");
    }

    #[test]
    fn text_escaping_covers_the_rfc_specials() {
        assert_eq!(
            escape_text("Az. 12/26; Müller, Schmidt\\Partner\r\nZeile 2\u{7}"),
            "Az. 12/26\\; Müller\\, Schmidt\\\\Partner\\nZeile 2"
        );
    }
}
