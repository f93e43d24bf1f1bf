//! Where calendars are written: the [`CalendarTarget`] trait, and [`IcsTarget`], which
//! keeps one RFC 5545 file per employee, `<dir>/<KUERZEL>.ics`.
//!
//! The ICS file is the whole target state: [`CalendarTarget::list`] reads it back (see
//! [`super::ics`]), and [`CalendarTarget::apply`] rewrites it. Applying reads the file
//! afresh, replaces the planned events by id, keeps every other component byte for byte
//! (events the sync did not make included), and swaps the new file in with a rename, so a
//! reader never sees half a calendar.
//!
//! ```text
//!   list ──► read <KUERZEL>.ics ──► TargetEvents ──► plan
//!   apply ─► read again ─► drop planned ids ─► render create+update ─► write .tmp ─► rename
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::advoware::normalise_kuerzel;
use super::ics::{self, UID_SUFFIX, read::IcsError};
use super::plan::{SyncPlan, TargetEvent};

/// What applying a plan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Events written new.
    pub created: usize,
    /// Events rewritten.
    pub updated: usize,
    /// Events removed (an event already gone counts as removed).
    pub deleted: usize,
    /// Events the target refused; the rest of the plan was still applied.
    pub errors: usize,
}

/// Why a target could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The employee code cannot name a calendar; the run is rejected.
    #[error("employee code {0:?} cannot name a calendar file")]
    InvalidKuerzel(String),
    /// Reading or writing failed; the calendar is unchanged and a later run may succeed.
    #[error("calendar file {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The calendar file is not one this sync can read; it is left untouched until someone
    /// fixes or removes it.
    #[error("calendar file {path} is not valid iCalendar ({source}); fix or remove it")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: IcsError,
    },
    /// The calendar service could not be reached, kept failing (5xx), or kept rate-limiting
    /// past the retries; a later run may succeed.
    #[error("calendar service unavailable: {0}")]
    Unavailable(String),
    /// The calendar service's daily quota is used up (Google 403 `quotaExceeded`): this
    /// employee's run stopped at once, without retrying; the next scheduled run tries again.
    #[error("calendar quota exceeded; this employee's run stopped, the next run tries again")]
    QuotaExceeded,
    /// The credentials were refused or are unusable; nothing retries until they are fixed.
    #[error("calendar credentials refused: {0}")]
    Auth(String),
    /// The calendar service refused a request for a reason retrying cannot fix.
    #[error("calendar service refused {call} with {status}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Refused {
        /// The call, such as `calendars.insert`.
        call: &'static str,
        /// The HTTP status.
        status: u16,
        /// The service's reason code, if it gave one.
        reason: Option<String>,
    },
    /// The state store holding the calendar ids and sync tokens failed; a later run may
    /// succeed.
    #[error("calendar state: {0}")]
    State(String),
}

impl TargetError {
    /// Whether running the sync again later may succeed without a fix.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Io { .. } | Self::Unavailable(_) | Self::State(_)
        )
    }
}

/// A place that holds one calendar per employee.
#[async_trait]
pub trait CalendarTarget: Send + Sync {
    /// Every event in `kuerzel`'s calendar; [`TargetEvent::managed`] tells which this sync
    /// made. A calendar that does not exist yet is empty.
    async fn list(&self, kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError>;

    /// Applies `plan` to `kuerzel`'s calendar. Creating writes by id, so creating an event
    /// that exists overwrites it instead of duplicating it.
    async fn apply(&self, kuerzel: &str, plan: &SyncPlan) -> Result<ApplyReport, TargetError>;

    /// One line for the startup log: which target, where.
    fn describe(&self) -> String;
}

/// ICS files in one folder, one per employee.
#[derive(Debug)]
pub struct IcsTarget {
    dir: PathBuf,
    now: fn() -> DateTime<Utc>,
    // Serialises rewrites inside this process; across runs, the employee lock does.
    writing: tokio::sync::Mutex<()>,
}

impl IcsTarget {
    /// Calendars in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            now: Utc::now,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// The same, with a fixed clock for `DTSTAMP` (tests).
    pub fn with_clock(mut self, now: fn() -> DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The folder holding the calendars.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `kuerzel`'s calendar; the HTTP step serves this path.
    pub fn path_for(&self, kuerzel: &str) -> Result<PathBuf, TargetError> {
        Ok(self.dir.join(calendar_file_name(kuerzel)?))
    }

    async fn read(&self, path: &Path) -> Result<String, TargetError> {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(TargetError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// `<KUERZEL>.ics` for a normalised code. UTF-8 (`MÜ.ics`) is kept; a code that could
/// leave the folder or confuse a file system (`/`, `\`, `..`, a leading dot, control or
/// reserved characters, more than 64 characters) is rejected.
pub fn calendar_file_name(kuerzel: &str) -> Result<String, TargetError> {
    let code = normalise_kuerzel(kuerzel);
    let unsafe_char = |c: char| c.is_control() || "/\\:*?\"<>|".contains(c);
    let safe = !code.is_empty()
        && code.chars().count() <= 64
        && !code.starts_with('.')
        && !code.contains("..")
        && !code.chars().any(unsafe_char);
    if safe {
        Ok(format!("{code}.ics"))
    } else {
        Err(TargetError::InvalidKuerzel(kuerzel.to_owned()))
    }
}

#[async_trait]
impl CalendarTarget for IcsTarget {
    async fn list(&self, kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError> {
        let path = self.path_for(kuerzel)?;
        let text = self.read(&path).await?;
        ics::read::list_events(&text, kuerzel)
            .map_err(|source| TargetError::Malformed { path, source })
    }

    async fn apply(&self, kuerzel: &str, plan: &SyncPlan) -> Result<ApplyReport, TargetError> {
        let path = self.path_for(kuerzel)?;
        let _writing = self.writing.lock().await;

        let text = self.read(&path).await?;
        if plan.is_empty() && !text.is_empty() {
            return Ok(ApplyReport::default());
        }
        let document = ics::read::parse(&text).map_err(|source| TargetError::Malformed {
            path: path.clone(),
            source,
        })?;

        let components = rewrite(document, kuerzel, plan, (self.now)());
        let calendar = ics::write::render_calendar(&normalise_kuerzel(kuerzel), &components);
        write_atomically(&path, calendar.as_bytes()).await?;

        Ok(ApplyReport {
            created: plan.create.len(),
            updated: plan.update.len(),
            deleted: plan.delete.len(),
            errors: 0,
        })
    }

    fn describe(&self) -> String {
        format!("ICS files in {}", self.dir.display())
    }
}

/// The new list of component blocks: kept ones untouched, planned ones rendered, events
/// sorted by first day and id so that the file reads in date order and diffs stay small.
fn rewrite(
    document: ics::read::IcsDocument,
    kuerzel: &str,
    plan: &SyncPlan,
    now: DateTime<Utc>,
) -> Vec<String> {
    let uid = |id: &dyn std::fmt::Display| format!("{id}{UID_SUFFIX}");
    let rewritten: HashSet<String> = plan
        .create
        .iter()
        .chain(&plan.update)
        .map(|e| uid(&e.id))
        .collect();
    let deleted: HashSet<String> = plan.delete.iter().map(|id| uid(id)).collect();

    let mut others = Vec::new();
    let mut events: Vec<(NaiveDate, String, String)> = Vec::new();
    for component in document.components {
        let is_berlin =
            component.property("TZID").map(|p| p.value.as_str()) == Some("Europe/Berlin");
        if component.name == "VTIMEZONE" && is_berlin {
            continue; // written fresh by render_calendar
        }
        let Some(event) = ics::read::target_event(&component, kuerzel) else {
            others.push(component.raw);
            continue;
        };
        let uid = component.uid().unwrap_or_default().to_owned();
        let replaced = rewritten.contains(&uid) || (event.managed && deleted.contains(&uid));
        if !replaced {
            events.push((event.first_day, uid, component.raw));
        }
    }

    for event in plan.create.iter().chain(&plan.update) {
        let block = ics::write::render_event(event, now);
        events.push((event.time.start_date(), uid(&event.id), block));
    }
    events.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    others.extend(events.into_iter().map(|(_, _, block)| block));
    others
}

/// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it over
/// `path`, so the calendar is replaced whole or not at all.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TargetError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TargetError::Io { path, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;

    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("calendar");
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let written = async {
        let mut file = tokio::fs::File::create(&temp).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
        file.sync_all().await?;
        tokio::fs::rename(&temp, path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    written.map_err(io(path))
}

#[cfg(test)]
mod tests;
