//! From an Advoware [`Termin`] to a target-neutral [`CalendarEvent`]: times in the
//! calendar zone, the all-day and series rules, anonymisation, the deterministic id and
//! the content hash. Pure functions; the sync calls [`map_termin`] for every appointment,
//! and each target (ICS files, Google) renders the event in its own format.
//!
//! The rules, all from `DOMAIN.md`:
//!
//! - Timed: start is `Datum`; end is the date of `DatumBis` plus `UhrzeitBis` (for a
//!   series, the date of `Datum` plus `UhrzeitBis`, since `DatumBis` is the series end).
//!   Both are converted by [`SourceTimeZone::to_calendar_time`], which owns the daylight
//!   saving rules. A missing or earlier end gives an event without duration.
//! - All-day (`Abwesenheit`): Advoware stores the last day at 23:59; calendars want the day
//!   after the last day, so the end date is exclusive.
//! - Series (`Dauertermin` with `TurnusArt` 1 to 4): frequency daily, weekly, monthly or
//!   yearly, interval `Turnus` (at least 1), until the date of `DatumBis` (2037-12-31 when
//!   open). Advoware's handling of a monthly series on the 31st is unverified; calendars
//!   skip the months without that day.
//! - Anonymised (`full_content: false`, or `Privat`): a placeholder title and times only.
//! - The content hash covers every rendered field, the anonymisation flag and the
//!   `full_content` setting, so switching `full_content` rewrites every event.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::advoware::{CALENDAR_TZ, SourceTimeZone, Termin};
use super::id::EventId;

/// The title of an anonymised appointment.
pub const PLACEHOLDER_TITLE: &str = "Termin";
/// The title of a private appointment, which is always anonymised.
pub const PRIVATE_TITLE: &str = "Privat";

/// When an event takes place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTime {
    /// Whole days; `end` is exclusive (the day after the last day).
    AllDay {
        /// The first day.
        start: NaiveDate,
        /// The day after the last day.
        end: NaiveDate,
    },
    /// A span of time in [`CALENDAR_TZ`].
    Timed {
        /// The start.
        start: DateTime<Tz>,
        /// The end, never before the start.
        end: DateTime<Tz>,
    },
}

impl EventTime {
    /// The calendar day the event starts on.
    pub fn start_date(&self) -> NaiveDate {
        match self {
            Self::AllDay { start, .. } => *start,
            Self::Timed { start, .. } => start.date_naive(),
        }
    }

    /// The last calendar day the event (one occurrence) touches.
    pub fn last_date(&self) -> NaiveDate {
        match self {
            Self::AllDay { start, end } => end.pred_opt().unwrap_or(*end).max(*start),
            Self::Timed { end, .. } => end.date_naive(),
        }
    }
}

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// `TurnusArt` 1.
    Daily,
    /// `TurnusArt` 2.
    Weekly,
    /// `TurnusArt` 3.
    Monthly,
    /// `TurnusArt` 4.
    Yearly,
}

impl Frequency {
    /// The frequency for an Advoware `TurnusArt`, if it is one.
    pub fn from_turnus_art(turnus_art: u8) -> Option<Self> {
        match turnus_art {
            1 => Some(Self::Daily),
            2 => Some(Self::Weekly),
            3 => Some(Self::Monthly),
            4 => Some(Self::Yearly),
            _ => None,
        }
    }

    /// The RFC 5545 `FREQ` value.
    pub fn as_rrule(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

/// A series: every `interval` days/weeks/months/years, up to and including `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    /// How often.
    pub frequency: Frequency,
    /// Every how many periods; at least 1.
    pub interval: u32,
    /// The last day an occurrence may start on.
    pub until: NaiveDate,
}

/// A calendar event, independent of the target that stores it.
///
/// `Debug` leaves out the title, place and notes: they are client data.
#[derive(Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// The deterministic id, from the employee code and `FrNr`.
    pub id: EventId,
    /// The employee whose calendar holds the event (normalised code).
    pub kuerzel: String,
    /// The Advoware appointment number.
    pub frnr: i64,
    /// When.
    pub time: EventTime,
    /// The series rule, if the appointment repeats.
    pub recurrence: Option<Recurrence>,
    /// The title: the appointment text, or a placeholder when anonymised.
    pub summary: String,
    /// The place; never set when anonymised.
    pub location: Option<String>,
    /// The notes; never set when anonymised.
    pub description: Option<String>,
    /// Whether the appointment is marked private in Advoware.
    pub private: bool,
    /// Whether the content was replaced by a placeholder.
    pub anonymised: bool,
    /// The `full_content` setting the event was mapped with. Part of the hash, so that
    /// switching the setting rewrites every event, private ones included.
    pub full_content: bool,
    /// SHA-256 (hex) of the canonical form of every field above.
    pub content_hash: String,
}

impl std::fmt::Debug for CalendarEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarEvent")
            .field("id", &self.id)
            .field("frnr", &self.frnr)
            .field("time", &self.time)
            .field("recurrence", &self.recurrence)
            .field("anonymised", &self.anonymised)
            .field("content_hash", &self.content_hash)
            .finish_non_exhaustive()
    }
}

/// What the mapping needs besides the appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingOptions {
    /// Write titles, places and notes (`true`) or placeholders (`false`).
    pub full_content: bool,
    /// The zone Advoware's wall-clock times are in.
    pub source_tz: SourceTimeZone,
}

/// Maps one appointment of `kuerzel`'s calendar to its event.
pub fn map_termin(kuerzel: &str, termin: &Termin, options: &MappingOptions) -> CalendarEvent {
    let time = event_time(termin, options.source_tz);
    let recurrence = recurrence(termin).filter(|r| r.until >= time.start_date());

    let anonymised = !options.full_content || termin.privat;
    let summary = match (anonymised, termin.privat) {
        (true, true) => PRIVATE_TITLE.to_owned(),
        (true, false) => PLACEHOLDER_TITLE.to_owned(),
        (false, _) => {
            non_empty(&one_line(&termin.text)).unwrap_or_else(|| PLACEHOLDER_TITLE.to_owned())
        }
    };
    let (location, description) = if anonymised {
        (None, None)
    } else {
        (non_empty(&one_line(&termin.ort)), non_empty(&termin.notiz))
    };

    let mut event = CalendarEvent {
        id: EventId::for_appointment(kuerzel, termin.frnr),
        kuerzel: super::advoware::normalise_kuerzel(kuerzel),
        frnr: termin.frnr,
        time,
        recurrence,
        summary,
        location,
        description,
        private: termin.privat,
        anonymised,
        full_content: options.full_content,
        content_hash: String::new(),
    };
    event.content_hash = event.compute_content_hash();
    event
}

fn event_time(termin: &Termin, source_tz: SourceTimeZone) -> EventTime {
    let start_day = termin.datum.date();
    // For a series, DatumBis is the day the series ends, not the end of this occurrence.
    let last_day = match termin.datum_bis {
        Some(bis) if !termin.dauertermin => bis.date().max(start_day),
        _ => start_day,
    };

    if termin.abwesenheit {
        let end = last_day.succ_opt().unwrap_or(last_day);
        return EventTime::AllDay {
            start: start_day,
            end,
        };
    }

    let start = source_tz.to_calendar_time(termin.datum);
    let end = termin
        .uhrzeit_bis
        .map(|t| source_tz.to_calendar_time(last_day.and_time(t)))
        .map_or(start, |end| end.max(start));
    EventTime::Timed { start, end }
}

fn recurrence(termin: &Termin) -> Option<Recurrence> {
    if !termin.dauertermin {
        return None;
    }
    Some(Recurrence {
        frequency: Frequency::from_turnus_art(termin.turnus_art)?,
        interval: termin.turnus.max(1),
        until: termin.series_end(),
    })
}

impl CalendarEvent {
    /// The RFC 5545 `RRULE` value (also what Google takes in `recurrence`), if a series.
    ///
    /// For an all-day series `UNTIL` is a date; for a timed one it must be UTC, and is the
    /// last second of the end day in the calendar zone, so an occurrence on that day counts.
    pub fn rrule(&self) -> Option<String> {
        let rule = self.recurrence?;
        let until = match self.time {
            EventTime::AllDay { .. } => rule.until.format("%Y%m%d").to_string(),
            EventTime::Timed { .. } => {
                let last_second = rule.until.and_time(NaiveTime::MIN) + TimeDelta::seconds(86_399);
                let until = CALENDAR_TZ
                    .from_local_datetime(&last_second)
                    .earliest()
                    .map_or_else(|| last_second.and_utc(), |t| t.with_timezone(&Utc));
                until.format("%Y%m%dT%H%M%SZ").to_string()
            }
        };
        Some(format!(
            "FREQ={};INTERVAL={};UNTIL={until}",
            rule.frequency.as_rrule(),
            rule.interval
        ))
    }

    /// The last calendar day this event or its series touches.
    pub fn last_date(&self) -> NaiveDate {
        match self.recurrence {
            Some(rule) => rule.until.max(self.time.last_date()),
            None => self.time.last_date(),
        }
    }

    /// SHA-256 (lowercase hex) of the canonical text of every rendered field, the
    /// anonymisation, `full_content` and privacy flags. Equal hashes mean the target needs
    /// no write.
    pub fn compute_content_hash(&self) -> String {
        let mut canonical = String::from("stepline-event/1\n");
        let mut field = |name: &str, value: &str| {
            let value = value.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(canonical, "{name}={value}");
        };
        field("id", self.id.as_str());
        match &self.time {
            EventTime::AllDay { start, end } => {
                field("kind", "all-day");
                field("start", &start.to_string());
                field("end", &end.to_string());
            }
            EventTime::Timed { start, end } => {
                field("kind", "timed");
                field("tz", start.timezone().name());
                field("start", &start.to_rfc3339());
                field("end", &end.to_rfc3339());
            }
        }
        if let Some(rrule) = self.rrule() {
            field("rrule", &rrule);
        }
        field("anonymised", if self.anonymised { "1" } else { "0" });
        field("full_content", if self.full_content { "1" } else { "0" });
        field("private", if self.private { "1" } else { "0" });
        field("summary", &self.summary);
        // Absent fields leave out their line, so "no place" and an empty place differ.
        if let Some(location) = &self.location {
            field("location", location);
        }
        if let Some(description) = &self.description {
            field("description", description);
        }

        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.replace("\r\n", "\n").replace('\r', "\n"))
}

#[cfg(test)]
mod tests;
