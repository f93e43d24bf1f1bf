//! The steps of the flow `advoware_cal_sync`: the Advoware calendar sync on the runtime.
//!
//! ```text
//!  POST /advoware/calendar/sync ─► Calendar Sync API ─┬─ ALL ─► calendar_sync_all ─► Calendar Sync All ─┐
//!  Calendar Sync Cron (schedule) ─► calendar_sync_all ┘                                                 │
//!                                                     └─ code (lock taken) ─┐    one per active employee │
//!                                                                          ▼                            ▼
//!                                                      calendar_sync_employee ─► Calendar Sync Employee
//!                                                      (lock, read, plan, apply, record the run)
//!  GET /advoware/calendar/sync/status[/{kuerzel}] ─► Calendar Sync Status
//!  GET /advoware/calendar/{kuerzel}.ics           ─► Calendar Feed
//! ```
//!
//! The domain work is in [`crate::calendar`]; these modules are the glue: input types,
//! locks, events and the record of each run. [`CalendarService`] holds the configured
//! source and target and is provided to the handlers at start ([`install`]).

pub mod api;
pub mod employee;
pub mod kuerzel;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;

use stepline_runtime::app::App;

use stepline_runtime::store::StateStore;

use crate::calendar::advoware_api::{AdvowareApiConfig, AdvowareApiSource};
use crate::calendar::google::{GoogleConfig, GoogleTarget};
use crate::calendar::{CalendarSource, CalendarTarget, IcsTarget, SnapshotSource, SourceTimeZone};

/// The topic that starts a sync of every active employee.
pub const TOPIC_ALL: &str = "calendar_sync_all";
/// The topic that starts one employee's sync.
pub const TOPIC_EMPLOYEE: &str = "calendar_sync_employee";
/// The state group holding the last run per employee code.
pub const RUNS_GROUP: &str = "calendar_sync:runs";

/// The calendar sync's configuration, from the environment.
#[derive(Debug, Clone)]
pub struct CalendarConfig {
    /// The Advoware export file used as source (`STEPLINE_ADVOWARE_SNAPSHOT`).
    pub snapshot: PathBuf,
    /// Zone of Advoware's wall-clock times (`STEPLINE_SOURCE_TIMEZONE`, default
    /// `Europe/Berlin`).
    pub source_time_zone: SourceTimeZone,
    /// Folder of the ICS calendars (default `<data dir>/calendars`).
    pub ics_dir: PathBuf,
    /// Days before today that a sync reconciles (`STEPLINE_SYNC_DAYS_BACK`, default 30).
    pub days_back: u32,
    /// Days after today that a sync reconciles (`STEPLINE_SYNC_DAYS_AHEAD`, default 365).
    pub days_ahead: u32,
    /// The Advoware REST API source, when any `ADVOWARE_*` variable is set (see
    /// [`AdvowareApiConfig`]); else the snapshot file is the source.
    pub advoware: Option<AdvowareApiConfig>,
    /// The Google Calendar target, when `GOOGLE_SERVICE_ACCOUNT_FILE` is set; else the ICS
    /// files are the target.
    pub google: Option<GoogleConfig>,
}

impl CalendarConfig {
    /// Reads the settings; `data_dir` is the server's data folder.
    pub fn from_env(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let snapshot = env_or(
            "STEPLINE_ADVOWARE_SNAPSHOT",
            "samples/advoware_snapshot.json",
        );
        let zone = env_or("STEPLINE_SOURCE_TIMEZONE", "Europe/Berlin");
        let source_time_zone = SourceTimeZone::from_name(&zone).map_err(|_| {
            anyhow::anyhow!("STEPLINE_SOURCE_TIMEZONE: `{zone}` is not an IANA time zone")
        })?;
        Ok(Self {
            snapshot: PathBuf::from(snapshot),
            source_time_zone,
            ics_dir: data_dir.join("calendars"),
            days_back: env_days("STEPLINE_SYNC_DAYS_BACK", 30)?,
            days_ahead: env_days("STEPLINE_SYNC_DAYS_AHEAD", 365)?,
            advoware: AdvowareApiConfig::from_env()?,
            google: GoogleConfig::from_env()?,
        })
    }
}

/// `full_content` defaults to `true` in every payload that carries it.
fn default_true() -> bool {
    true
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn env_days(name: &str, default: u32) -> anyhow::Result<u32> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().ok().filter(|d| *d <= 3650).ok_or_else(|| {
                anyhow::anyhow!("{name}: `{v}` is not a number of days from 0 to 3650")
            })
        }
        _ => Ok(default),
    }
}

/// What the calendar steps share: the source, the target and the window.
pub struct CalendarService {
    pub source: Arc<dyn CalendarSource>,
    pub target: Arc<dyn CalendarTarget>,
    pub config: CalendarConfig,
}

impl CalendarService {
    /// The source and the target of `config`: the Advoware API when configured, else the
    /// snapshot; Google Calendar when configured (keeping its calendar ids and sync tokens
    /// in `state`), else ICS files. Fails on an unusable Google key or HTTP client.
    pub fn from_config(config: CalendarConfig, state: Arc<dyn StateStore>) -> anyhow::Result<Self> {
        let source: Arc<dyn CalendarSource> = match &config.advoware {
            Some(api) => Arc::new(
                AdvowareApiSource::new(api.clone())?.with_time_zone(config.source_time_zone),
            ),
            None => Arc::new(
                SnapshotSource::new(&config.snapshot).with_time_zone(config.source_time_zone),
            ),
        };
        let target: Arc<dyn CalendarTarget> = match &config.google {
            Some(google) => Arc::new(GoogleTarget::new(google.clone(), state)?),
            None => Arc::new(IcsTarget::new(&config.ics_dir)),
        };
        Ok(Self {
            source,
            target,
            config,
        })
    }

    /// The sync window around today (the server's local date).
    pub fn window(&self) -> crate::calendar::SyncWindow {
        let today = chrono::Local::now().date_naive();
        crate::calendar::SyncWindow::around(today, self.config.days_back, self.config.days_ahead)
    }
}

/// Provides the calendar service to the steps, and logs which source and target are
/// active. Called from the binary's start hook.
pub fn install(app: &Arc<App>, service: CalendarService) {
    tracing::info!(
        source = %service.source.describe(),
        target = %service.target.describe(),
        days_back = service.config.days_back,
        days_ahead = service.config.days_ahead,
        "calendar sync configured"
    );
    if service.config.advoware.is_none() && !service.config.snapshot.is_file() {
        tracing::warn!(
            snapshot = %service.config.snapshot.display(),
            "the Advoware snapshot file does not exist: every sync will fail until it does \
             (set STEPLINE_ADVOWARE_SNAPSHOT, or run from the repository root)"
        );
    }
    app.provide(Arc::new(service));
}
