//! Reading calendar files back: enough of RFC 5545 to list the events of a file this sync
//! wrote (unfolding, parameters with quoted values, nested components) and to keep every
//! component byte for byte when the file is rewritten, so events the sync did not make
//! survive untouched.

use chrono::{NaiveDate, NaiveDateTime};

use super::{UID_SUFFIX, X_EMPLOYEE, X_HASH};
use crate::calendar::advoware::{CALENDAR_TZ, normalise_kuerzel};
use crate::calendar::id::EventId;
use crate::calendar::plan::TargetEvent;

/// The components directly inside a file's `VCALENDAR`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcsDocument {
    /// `VEVENT`, `VTIMEZONE`, ... blocks.
    pub components: Vec<Component>,
}

/// One top-level component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The component name, upper-case (`VEVENT`).
    pub name: String,
    /// The block as it stands in the file, folded, each line ending in CRLF.
    pub raw: String,
    /// Its own properties, unfolded (not those of nested components such as `VALARM`).
    pub properties: Vec<Property>,
}

/// One unfolded content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The name, upper-case.
    pub name: String,
    /// Parameters: upper-case name, value without quotes.
    pub params: Vec<(String, String)>,
    /// The raw value, still escaped.
    pub value: String,
}

/// A file that is not iCalendar text this reader understands; the file is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct IcsError {
    /// The physical line (1-based).
    pub line: usize,
    /// What is wrong.
    pub problem: &'static str,
}

impl Component {
    /// The first property called `name`.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The `UID` value.
    pub fn uid(&self) -> Option<&str> {
        self.property("UID").map(|p| p.value.as_str())
    }
}

impl Property {
    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parses a calendar file. Empty text is an empty calendar.
pub fn parse(text: &str) -> Result<IcsDocument, IcsError> {
    let physical: Vec<&str> = text.lines().collect();
    let mut document = IcsDocument::default();
    let mut depth = 0usize;
    let mut seen_calendar = false;
    let mut open: Option<(usize, Component)> = None;

    for (first, last, line) in logical_lines(&physical) {
        let err = |problem| IcsError {
            line: first + 1,
            problem,
        };
        let property = parse_property(&line).ok_or(err("not a content line"))?;
        match (property.name.as_str(), depth) {
            ("BEGIN", 0) if property.value.eq_ignore_ascii_case("VCALENDAR") && !seen_calendar => {
                seen_calendar = true;
            }
            ("BEGIN", 0) => return Err(err("expected a single BEGIN:VCALENDAR")),
            ("BEGIN", 1) => {
                let name = property.value.to_ascii_uppercase();
                let component = Component {
                    name,
                    raw: String::new(),
                    properties: Vec::new(),
                };
                open = Some((first, component));
            }
            ("END", 1) if !property.value.eq_ignore_ascii_case("VCALENDAR") => {
                return Err(err("END does not match BEGIN"));
            }
            ("END", 2) => {
                let (start, mut component) = open.take().ok_or(err("END without BEGIN"))?;
                if !property.value.eq_ignore_ascii_case(&component.name) {
                    return Err(err("END does not match BEGIN"));
                }
                component.raw = physical[start..=last]
                    .iter()
                    .map(|l| format!("{l}\r\n"))
                    .collect();
                document.components.push(component);
            }
            // Nested components (VALARM, ...) stay in the raw block only.
            ("BEGIN" | "END", _) => {}
            (_, 0) => return Err(err("content outside BEGIN:VCALENDAR")),
            (_, 2) => {
                if let Some((_, component)) = open.as_mut() {
                    component.properties.push(property.clone());
                }
            }
            _ => {}
        }
        match property.name.as_str() {
            "BEGIN" => depth += 1,
            "END" => depth = depth.saturating_sub(1),
            _ => {}
        }
    }

    if depth != 0 {
        return Err(IcsError {
            line: physical.len(),
            problem: "the file ends inside a component",
        });
    }
    Ok(document)
}

/// Unfolds physical lines: (first physical index, last physical index, logical line).
/// Blank lines are skipped.
fn logical_lines(physical: &[&str]) -> Vec<(usize, usize, String)> {
    let mut logical: Vec<(usize, usize, String)> = Vec::new();
    for (index, line) in physical.iter().enumerate() {
        match (line.strip_prefix([' ', '\t']), logical.last_mut()) {
            (Some(continuation), Some(current)) => {
                current.1 = index;
                current.2.push_str(continuation);
            }
            _ if line.is_empty() => {}
            _ => logical.push((index, index, (*line).to_owned())),
        }
    }
    logical
}

/// `NAME;PARAM=value;PARAM="quoted:value":VALUE`.
fn parse_property(line: &str) -> Option<Property> {
    let name_end = line.find([';', ':'])?;
    let name = line[..name_end].trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }

    let mut params = Vec::new();
    let mut rest = &line[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after.find('=')?;
        let key = after[..eq].to_ascii_uppercase();
        let value_text = &after[eq + 1..];
        let (value, remaining) = match value_text.strip_prefix('"') {
            Some(quoted) => {
                let close = quoted.find('"')?;
                (&quoted[..close], &quoted[close + 1..])
            }
            None => {
                let end = value_text.find([';', ':'])?;
                (&value_text[..end], &value_text[end..])
            }
        };
        params.push((key, value.to_owned()));
        rest = remaining;
    }

    let value = rest.strip_prefix(':')?;
    Some(Property {
        name,
        params,
        value: value.to_owned(),
    })
}

/// Undoes [`super::write::escape_text`].
pub fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match (ch, ch == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// The planner's view of a `VEVENT`: its id, hash and days, and whether this sync made it
/// for `kuerzel`. Other components give `None`.
///
/// An event without a readable start spans all days, so that one of ours whose
/// appointment is gone is still deleted rather than kept forever.
pub fn target_event(component: &Component, kuerzel: &str) -> Option<TargetEvent> {
    if component.name != "VEVENT" {
        return None;
    }
    let uid = component.uid()?;
    let content_hash = component.property(X_HASH).map(|p| p.value.clone());
    let employee = component
        .property(X_EMPLOYEE)
        .map(|p| unescape_text(&p.value));
    let ours = uid.strip_suffix(UID_SUFFIX);
    let managed = ours.and_then(EventId::parse).is_some()
        && content_hash.is_some()
        && employee.as_deref() == Some(normalise_kuerzel(kuerzel).as_str());

    let first_day = component.property("DTSTART").and_then(day_of);
    let last_day = match component.property("RRULE") {
        Some(rule) => until_of(&rule.value).unwrap_or(NaiveDate::MAX),
        None => last_day_of(component)
            .or(first_day)
            .unwrap_or(NaiveDate::MAX),
    };
    Some(TargetEvent {
        id: ours.unwrap_or(uid).to_owned(),
        content_hash,
        first_day: first_day.unwrap_or(NaiveDate::MIN),
        last_day,
        managed,
    })
}

/// Lists the events of a calendar file for `kuerzel`'s calendar.
pub fn list_events(text: &str, kuerzel: &str) -> Result<Vec<TargetEvent>, IcsError> {
    let document = parse(text)?;
    Ok(document
        .components
        .iter()
        .filter_map(|c| target_event(c, kuerzel))
        .collect())
}

/// The calendar day of a `DATE` or `DATE-TIME` value (UTC values in Berlin).
fn day_of(property: &Property) -> Option<NaiveDate> {
    let value = property.value.trim();
    if let Some(utc) = value.strip_suffix('Z') {
        let utc = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(utc.and_utc().with_timezone(&CALENDAR_TZ).date_naive());
    }
    NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()
}

/// The last day of a single event: an exclusive `VALUE=DATE` end is the day before.
fn last_day_of(component: &Component) -> Option<NaiveDate> {
    let end = component.property("DTEND")?;
    let day = day_of(end)?;
    match end.param("VALUE") {
        Some(v) if v.eq_ignore_ascii_case("DATE") => day.pred_opt(),
        _ => Some(day),
    }
}

/// The `UNTIL` day of an `RRULE`, if the rule has one.
fn until_of(rule: &str) -> Option<NaiveDate> {
    let until = rule
        .split(';')
        .find_map(|part| part.strip_prefix("UNTIL="))?;
    day_of(&Property {
        name: "UNTIL".to_owned(),
        params: Vec::new(),
        value: until.to_owned(),
    })
}

#[cfg(test)]
mod tests;
