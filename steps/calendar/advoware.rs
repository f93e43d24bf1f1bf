//! The Advoware model: appointments ([`Termin`]) and employees ([`Employee`]) as the
//! Advoware API answers them, and the one place where Advoware's wall-clock times become
//! zoned times ([`SourceTimeZone::to_calendar_time`]).
//!
//! Sources (the snapshot file, later the REST API) call [`parse_termine`] and
//! [`parse_employees`] on the JSON they receive; the mapping reads the typed fields.
//!
//! Parsing is lenient where Advoware is known to vary (fractional seconds, flags as `0`/`1`
//! or booleans, `0001-01-01T00:00:00Z` for "no value") and strict where a value would be
//! guessed otherwise: a record whose `FrNr` or `Datum` cannot be read is skipped with a
//! warning that names its `FrNr` and the field, never its text. Errors built here never
//! carry field values, because appointment fields hold client data.

use std::fmt;

use chrono::{
    DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The time zone every calendar is written in.
pub const CALENDAR_TZ: Tz = chrono_tz::Europe::Berlin;

/// The date-time Advoware sends for "no value".
pub const NO_VALUE: &str = "0001-01-01T00:00:00Z";

/// Codes in `Anwalt` or `Sb` that mark a general appointment (besides an empty code).
pub const GENERAL_CODES: [&str; 2] = ["ALLE", "ALLGEMEIN"];

/// The time zone Advoware's date-times are written in.
///
/// Whether Advoware sends UTC or Berlin wall-clock times is unverified, so the zone is a
/// setting (default `Europe/Berlin`) and this type converts in exactly one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTimeZone(Tz);

impl Default for SourceTimeZone {
    fn default() -> Self {
        Self(chrono_tz::Europe::Berlin)
    }
}

impl SourceTimeZone {
    /// A source zone from an IANA name such as `Europe/Berlin` or `UTC`.
    pub fn from_name(name: &str) -> Result<Self, UnknownTimeZone> {
        name.parse::<Tz>()
            .map(Self)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
    }

    /// The zone itself.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// Reads an Advoware wall-clock time in the source zone and returns it in
    /// [`CALENDAR_TZ`].
    ///
    /// Daylight saving edges follow RFC 5545 (3.3.5) and Google: a time inside the gap
    /// when clocks go forward is read with the offset in force before the gap, which moves
    /// it forward by the length of the gap (2025-03-30 02:30 becomes 03:30 `+02:00`); a time
    /// that occurs twice when clocks go back takes the first, earlier instant (2025-10-26
    /// 02:30 is `+02:00`).
    pub fn to_calendar_time(&self, local: NaiveDateTime) -> DateTime<Tz> {
        let zoned = match self.0.from_local_datetime(&local).earliest() {
            Some(zoned) => zoned,
            None => {
                // A day earlier is safely before the gap: no zone changes twice in a day.
                let before_gap = self
                    .0
                    .offset_from_utc_datetime(&(local - TimeDelta::days(1)))
                    .fix();
                let utc = local - TimeDelta::seconds(i64::from(before_gap.local_minus_utc()));
                self.0.from_utc_datetime(&utc)
            }
        };
        zoned.with_timezone(&CALENDAR_TZ)
    }
}

/// A time zone name that is not in the IANA database; the setting must be fixed.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone `{0}`: use an IANA name such as Europe/Berlin or UTC")]
pub struct UnknownTimeZone(pub String);

/// One Advoware appointment, as `TermineActiveSync` returns it, with typed fields.
///
/// `Debug` shows the number and the dates only: the text, place and notes are client
/// data and must not reach a log.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Termin {
    /// `FrNr`: the appointment number; negative numbers are special entries (travel,
    /// absence).
    pub frnr: i64,
    /// `Text`: the title (sensitive).
    pub text: String,
    /// `Anwalt`: the owner's code.
    pub anwalt: String,
    /// `Sb`: the clerk's code.
    pub sb: String,
    /// `Datum`: the start, a wall-clock time in the source zone.
    pub datum: NaiveDateTime,
    /// `DatumBis`: its date part is the last day, or for a series the day it ends.
    pub datum_bis: Option<NaiveDateTime>,
    /// `UhrzeitBis`: the end time of day.
    pub uhrzeit_bis: Option<NaiveTime>,
    /// `Abwesenheit`: an all-day entry.
    pub abwesenheit: bool,
    /// `Ort`: the place (sensitive).
    pub ort: String,
    /// `Notiz`: notes (sensitive).
    pub notiz: String,
    /// `Privat`: always written anonymised.
    pub privat: bool,
    /// `Dauertermin`: a recurring series.
    pub dauertermin: bool,
    /// `Turnus`: the interval of a series (every n days, weeks, ...).
    pub turnus: u32,
    /// `TurnusArt`: 1 daily, 2 weekly, 3 monthly, 4 yearly; anything else is no series.
    pub turnus_art: u8,
    /// `ZuletztGeaendertAm`: the last change, in UTC.
    pub zuletzt_geaendert_am: Option<DateTime<Utc>>,
}

impl fmt::Debug for Termin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Termin")
            .field("frnr", &self.frnr)
            .field("datum", &self.datum)
            .field("datum_bis", &self.datum_bis)
            .field("uhrzeit_bis", &self.uhrzeit_bis)
            .field("abwesenheit", &self.abwesenheit)
            .field("dauertermin", &self.dauertermin)
            .field("turnus", &self.turnus)
            .field("turnus_art", &self.turnus_art)
            .finish_non_exhaustive()
    }
}

/// The day an open series ends: Advoware stores open series as ending in 2037.
pub fn open_series_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2037, 12, 31).unwrap_or(NaiveDate::MAX)
}

impl Termin {
    /// Whether this is a general appointment (owner and clerk empty, `ALLE` or
    /// `Allgemein`).
    pub fn is_general(&self) -> bool {
        is_general_code(&self.anwalt) && is_general_code(&self.sb)
    }

    /// Whether this is a special entry (travel, absence): a negative number.
    pub fn is_special(&self) -> bool {
        self.frnr < 0
    }

    /// Whether this is a series the calendars can express: `Dauertermin` with a known
    /// `TurnusArt`. A `Dauertermin` with another `TurnusArt` is written as its first
    /// occurrence only.
    pub fn is_series(&self) -> bool {
        self.dauertermin && (1..=4).contains(&self.turnus_art)
    }

    /// The last day of a series: the date of `DatumBis`, or 2037-12-31 when open.
    pub fn series_end(&self) -> NaiveDate {
        self.datum_bis
            .map(|bis| bis.date())
            .unwrap_or_else(open_series_end)
    }

    /// The first and last day this appointment touches, series included, in source
    /// wall-clock days. Used to select appointments for a window.
    pub fn span(&self) -> (NaiveDate, NaiveDate) {
        let first = self.datum.date();
        let last = if self.is_series() {
            self.series_end()
        } else if self.dauertermin {
            first
        } else {
            self.datum_bis.map_or(first, |bis| bis.date())
        };
        (first, last.max(first))
    }

    /// Whether any day of this appointment (or its series) lies in `from..=to`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let (first, last) = self.span();
        first <= to && last >= from
    }
}

/// Whether an `Anwalt`/`Sb` code marks a general appointment.
pub fn is_general_code(code: &str) -> bool {
    let code = code.trim();
    code.is_empty() || GENERAL_CODES.iter().any(|g| code.eq_ignore_ascii_case(g))
}

/// Why a record could not be read. Names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record is not a JSON object.
    #[error("the record is not a JSON object")]
    NotAnObject,
    /// A required field is missing or "no value".
    #[error("field {0} is missing")]
    Missing(&'static str),
    /// A field has a value of the wrong shape.
    #[error("field {field} is not {expected}")]
    Invalid {
        /// The Advoware field name.
        field: &'static str,
        /// What was expected, e.g. "an ISO date-time".
        expected: &'static str,
    },
}

impl TryFrom<Value> for Termin {
    type Error = RecordError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::try_from(&value)
    }
}

impl TryFrom<&Value> for Termin {
    type Error = RecordError;

    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        let record = value.as_object().ok_or(RecordError::NotAnObject)?;
        Ok(Self {
            frnr: integer(record, "FrNr")?.ok_or(RecordError::Missing("FrNr"))?,
            text: text(record, "Text")?,
            anwalt: text(record, "Anwalt")?.trim().to_owned(),
            sb: text(record, "Sb")?.trim().to_owned(),
            datum: date_time(record, "Datum")?.ok_or(RecordError::Missing("Datum"))?,
            datum_bis: date_time(record, "DatumBis")?,
            uhrzeit_bis: time_of_day(record, "UhrzeitBis")?,
            abwesenheit: flag(record, "Abwesenheit")?,
            ort: text(record, "Ort")?,
            notiz: text(record, "Notiz")?,
            privat: flag(record, "Privat")?,
            dauertermin: flag(record, "Dauertermin")?,
            turnus: small(record, "Turnus")?,
            turnus_art: small(record, "TurnusArt")?,
            zuletzt_geaendert_am: date_time(record, "ZuletztGeaendertAm")?
                .map(|t| Utc.from_utc_datetime(&t)),
        })
    }
}

/// Appointments read from one Advoware answer, and how many records were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedTermine {
    /// The records that could be read, in their original order.
    pub termine: Vec<Termin>,
    /// How many records were malformed and skipped (each logged at warn).
    pub skipped: usize,
}

/// Reads a `TermineActiveSync` answer (a JSON array of records); a malformed record is
/// skipped with a warning naming its `FrNr` (or `-` when even that is unreadable).
pub fn parse_termine(records: &[Value]) -> ParsedTermine {
    let mut parsed = ParsedTermine::default();
    for record in records {
        match Termin::try_from(record) {
            Ok(termin) => parsed.termine.push(termin),
            Err(reason) => {
                let frnr = record.get("FrNr").and_then(Value::as_i64);
                let frnr = frnr.map_or_else(|| "-".to_owned(), |n| n.to_string());
                tracing::warn!(frnr = %frnr, %reason, "skipping malformed appointment");
                parsed.skipped += 1;
            }
        }
    }
    parsed
}

/// One employee, with the code that names their calendar.
///
/// Advoware documents no employee endpoint, so the JSON shape is *unverified*: an object
/// with `Kuerzel` (the code), `Name`, optional `Vorname`, and `Aktiv` (`true`/`false` or
/// `1`/`0`, active when absent). The snapshot file uses this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// The employee code (`Kuerzel`), trimmed, as Advoware spells it (e.g. `SB`, `MÜ`).
    pub kuerzel: String,
    /// The display name: first name and surname.
    pub name: String,
    /// Whether the employee is active; `Calendar Sync All` syncs active employees only.
    pub active: bool,
}

impl TryFrom<&Value> for Employee {
    type Error = RecordError;

    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        let record = value.as_object().ok_or(RecordError::NotAnObject)?;
        let kuerzel = text(record, "Kuerzel")?.trim().to_owned();
        if kuerzel.is_empty() {
            return Err(RecordError::Missing("Kuerzel"));
        }

        let surname = text(record, "Name")?;
        let first = text(record, "Vorname")?;
        let name = format!("{} {}", first.trim(), surname.trim());
        let active = match record.get("Aktiv") {
            None | Some(Value::Null) => true,
            Some(_) => flag(record, "Aktiv")?,
        };
        Ok(Self {
            kuerzel,
            name: name.trim().to_owned(),
            active,
        })
    }
}

/// Reads an employee listing; entries with an empty code or of the wrong shape are
/// skipped with a warning.
pub fn parse_employees(records: &[Value]) -> Vec<Employee> {
    let mut employees = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        match Employee::try_from(record) {
            Ok(employee) => employees.push(employee),
            Err(reason) => tracing::warn!(index, %reason, "skipping employee entry"),
        }
    }
    employees
}

/// Upper-cases and trims an employee code, the form used for ids, locks and file names.
pub fn normalise_kuerzel(kuerzel: &str) -> String {
    kuerzel.trim().to_uppercase()
}

fn text(record: &Map<String, Value>, field: &'static str) -> Result<String, RecordError> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(RecordError::Invalid {
            field,
            expected: "a string",
        }),
    }
}

fn integer(record: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, RecordError> {
    let invalid = RecordError::Invalid {
        field,
        expected: "an integer",
    };
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(invalid),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid),
        Some(_) => Err(invalid),
    }
}

fn small<T: TryFrom<i64> + Default>(
    record: &Map<String, Value>,
    field: &'static str,
) -> Result<T, RecordError> {
    let Some(n) = integer(record, field)? else {
        return Ok(T::default());
    };
    T::try_from(n).map_err(|_| RecordError::Invalid {
        field,
        expected: "a small non-negative integer",
    })
}

fn flag(record: &Map<String, Value>, field: &'static str) -> Result<bool, RecordError> {
    if let Some(Value::Bool(b)) = record.get(field) {
        return Ok(*b);
    }
    match integer(record, field)? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(_) => Err(RecordError::Invalid {
            field,
            expected: "0 or 1",
        }),
    }
}

fn date_time(
    record: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<NaiveDateTime>, RecordError> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_date_time(s).map_err(|_| RecordError::Invalid {
            field,
            expected: "an ISO date-time",
        }),
        Some(_) => Err(RecordError::Invalid {
            field,
            expected: "an ISO date-time",
        }),
    }
}

fn time_of_day(
    record: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<NaiveTime>, RecordError> {
    let invalid = RecordError::Invalid {
        field,
        expected: "a time HH:MM:SS",
    };
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        // Some answers carry a full date-time here; its time part is what counts.
        Some(Value::String(s)) if s.contains('T') => parse_date_time(s)
            .map(|t| t.map(|t| t.time()))
            .map_err(|_| invalid),
        Some(Value::String(s)) => NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M"))
            .map(Some)
            .map_err(|_| invalid),
        Some(_) => Err(invalid),
    }
}

/// Parses an Advoware date-time: `YYYY-MM-DDTHH:MM[:SS[.fraction]]`, optionally followed
/// by `Z` or an offset, or a bare date. Any year-1 value (`0001-01-01T00:00:00Z`) means
/// "no value".
///
/// The wall-clock part is kept and a suffix is ignored: what Advoware's offsets mean is
/// unverified, so [`SourceTimeZone`] alone decides how the time is read. Fractions of a
/// second are dropped; calendars count in whole seconds.
pub fn parse_date_time(raw: &str) -> Result<Option<NaiveDateTime>, InvalidDateTime> {
    let raw = raw.trim();
    if raw.is_empty() || raw.starts_with("0001-01-01") {
        return Ok(None);
    }
    let wall_clock = strip_zone_suffix(raw);
    if let Ok(t) = NaiveDateTime::parse_from_str(wall_clock, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Some(t.with_nanosecond(0).unwrap_or(t)));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(wall_clock, "%Y-%m-%dT%H:%M") {
        return Ok(Some(t));
    }
    NaiveDate::parse_from_str(wall_clock, "%Y-%m-%d")
        .map(|d| Some(d.and_time(NaiveTime::MIN)))
        .map_err(|_| InvalidDateTime)
}

/// A text that is not an Advoware date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO date-time")]
pub struct InvalidDateTime;

fn strip_zone_suffix(raw: &str) -> &str {
    if let Some(stripped) = raw.strip_suffix(['Z', 'z']) {
        return stripped;
    }
    // An offset such as +01:00 or -0500 follows the time part, after position 10.
    match raw.get(10..).and_then(|time| time.rfind(['+', '-'])) {
        Some(at) => &raw[..10 + at],
        None => raw,
    }
}

#[cfg(test)]
mod tests;
