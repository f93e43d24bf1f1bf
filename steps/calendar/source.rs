//! Where appointments come from: the [`CalendarSource`] trait, and [`SnapshotSource`],
//! which reads an Advoware export file. The REST API source ([`super::advoware_api`])
//! implements the same trait.
//!
//! The snapshot file holds what the Advoware API would answer, in one JSON document:
//!
//! ```json
//! {
//!   "firm": "free text, ignored",
//!   "employees": [ { "Kuerzel": "SB", "Vorname": "…", "Name": "…", "Aktiv": true } ],
//!   "appointments": {
//!     "SB": [ { "FrNr": 1001, "Text": "…", "Datum": "2027-01-12T09:00:00", … } ]
//!   }
//! }
//! ```
//!
//! `appointments` maps each employee code to the array `TermineActiveSync` returns for
//! `kuerzel=<code>` (so a general appointment appears under every code it concerns). The
//! file is read on every call, so an edited snapshot takes effect on the next sync.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::Value;

use super::advoware::{
    Employee, SourceTimeZone, Termin, normalise_kuerzel, parse_employees, parse_termine,
};

/// Why appointments or employees could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No employee has this code; the run is recorded as unknown and the calendar is not
    /// touched.
    #[error("no employee has the code {0}")]
    UnknownEmployee(String),
    /// The snapshot file cannot be read; the run stops until the path is fixed.
    #[error("cannot read the Advoware snapshot {path}: {source}")]
    Read {
        /// The configured path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The snapshot file is not in the expected shape; the run stops until it is fixed.
    #[error("the Advoware snapshot {path} is not valid: {problem}")]
    Invalid {
        /// The configured path.
        path: PathBuf,
        /// What is wrong (never a field value).
        problem: String,
    },
    /// Advoware did not answer or answered with a server error; retry later.
    #[error("Advoware is unavailable: {0}")]
    Unavailable(String),
    /// Advoware refused the credentials or the licence; fix the configuration, do not retry.
    #[error("Advoware refused access: {0}")]
    Refused(String),
}

impl SourceError {
    /// Whether running the sync again later may succeed without a fix.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The appointments of one employee in a date range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appointments {
    /// The appointments touching the range (series that overlap it included), one per
    /// `FrNr`.
    pub termine: Vec<Termin>,
    /// Records that were malformed and skipped (each logged with its `FrNr`).
    pub skipped: usize,
}

/// A system of record for appointments: Advoware's API or an export of it.
#[async_trait]
pub trait CalendarSource: Send + Sync {
    /// All employees, active or not; entries without a code are left out.
    async fn employees(&self) -> Result<Vec<Employee>, SourceError>;

    /// The appointments of `kuerzel` touching `from..=to`, series overlapping the range
    /// included. An unknown code is [`SourceError::UnknownEmployee`].
    async fn appointments(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Appointments, SourceError>;

    /// One line for the startup log: which source, where.
    fn describe(&self) -> String;

    /// The zone the source's wall-clock times are in (default Europe/Berlin).
    fn time_zone(&self) -> SourceTimeZone {
        SourceTimeZone::default()
    }
}

/// An Advoware snapshot file (see the module doc for its shape).
///
/// The parsed file is kept and reused while its size and modification time stay the same,
/// so a sync of every employee reads and parses it once, and an edited file is read again.
#[derive(Clone)]
pub struct SnapshotSource {
    path: PathBuf,
    time_zone: SourceTimeZone,
    cache: Arc<Mutex<Option<Cached>>>,
}

/// A parsed snapshot and the file state it was parsed from.
struct Cached {
    len: u64,
    modified: Option<SystemTime>,
    snapshot: Arc<Snapshot>,
}

impl std::fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotSource")
            .field("path", &self.path)
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

impl SnapshotSource {
    /// A source reading `path`, with times in Europe/Berlin.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            time_zone: SourceTimeZone::default(),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// The same, with times in another zone.
    pub fn with_time_zone(mut self, time_zone: SourceTimeZone) -> Self {
        self.time_zone = time_zone;
        self
    }

    /// The snapshot file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The parsed file: the cached one while the file is unchanged, else read anew.
    async fn load(&self) -> Result<Arc<Snapshot>, SourceError> {
        let read_error = |source| SourceError::Read {
            path: self.path.clone(),
            source,
        };
        let meta = tokio::fs::metadata(&self.path).await.map_err(read_error)?;
        let (len, modified) = (meta.len(), meta.modified().ok());
        if let Some(cached) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && cached.len == len
            && cached.modified == modified
            && modified.is_some()
        {
            return Ok(cached.snapshot.clone());
        }

        let bytes = tokio::fs::read(&self.path).await.map_err(read_error)?;
        let snapshot = Snapshot::from_json(bytes).map_err(|problem| SourceError::Invalid {
            path: self.path.clone(),
            problem,
        })?;
        let snapshot = Arc::new(snapshot);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            len,
            modified,
            snapshot: snapshot.clone(),
        });
        Ok(snapshot)
    }
}

/// A parsed snapshot: employees, and raw appointment arrays by normalised code.
struct Snapshot {
    employees: Vec<Value>,
    appointments: HashMap<String, Vec<Value>>,
}

impl Snapshot {
    fn from_json(bytes: Vec<u8>) -> Result<Self, String> {
        // Syntax errors name a line and column, never the content around them.
        let mut document: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
        let employees = match document.get_mut("employees").map(Value::take) {
            Some(Value::Array(list)) => list,
            _ => return Err("`employees` must be an array".to_owned()),
        };
        let mut appointments = HashMap::new();
        match document.get_mut("appointments").map(Value::take) {
            Some(Value::Object(by_code)) => {
                for (code, records) in by_code {
                    let Value::Array(records) = records else {
                        return Err(format!("`appointments.{code}` must be an array"));
                    };
                    appointments.insert(normalise_kuerzel(&code), records);
                }
            }
            _ => return Err("`appointments` must be an object keyed by employee code".to_owned()),
        }
        Ok(Self {
            employees,
            appointments,
        })
    }
}

#[async_trait]
impl CalendarSource for SnapshotSource {
    async fn employees(&self) -> Result<Vec<Employee>, SourceError> {
        Ok(parse_employees(&self.load().await?.employees))
    }

    async fn appointments(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Appointments, SourceError> {
        let snapshot = self.load().await?;
        let code = normalise_kuerzel(kuerzel);
        let known = snapshot
            .employees
            .iter()
            .filter_map(|e| Employee::try_from(e).ok())
            .any(|e| normalise_kuerzel(&e.kuerzel) == code);
        let Some(records) = snapshot.appointments.get(&code) else {
            return if known {
                Ok(Appointments::default())
            } else {
                Err(SourceError::UnknownEmployee(code))
            };
        };

        let parsed = parse_termine(records);
        let in_range = parsed.termine.into_iter().filter(|t| t.overlaps(from, to));
        Ok(Appointments {
            termine: merge_by_frnr(in_range),
            skipped: parsed.skipped,
        })
    }

    fn describe(&self) -> String {
        format!("Advoware snapshot {}", self.path.display())
    }

    fn time_zone(&self) -> SourceTimeZone {
        self.time_zone
    }
}

/// One appointment per `FrNr`, the most recently changed winning (as when a long window is
/// fetched in overlapping chunks), sorted by start and number.
pub fn merge_by_frnr(termine: impl IntoIterator<Item = Termin>) -> Vec<Termin> {
    let mut by_frnr: HashMap<i64, Termin> = HashMap::new();
    for termin in termine {
        match by_frnr.get(&termin.frnr) {
            Some(held) if held.zuletzt_geaendert_am > termin.zuletzt_geaendert_am => {}
            _ => {
                by_frnr.insert(termin.frnr, termin);
            }
        }
    }
    let mut merged: Vec<Termin> = by_frnr.into_values().collect();
    merged.sort_by_key(|t| (t.datum, t.frnr));
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::calendar::testing::{day, termin};

    #[tokio::test]
    async fn the_parsed_file_is_reused_until_the_file_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_file(&dir);
        let source = SnapshotSource::new(&path);
        let first = source.load().await.expect("load");
        let again = source.load().await.expect("load");
        assert!(
            Arc::ptr_eq(&first, &again),
            "an unchanged file is not parsed again"
        );

        let edited = json!({"employees": [{"Kuerzel": "ZZ", "Name": "Neu"}], "appointments": {}});
        std::fs::write(&path, edited.to_string()).expect("write");
        let codes: Vec<String> = source
            .employees()
            .await
            .expect("employees")
            .into_iter()
            .map(|e| e.kuerzel)
            .collect();
        assert_eq!(codes, ["ZZ"], "an edited file is read again");
    }

    fn snapshot_file(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("snapshot.json");
        let document = json!({
            "employees": [
                {"Kuerzel": "SB", "Name": "Brenner"},
                {"Kuerzel": "MÜ", "Name": "Übelacker", "Aktiv": false},
                {"Kuerzel": "TK", "Name": "Kranich"}
            ],
            "appointments": {
                "SB": [
                    {"FrNr": 1, "Datum": "2026-12-01T09:00:00"},
                    {"FrNr": 2, "Datum": "2025-01-06T09:00:00", "DatumBis": "0001-01-01T00:00:00Z",
                     "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2},
                    {"FrNr": 3, "Datum": "2025-01-06T09:00:00", "DatumBis": "2025-06-30T00:00:00",
                     "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2},
                    {"FrNr": 4, "Datum": "2028-01-01T09:00:00"},
                    {"FrNr": 5, "Datum": "kaputt"}
                ],
                "mü": []
            }
        });
        std::fs::write(&path, document.to_string()).expect("snapshot written");
        path
    }

    #[tokio::test]
    async fn appointments_in_the_window_include_overlapping_series() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = SnapshotSource::new(snapshot_file(&dir));
        let found = source
            .appointments("sb", day(2026, 11, 4), day(2027, 12, 4))
            .await
            .expect("read");
        let frnrs: Vec<i64> = found.termine.iter().map(|t| t.frnr).collect();
        assert_eq!(frnrs, [2, 1]);
        assert_eq!(found.skipped, 1);
    }

    #[tokio::test]
    async fn employees_and_unknown_codes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = SnapshotSource::new(snapshot_file(&dir));
        let codes: Vec<String> = source
            .employees()
            .await
            .expect("read")
            .into_iter()
            .map(|e| e.kuerzel)
            .collect();
        assert_eq!(codes, ["SB", "MÜ", "TK"]);

        let (from, to) = (day(2026, 1, 1), day(2027, 1, 1));
        let lowercase_key = source.appointments("MÜ", from, to).await.expect("read");
        assert_eq!(lowercase_key, Appointments::default());
        let no_list = source.appointments("TK", from, to).await.expect("read");
        assert_eq!(no_list, Appointments::default());
        let unknown = source.appointments("XY", from, to).await;
        assert!(matches!(unknown, Err(SourceError::UnknownEmployee(code)) if code == "XY"));
    }

    #[tokio::test]
    async fn a_missing_or_broken_snapshot_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = SnapshotSource::new(dir.path().join("nope.json"));
        assert!(matches!(
            missing.employees().await,
            Err(SourceError::Read { .. })
        ));

        let path = dir.path().join("broken.json");
        std::fs::write(&path, r#"{"employees": [], "appointments": []}"#).expect("written");
        let error = SnapshotSource::new(&path)
            .employees()
            .await
            .expect_err("invalid");
        assert_eq!(
            error.to_string(),
            format!(
                "the Advoware snapshot {} is not valid: `appointments` must be an object keyed by employee code",
                path.display()
            )
        );
        assert!(!error.is_retryable());
    }

    #[test]
    fn merging_chunks_keeps_the_latest_change_per_number() {
        let old =
            termin(json!({"FrNr": 7, "Text": "alt", "ZuletztGeaendertAm": "2026-01-01T00:00:00Z"}));
        let new =
            termin(json!({"FrNr": 7, "Text": "neu", "ZuletztGeaendertAm": "2026-02-01T00:00:00Z"}));
        let other = termin(json!({"FrNr": 8, "Datum": "2025-06-01T09:00:00"}));
        let merged = merge_by_frnr([new.clone(), other.clone(), old.clone()]);
        assert_eq!(merged, [other.clone(), new.clone()]);
        assert_eq!(merge_by_frnr([old, new.clone()]), [new]);
    }
}
