//! The Advoware calendar sync, as a pure domain layer the steps call. It mirrors each
//! employee's Advoware appointments ("Termine") into a calendar, one way, idempotently.
//!
//! ```text
//!   source (Advoware API or snapshot) ─► advoware (Termin, Employee)
//!        ─► mapping (CalendarEvent: times, series, anonymisation, id, hash)
//!        ─► plan (create / update / delete / unchanged against the target's listing)
//!        ─► target (ICS files or Google Calendar) ◄─ ics (RFC 5545 write and read-back)
//!   sync::sync_employee runs that chain for one employee.
//! ```
//!
//! - [`advoware`]: the Advoware model, its JSON parsing, the source time zone.
//! - [`advoware_api`]: the Advoware REST API as a source (discovery, token, chunked reads).
//! - [`id`]: deterministic event ids from (employee code, appointment number).
//! - [`mapping`]: `Termin` to `CalendarEvent`, with every rule of `DOMAIN.md`.
//! - [`plan`]: the planner, a pure function, and the sync window.
//! - [`source`]: the `CalendarSource` trait and the snapshot file source.
//! - [`target`]: the `CalendarTarget` trait and the ICS file target.
//! - [`google`]: Google Calendar API v3 as a target.
//! - [`ics`]: rendering and reading iCalendar text.
//! - [`sync`]: one employee's sync, end to end.

pub mod advoware;
pub mod advoware_api;
pub mod google;
pub mod ics;
pub mod id;
pub mod mapping;
pub mod plan;
pub mod source;
pub mod sync;
pub mod target;

#[cfg(test)]
mod testing;

pub use advoware::{Employee, SourceTimeZone, Termin};
pub use id::EventId;
pub use mapping::{CalendarEvent, EventTime, MappingOptions, map_termin};
pub use plan::{SyncPlan, SyncWindow, TargetEvent, plan};
pub use source::{Appointments, CalendarSource, SnapshotSource, SourceError};
pub use sync::{SyncError, SyncReport, sync_employee};
pub use target::{ApplyReport, CalendarTarget, IcsTarget, TargetError};
