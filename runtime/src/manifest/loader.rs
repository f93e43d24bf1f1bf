//! Loading a folder of manifests: find the files, read each into a located YAML tree, check
//! it against the manifest schema and the step rules, then check the set as a whole against
//! itself and the registrations.
//!
//! ```text
//!  folder ──► files (sorted; *.yaml, *.yml, *.md with front matter)
//!        ──► located::parse     YAML → JSON value + line of every key   (syntax, duplicates)
//!        ──► status: disabled?  skipped here, never validated further
//!        ──► schema_check       unknown keys, missing fields, types, enum values
//!        ──► serde              Manifest
//!        ──► step_rules         keys per type, route, cron, time zone, input/body schemas
//!        ──► set_rules          duplicates, routes, handler registrations; warnings
//! ```
//!
//! Nothing stops at the first problem: every file is read and checked, and all problems come
//! back together, sorted by file and line. A file that fails the schema check is left out of
//! the set rules, so that one mistake is not reported again as a consequence elsewhere.
//!
//! Known limits: the step rules of a file run only once it passes the schema check, so a file
//! with a schema error shows its rule errors in the next run. The schema does not bound
//! integers to `u32`, so `max_retries: 99999999999` is reported by serde, at the manifest's
//! first line and without the key's name (the value is named).

mod located;
mod route;
mod schema_check;
mod set_rules;
mod step_rules;
mod suggest;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use located::Located;
use route::Route;
use schema_check::SchemaCheck;

use super::{LoadError, Manifest, ManifestSet, Problem, Source, Step};
use crate::registry::Registry;

/// A manifest that passed the schema check, with what the later rules need.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub file: PathBuf,
    pub doc: Located,
    pub manifest: Manifest,
    /// The Markdown body of a `.md` manifest.
    pub docs: Option<String>,
    /// Set by the step rules for an API step with a valid path.
    pub route: Option<Route>,
}

pub(super) fn load_dir(dir: &Path, registry: &Registry) -> Result<ManifestSet, LoadError> {
    let (files, mut problems) = find_files(dir)?;
    let check = SchemaCheck::new().map_err(|e| internal(dir, &e))?;

    let mut steps = Vec::new();
    for file in &files {
        match load_file(file, &check) {
            Ok(Some(step)) => steps.push(step),
            Ok(None) => {}
            Err(mut found) => problems.append(&mut found),
        }
    }
    for step in &mut steps {
        let (route, mut found) = step_rules::check(&step.manifest, &step.doc, &step.file);
        step.route = route;
        problems.append(&mut found);
    }
    problems.extend(set_rules::check(&steps, registry));

    if !problems.is_empty() {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        return Err(LoadError { problems });
    }
    Ok(into_set(dir, steps))
}

fn into_set(dir: &Path, loaded: Vec<Loaded>) -> ManifestSet {
    let mut warnings = set_rules::warnings(&loaded);
    if loaded.is_empty() {
        warnings.push(Problem {
            file: dir.to_path_buf(),
            line: 0,
            message: "no steps found".into(),
            hint: Some("add a manifest such as `hello.yaml` with `type:` and `name:`".into()),
        });
    }
    warnings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));

    let mut steps: Vec<Step> = loaded
        .into_iter()
        .map(|l| Step {
            source: Source {
                line: l.doc.line(""),
                file: l.file,
            },
            manifest: l.manifest,
            docs: l.docs,
            route_suffix: l.route.as_ref().and_then(|r| r.suffix.clone()),
            route: l.route.map(|r| r.axum),
        })
        .collect();
    steps.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    ManifestSet { steps, warnings }
}

fn problem(file: &Path, line: usize, message: String, hint: &str) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        message,
        hint: Some(hint.to_string()),
    }
}

fn internal(dir: &Path, error: &str) -> LoadError {
    LoadError {
        problems: vec![problem(
            dir,
            0,
            format!("the manifest schema does not compile: {error}"),
            "this is a bug in stepline; please report it",
        )],
    }
}

/// The manifest candidates under `dir`, sorted by path, and the folders that could not be
/// read. A missing folder is an error of its own.
fn find_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<Problem>), LoadError> {
    if !dir.is_dir() {
        let message = format!("manifest folder `{}` does not exist", dir.display());
        let hint = "create it, or point to the folder that holds the manifests";
        return Err(LoadError {
            problems: vec![problem(dir, 0, message, hint)],
        });
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    visit(dir, &mut files, &mut problems);
    Ok((files, problems))
}

/// Collects candidates depth-first in name order; hidden entries (`.git`) are skipped.
fn visit(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let hint = "check the folder's permissions";
            problems.push(problem(
                dir,
                0,
                format!("cannot read the folder: {e}"),
                hint,
            ));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());

    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // Follows a symlink to a file, but never into a linked folder (no cycles).
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            visit(&path, files, problems);
        } else if path.is_file() && extension(&path).is_some() {
            files.push(path);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Markdown,
}

fn extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yaml" | "yml" => Some(Format::Yaml),
        "md" => Some(Format::Markdown),
        _ => None,
    }
}

/// Reads one file. `Ok(None)`: nothing to load (a Markdown file without front matter, or a
/// disabled step).
fn load_file(file: &Path, check: &SchemaCheck) -> Result<Option<Loaded>, Vec<Problem>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let hint = "check that the file is readable UTF-8 text";
        vec![problem(file, 0, format!("cannot read the file: {e}"), hint)]
    })?;

    let (yaml, line_offset, docs) = match extension(file) {
        Some(Format::Markdown) => match front_matter(&text) {
            None => return Ok(None),
            Some(Err(message)) => {
                let hint = "end the front matter with a line of three dashes: `---`";
                return Err(vec![problem(file, 1, message, hint)]);
            }
            Some(Ok(fm)) => (fm.yaml, 1, fm.docs),
        },
        _ => (text.as_str(), 0, None),
    };

    let doc = located::parse(yaml, line_offset).map_err(|errors| {
        let problems = errors.into_iter().map(|e| Problem {
            file: file.to_path_buf(),
            line: e.line,
            message: e.message,
            hint: e.hint,
        });
        problems.collect::<Vec<_>>()
    })?;
    if doc.value.is_null() {
        let hint = "write at least `type:` and `name:`, or delete the file";
        return Err(vec![problem(file, 1, "the manifest is empty".into(), hint)]);
    }
    if doc.value.get("status").and_then(|s| s.as_str()) == Some("disabled") {
        tracing::debug!(file = %file.display(), "skipping disabled step");
        return Ok(None);
    }

    manifest(file, doc, docs, check).map(Some)
}

/// Checks a document against the schema and reads it into a [`Manifest`].
fn manifest(
    file: &Path,
    doc: Located,
    docs: Option<String>,
    check: &SchemaCheck,
) -> Result<Loaded, Vec<Problem>> {
    let problems = check.check(file, &doc);
    if !problems.is_empty() {
        return Err(problems);
    }

    // The schema is derived from the model, so this fails only where the schema is looser
    // than serde (numbers beyond u32, durations that overflow).
    let manifest: Manifest = serde_json::from_value(doc.value.clone()).map_err(|e| {
        let message = format!("the manifest does not fit the format: {e}");
        vec![problem(
            file,
            doc.line(""),
            message,
            "see `stepline schema` for the format",
        )]
    })?;
    Ok(Loaded {
        file: file.to_path_buf(),
        doc,
        manifest,
        docs,
        route: None,
    })
}

/// The parts of a Markdown manifest.
#[derive(Debug, PartialEq, Eq)]
struct FrontMatter<'a> {
    /// The YAML between the `---` lines; it starts on line 2 of the file.
    yaml: &'a str,
    /// The Markdown after the closing `---`, trimmed; `None` when blank.
    docs: Option<String>,
}

/// Splits a Markdown file into front matter and body. `None`: the file does not start with a
/// `---` line, so it is plain Markdown (a README). `Err`: the front matter is never closed.
fn front_matter(text: &str) -> Option<Result<FrontMatter<'_>, String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    if first.trim_end() != "---" {
        return None;
    }

    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let body = rest[offset + line.len()..].trim();
            return Some(Ok(FrontMatter {
                yaml: &rest[..offset],
                docs: (!body.is_empty()).then(|| body.to_string()),
            }));
        }
        offset += line.len();
    }
    Some(Err(
        "the front matter opened on line 1 is never closed".into()
    ))
}
