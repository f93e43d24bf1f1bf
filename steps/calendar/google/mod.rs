//! Google Calendar API v3 as a [`CalendarTarget`]: one secondary calendar per employee,
//! events written under the deterministic ids, listed incrementally with sync tokens.
//!
//! ```text
//!   list(K)  ─► calendar of K (state; else calendars.insert + acl.insert, id saved)
//!            ─► sync token in state? ─ yes ─► events.list?syncToken ─► merge into the
//!            │                                 remembered listing (410: full list)
//!            └─ no ─────────────────────────► events.list, every page
//!            ─► remembered for apply: listing + nextSyncToken (last page only)
//!   apply(K) ─► insert (409: re-read, patch if ours) · patch with If-Match (412: re-read,
//!               patch again if still ours) · delete (404/410: already gone)
//!            ─► every write succeeded: listing + token saved to state
//! ```
//!
//! Rules this module keeps (see `DOMAIN.md`):
//!
//! - Only events carrying this employee's link under their own id ([`wire::link_matches`])
//!   are updated or deleted; the planner never plans others, and a 409 or 412 re-read
//!   checks the link again before writing.
//! - The sync token is saved only after a run whose every write succeeded. A run that
//!   stopped keeps the previous token, from which the next listing sees every change since,
//!   this run's writes included.
//! - 403 `quotaExceeded` stops the employee's run at once ([`TargetError::QuotaExceeded`]);
//!   rate limits, 429 and 5xx are retried in [`client`].
//!
//! Writes go one at a time: the employee lock already serialises a calendar, and
//! sequential calls keep well inside Google's per-user rate.

pub mod auth;
mod calendars;
pub mod client;
pub mod config;
mod listing;
pub mod wire;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stepline_runtime::store::StateStore;

use self::client::{Answer, Api, Request};
use self::listing::Listing;
use self::wire::Listed;
use self::writes::Written;
use super::advoware::normalise_kuerzel;
use super::plan::{SyncPlan, TargetEvent};
use super::target::{ApplyReport, CalendarTarget, TargetError};

pub use self::config::{GoogleConfig, ServiceAccountKey};

/// State group: employee code → the employee's calendar ([`CalendarRecord`]).
pub const CALENDARS_GROUP: &str = "calendar_sync:google_calendars";
/// State group: employee code → the listing of the last complete run ([`StoredListing`]).
pub const LISTING_GROUP: &str = "calendar_sync:google_listing";

/// Which calendar belongs to an employee, and with whom it was shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarRecord {
    /// The Google calendar id.
    pub calendar_id: String,
    /// The address the calendar was last shared with.
    #[serde(default)]
    pub shared_with: Option<String>,
}

/// A calendar's events as of a sync token, saved after a complete run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredListing {
    /// The calendar the listing belongs to.
    pub calendar_id: String,
    /// The token that lists the changes since.
    pub sync_token: String,
    /// Every event present, by id.
    pub events: BTreeMap<String, Listed>,
}

/// What `list` learned, kept for the `apply` of the same run.
struct Run {
    calendar_id: String,
    events: BTreeMap<String, Listed>,
    sync_token: Option<String>,
}

/// The Google Calendar target.
pub struct GoogleTarget {
    api: Api,
    state: Arc<dyn StateStore>,
    config: GoogleConfig,
    runs: Mutex<HashMap<String, Run>>,
}

impl std::fmt::Debug for GoogleTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleTarget")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GoogleTarget {
    /// A target for `config`, keeping calendar ids and sync tokens in `state`.
    pub fn new(config: GoogleConfig, state: Arc<dyn StateStore>) -> Result<Self, TargetError> {
        Ok(Self {
            api: Api::new(&config)?,
            state,
            config,
            runs: Mutex::new(HashMap::new()),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        if_match: Option<&str>,
        name: &'static str,
    ) -> Result<Answer, TargetError> {
        self.api
            .call(&Request {
                method,
                path,
                query,
                body,
                if_match,
                name,
            })
            .await
    }

    async fn load<T: serde::de::DeserializeOwned>(
        &self,
        group: &str,
        code: &str,
    ) -> Result<Option<T>, TargetError> {
        let value = self
            .state
            .get(group, code)
            .await
            .map_err(|e| TargetError::State(e.to_string()))?;
        // A record this version cannot read is treated as absent (listing: a full list).
        Ok(value.and_then(|v| serde_json::from_value(v).ok()))
    }

    async fn save<T: Serialize>(
        &self,
        group: &str,
        code: &str,
        value: &T,
    ) -> Result<(), TargetError> {
        let value = serde_json::to_value(value).map_err(|e| TargetError::State(e.to_string()))?;
        self.state
            .set(group, code, value)
            .await
            .map_err(|e| TargetError::State(e.to_string()))
    }

    fn remember(&self, code: &str, run: Run) {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(code.to_owned(), run);
    }

    fn take_run(&self, code: &str) -> Option<Run> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(code)
    }
}

fn refused(call: &'static str, answer: &Answer) -> TargetError {
    TargetError::Refused {
        call,
        status: answer.status.as_u16(),
        reason: answer.reason().map(str::to_owned),
    }
}

fn checked_code(kuerzel: &str) -> Result<String, TargetError> {
    let code = normalise_kuerzel(kuerzel);
    if code.is_empty() {
        return Err(TargetError::InvalidKuerzel(kuerzel.to_owned()));
    }
    Ok(code)
}

#[async_trait]
impl CalendarTarget for GoogleTarget {
    async fn list(&self, kuerzel: &str) -> Result<Vec<TargetEvent>, TargetError> {
        let code = checked_code(kuerzel)?;
        let mut calendar_id = self.calendar_id(&code).await?;
        let mut listing = self.read_events(&code, &calendar_id).await?;
        if matches!(listing, Listing::NoCalendar) {
            // The saved calendar is gone (deleted by hand): make a new one.
            tracing::warn!(kuerzel = %code, "the employee's calendar is gone; creating a new one");
            for group in [CALENDARS_GROUP, LISTING_GROUP] {
                self.state
                    .delete(group, &code)
                    .await
                    .map_err(|e| TargetError::State(e.to_string()))?;
            }
            calendar_id = self.calendar_id(&code).await?;
            listing = self.read_events(&code, &calendar_id).await?;
        }
        let Listing::Complete { events, sync_token } = listing else {
            return Err(TargetError::Unavailable(
                "the employee's calendar vanished while it was being listed".into(),
            ));
        };

        let listed = events.values().map(Listed::target_event).collect();
        self.remember(
            &code,
            Run {
                calendar_id,
                events,
                sync_token,
            },
        );
        Ok(listed)
    }

    async fn apply(&self, kuerzel: &str, plan: &SyncPlan) -> Result<ApplyReport, TargetError> {
        let code = checked_code(kuerzel)?;
        let run = match self.take_run(&code) {
            Some(run) => run,
            None => Run {
                calendar_id: self.calendar_id(&code).await?,
                events: BTreeMap::new(),
                sync_token: None,
            },
        };
        let Run {
            calendar_id,
            mut events,
            sync_token,
        } = run;
        let mut report = ApplyReport::default();

        for event in &plan.create {
            match self.insert(&calendar_id, event).await? {
                Written::Done(listed) => {
                    report.created += 1;
                    events.insert(listed.id.clone(), listed);
                }
                Written::Failed => report.errors += 1,
            }
        }
        for event in &plan.update {
            let etag = events.get(event.id.as_str()).and_then(|e| e.etag.clone());
            match self.update(&calendar_id, event, etag.as_deref()).await? {
                Written::Done(listed) => {
                    report.updated += 1;
                    events.insert(listed.id.clone(), listed);
                }
                Written::Failed => report.errors += 1,
            }
        }
        for id in &plan.delete {
            if self.delete(&calendar_id, id.as_str()).await? {
                report.deleted += 1;
                events.remove(id.as_str());
            } else {
                report.errors += 1;
            }
        }

        // Only a complete run moves the token on; otherwise the saved one still lists
        // every change since, this run's writes included.
        if let (0, Some(sync_token)) = (report.errors, sync_token) {
            let stored = StoredListing {
                calendar_id,
                sync_token,
                events,
            };
            self.save(LISTING_GROUP, &code, &stored).await?;
        }
        Ok(report)
    }

    fn describe(&self) -> String {
        format!("Google Calendar at {}", self.config.api_url)
    }
}
