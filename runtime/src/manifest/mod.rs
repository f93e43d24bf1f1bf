//! Manifests: the model ([`model`]), the strict loader and its validation, and the JSON
//! Schema of the format.
//!
//! ```text
//!  folder tree ──► *.yaml / *.yml / *.md (front matter) ──► located YAML ──► JSON value
//!        ──► JSON Schema check (unknown key, missing field, wrong type)
//!        ──► step rules (per type) and set rules (duplicates, handlers, routes, cron)
//!        ──► ManifestSet, or every Problem at once
//! ```

mod loader;
pub mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model::*;

use crate::registry::Registry;

/// Where a step was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: PathBuf,
    /// 1-based line of the manifest's first key.
    pub line: usize,
}

/// One loaded, validated step.
#[derive(Debug, Clone)]
pub struct Step {
    pub manifest: Manifest,
    pub source: Source,
    /// The Markdown body of a `.md` manifest: the step's documentation.
    pub docs: Option<String>,
    /// The route path in axum syntax (`{param}`), for API steps.
    pub route: Option<String>,
    /// For a path ending in `{name}.ext`: the parameter and the ending every request must
    /// carry; the handler gets the parameter without it.
    pub route_suffix: Option<(String, String)>,
}

impl Step {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn kind(&self) -> StepKind {
        self.manifest.kind
    }
}

/// A problem found in a manifest: an error that stops loading, or a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Every problem that stopped a manifest set from loading.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} manifest error(s):\n{}", .problems.len(), render(.problems))]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A validated manifest set: the steps that are loaded (active and deprecated), and the
/// warnings found on the way.
#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    /// Sorted by name.
    pub steps: Vec<Step>,
    pub warnings: Vec<Problem>,
}

impl ManifestSet {
    /// Loads and validates every manifest under `dir` against the registrations.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Self, LoadError> {
        loader::load_dir(dir, registry)
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name() == name)
    }

    /// Event steps subscribed to each topic (routed subscriptions only).
    pub fn subscribers(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for step in self.steps.iter().filter(|s| s.kind() == StepKind::Event) {
            for topic in &step.manifest.subscribes {
                map.entry(topic.clone())
                    .or_default()
                    .push(step.name().to_string());
            }
        }
        map
    }
}

/// The JSON Schema of the manifest format, for editors and `stepline schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
}
