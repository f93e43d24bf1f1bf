//! The planner: what must change in one employee's calendar so that it mirrors Advoware.
//!
//! [`plan`] is a pure function of the events Advoware wants (already mapped), the events
//! the target holds, and the [`SyncWindow`]. It is where the sync's safety rules live:
//!
//! - an event is created when its id is not in the target, updated when its content hash
//!   differs, and left alone when the hashes match;
//! - an event is deleted only if this sync made it, its appointment is gone, and it
//!   touches the window (what lies outside the window was not read, so it is not known
//!   to be gone);
//! - events the sync did not make are never touched, even with a matching id.
//!
//! Creating by deterministic id makes a plan built from an empty or failed listing
//! harmless: the target writes by id, so "create" of an existing event overwrites it.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::id::EventId;
use super::mapping::CalendarEvent;

/// The days a sync reads and reconciles, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncWindow {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl SyncWindow {
    /// Days before today that a sync reads by default.
    pub const DEFAULT_DAYS_BACK: u32 = 30;
    /// Days after today that a sync reads by default.
    pub const DEFAULT_DAYS_AHEAD: u32 = 365;

    /// `days_back` before `today` to `days_ahead` after it. The clock is the caller's, so
    /// tests pass a fixed day.
    pub fn around(today: NaiveDate, days_back: u32, days_ahead: u32) -> Self {
        let back = TimeDelta::days(i64::from(days_back));
        let ahead = TimeDelta::days(i64::from(days_ahead));
        Self {
            from: today.checked_sub_signed(back).unwrap_or(NaiveDate::MIN),
            to: today.checked_add_signed(ahead).unwrap_or(NaiveDate::MAX),
        }
    }

    /// The default window: 30 days back, 365 ahead.
    pub fn default_for(today: NaiveDate) -> Self {
        Self::around(today, Self::DEFAULT_DAYS_BACK, Self::DEFAULT_DAYS_AHEAD)
    }

    /// Whether the days `first..=last` touch the window.
    pub fn touches(&self, first: NaiveDate, last: NaiveDate) -> bool {
        first <= self.to && last >= self.from
    }
}

/// An event as a target lists it: enough to plan, no content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetEvent {
    /// The target's id for the event (for the ICS target, the UID without `@stepline`).
    pub id: String,
    /// The content hash this sync stored with the event, if it made it.
    pub content_hash: Option<String>,
    /// The first day of the event.
    pub first_day: NaiveDate,
    /// The last day of the event or its series (`NaiveDate::MAX` for an endless series).
    pub last_day: NaiveDate,
    /// Whether this sync made the event (it carries the sync's marker for this employee).
    pub managed: bool,
}

/// The changes that make a target mirror Advoware.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Events to write that the target does not hold.
    pub create: Vec<CalendarEvent>,
    /// Events to rewrite because their content changed (or the target holds duplicates).
    pub update: Vec<CalendarEvent>,
    /// Events this sync made whose appointment is gone.
    pub delete: Vec<EventId>,
    /// Events already up to date.
    pub unchanged: Vec<EventId>,
}

/// How many events fall into each part of a [`SyncPlan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    /// Events to create.
    pub create: usize,
    /// Events to update.
    pub update: usize,
    /// Events to delete.
    pub delete: usize,
    /// Events left alone.
    pub unchanged: usize,
}

impl SyncPlan {
    /// The size of each part.
    pub fn counts(&self) -> PlanCounts {
        PlanCounts {
            create: self.create.len(),
            update: self.update.len(),
            delete: self.delete.len(),
            unchanged: self.unchanged.len(),
        }
    }

    /// Whether the target needs no write at all.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Plans the changes for one calendar.
///
/// `desired` are the mapped appointments read for `window`; if two carry the same id the
/// first wins. `existing` is the target's listing; events without the sync's marker are
/// ignored. Every part of the plan is sorted by id, so equal inputs give equal plans.
pub fn plan(desired: Vec<CalendarEvent>, existing: &[TargetEvent], window: SyncWindow) -> SyncPlan {
    let mut held: HashMap<&str, Vec<&TargetEvent>> = HashMap::new();
    for event in existing.iter().filter(|e| e.managed) {
        held.entry(event.id.as_str()).or_default().push(event);
    }

    let mut plan = SyncPlan::default();
    let mut wanted = HashSet::new();
    for event in desired {
        if !wanted.insert(event.id.clone()) {
            continue;
        }
        match held.get(event.id.as_str()).map(Vec::as_slice) {
            None | Some([]) => plan.create.push(event),
            Some([one]) if one.content_hash.as_deref() == Some(event.content_hash.as_str()) => {
                plan.unchanged.push(event.id)
            }
            // A different hash, or copies left by a run that bypassed the lock: rewriting
            // by id leaves exactly one, up to date.
            Some(_) => plan.update.push(event),
        }
    }

    for (id, copies) in &held {
        // Managed events carry ids this sync made; anything else is not ours to delete.
        let Some(id) = EventId::parse(id) else {
            continue;
        };
        let in_window = copies
            .iter()
            .any(|e| window.touches(e.first_day, e.last_day));
        if in_window && !wanted.contains(&id) {
            plan.delete.push(id);
        }
    }

    plan.create.sort_by(|a, b| a.id.cmp(&b.id));
    plan.update.sort_by(|a, b| a.id.cmp(&b.id));
    plan.delete.sort();
    plan.unchanged.sort();
    plan
}

#[cfg(test)]
mod tests;
