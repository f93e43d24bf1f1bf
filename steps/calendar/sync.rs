//! One employee's sync, end to end: read the appointments in the window, map them, list
//! the calendar, plan the difference, apply it.
//!
//! ```text
//!   source.appointments(window) ──► map_termin ──┐
//!                                               ├─► plan ──► target.apply ──► SyncReport
//!   target.list ─────────────────────────────────┘
//! ```
//!
//! The `Calendar Sync Employee` step calls [`sync_employee`] while it holds the employee's
//! lock, and records the [`SyncReport`]. Nothing here logs appointment content.

use serde::{Deserialize, Serialize};

use super::advoware::normalise_kuerzel;
use super::mapping::{MappingOptions, map_termin};
use super::plan::{SyncWindow, plan};
use super::source::{CalendarSource, SourceError};
use super::target::{CalendarTarget, TargetError};

/// What one employee's sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The employee code, normalised.
    pub kuerzel: String,
    /// Whether content was written (`false`: placeholders).
    pub full_content: bool,
    /// The days that were read and reconciled.
    pub window: SyncWindow,
    /// Events created.
    pub created: usize,
    /// Events rewritten.
    pub updated: usize,
    /// Events deleted because their appointment is gone.
    pub deleted: usize,
    /// Events already up to date.
    pub unchanged: usize,
    /// Appointment records that were malformed and skipped.
    pub skipped: usize,
    /// Events the target refused.
    pub errors: usize,
}

/// Why a sync did not complete. Nothing was written unless the error came from `apply`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading Advoware failed; see [`SourceError`] for whether to retry.
    #[error("reading appointments failed: {0}")]
    Source(#[from] SourceError),
    /// Reading or writing the calendar failed; see [`TargetError`] for whether to retry.
    #[error("updating the calendar failed: {0}")]
    Target(#[from] TargetError),
}

impl SyncError {
    /// Whether running the sync again later may succeed without a fix.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Source(e) => e.is_retryable(),
            Self::Target(e) => e.is_retryable(),
        }
    }

    /// Whether the code belongs to no employee (the step records the run as unknown).
    pub fn is_unknown_employee(&self) -> bool {
        matches!(self, Self::Source(SourceError::UnknownEmployee(_)))
    }
}

/// Syncs `kuerzel`'s calendar in `target` with its appointments in `source` for `window`;
/// `full_content: false` writes placeholders with times only.
///
/// Safe to repeat: a second run with unchanged appointments reports everything unchanged
/// and writes nothing.
#[tracing::instrument(level = "debug", skip_all, fields(kuerzel = %kuerzel))]
pub async fn sync_employee(
    source: &dyn CalendarSource,
    target: &dyn CalendarTarget,
    kuerzel: &str,
    full_content: bool,
    window: SyncWindow,
) -> Result<SyncReport, SyncError> {
    let kuerzel = normalise_kuerzel(kuerzel);
    let appointments = source
        .appointments(&kuerzel, window.from, window.to)
        .await?;

    let options = MappingOptions {
        full_content,
        source_tz: source.time_zone(),
    };
    let desired = appointments
        .termine
        .iter()
        .map(|termin| map_termin(&kuerzel, termin, &options))
        .filter(|event| window.touches(event.time.start_date(), event.last_date()))
        .collect();

    let existing = target.list(&kuerzel).await?;
    let plan = plan(desired, &existing, window);
    let counts = plan.counts();
    tracing::debug!(
        create = counts.create,
        update = counts.update,
        delete = counts.delete,
        unchanged = counts.unchanged,
        skipped = appointments.skipped,
        "planned calendar changes"
    );

    let applied = target.apply(&kuerzel, &plan).await?;
    Ok(SyncReport {
        kuerzel,
        full_content,
        window,
        created: applied.created,
        updated: applied.updated,
        deleted: applied.deleted,
        unchanged: counts.unchanged,
        skipped: appointments.skipped,
        errors: applied.errors,
    })
}

#[cfg(test)]
mod tests;
