//! The ICS format (RFC 5545) for the calendar files: [`write`] renders one `VCALENDAR` per
//! employee, [`read`] reads back the files it wrote. The ICS target
//! ([`super::target::IcsTarget`]) uses both; nothing else depends on the format.
//!
//! The file is the target's whole state: every event the sync writes carries its link back
//! to Advoware in private properties, which is how the planner knows, from the file alone,
//! which events this sync made and whether they are up to date:
//!
//! ```text
//! UID:<event id>@stepline          the deterministic id (see `calendar::id`)
//! X-STEPLINE-EMPLOYEE:SB           whose calendar the sync wrote it for
//! X-STEPLINE-FRNR:1001             the Advoware appointment number
//! X-STEPLINE-HASH:<sha256 hex>     the content hash (see `CalendarEvent`)
//! ```

pub mod read;
pub mod write;

/// Appended to an event id to form its `UID`.
pub const UID_SUFFIX: &str = "@stepline";

/// Property naming the employee whose calendar the sync wrote the event for.
pub const X_EMPLOYEE: &str = "X-STEPLINE-EMPLOYEE";
/// Property holding the Advoware appointment number.
pub const X_FRNR: &str = "X-STEPLINE-FRNR";
/// Property holding the content hash.
pub const X_HASH: &str = "X-STEPLINE-HASH";
