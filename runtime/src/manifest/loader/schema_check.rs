//! Checks a manifest document against the manifest JSON Schema ([`super::super::json_schema`])
//! and turns every violation into a [`Problem`] at the line of what is wrong.
//!
//! The schema is derived from the Rust model, so this check and serde agree on what a valid
//! manifest is; running it first gives every error of a file at once, where serde would stop
//! at the first. Violations under `anyOf`/`oneOf` (optional fields, `emits` entries,
//! durations, enums) are reduced to the one a person can act on: the branch that got furthest,
//! all accepted values, or all accepted types.

use std::path::Path;

use jsonschema::ValidationError;
use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::located::{Located, escape};
use super::suggest::closest;
use crate::manifest::Problem;

/// The compiled manifest schema.
pub(crate) struct SchemaCheck {
    schema: Value,
    validator: Validator,
}

/// One violation, reduced to what the message needs.
#[derive(Debug, Clone, PartialEq)]
enum Issue {
    UnknownKeys {
        keys: Vec<String>,
        allowed: Vec<String>,
    },
    Missing {
        field: String,
    },
    WrongType {
        found: Value,
        expected: Vec<String>,
    },
    NotOneOf {
        found: Value,
        options: Vec<String>,
    },
    Minimum {
        found: Value,
        limit: Value,
    },
    Pattern {
        found: Value,
        pattern: String,
    },
    Other {
        message: String,
    },
}

/// An [`Issue`] and the JSON pointer of the value it concerns.
#[derive(Debug, Clone, PartialEq)]
struct At {
    pointer: String,
    issue: Issue,
}

impl SchemaCheck {
    /// Compiles the manifest schema; fails only if the generated schema is itself broken.
    pub fn new() -> Result<Self, String> {
        let schema = crate::manifest::json_schema();
        let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
        Ok(Self { schema, validator })
    }

    /// Every schema violation of `doc`, as problems of `file`.
    pub fn check(&self, file: &Path, doc: &Located) -> Vec<Problem> {
        let mut found = Vec::new();
        for error in self.validator.iter_errors(&doc.value) {
            self.collect(&error, &mut found);
        }
        found
            .iter()
            .flat_map(|at| describe(at, file, doc))
            .collect()
    }

    fn collect(&self, error: &ValidationError<'_>, out: &mut Vec<At>) {
        let pointer = error.instance_path().as_str().to_string();
        let found = || error.instance().clone().into_owned();
        let issue = match error.kind() {
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                let before = out.len();
                self.combine(&pointer, context, out);
                if out.len() > before {
                    return;
                }
                Issue::Other {
                    message: error.to_string(),
                }
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => Issue::UnknownKeys {
                keys: unexpected.clone(),
                allowed: self.allowed_keys(error.schema_path().as_str()),
            },
            ValidationErrorKind::Required { property } => Issue::Missing {
                field: property.as_str().unwrap_or_default().to_string(),
            },
            ValidationErrorKind::Type { kind } => Issue::WrongType {
                found: found(),
                expected: type_names(kind),
            },
            ValidationErrorKind::Enum { options } => Issue::NotOneOf {
                found: found(),
                options: options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(plain)
                    .collect(),
            },
            ValidationErrorKind::Constant { expected_value } => Issue::NotOneOf {
                found: found(),
                options: vec![plain(expected_value)],
            },
            ValidationErrorKind::Minimum { limit } => Issue::Minimum {
                found: found(),
                limit: limit.clone(),
            },
            ValidationErrorKind::Pattern { pattern } => Issue::Pattern {
                found: found(),
                pattern: pattern.clone(),
            },
            _ => Issue::Other {
                message: error.to_string(),
            },
        };
        out.push(At { pointer, issue });
    }

    /// Reduces the branches of a failed `anyOf`/`oneOf` at `pointer` to what to report: the
    /// branch whose type fitted (with fewest issues), else every accepted value, else every
    /// accepted type.
    fn combine(
        &self,
        pointer: &str,
        branches: &[Vec<ValidationError<'static>>],
        out: &mut Vec<At>,
    ) {
        let branches: Vec<Vec<At>> = branches
            .iter()
            .map(|errors| {
                let mut found = Vec::new();
                errors.iter().for_each(|e| self.collect(e, &mut found));
                found
            })
            .collect();
        let only = |b: &Vec<At>, test: fn(&Issue) -> bool| {
            b.iter().all(|at| at.pointer == pointer && test(&at.issue))
        };
        let is_type = |i: &Issue| matches!(i, Issue::WrongType { .. });
        let is_value = |i: &Issue| matches!(i, Issue::NotOneOf { .. });

        let fitting = branches
            .iter()
            .filter(|b| !only(b, is_type) && !only(b, is_value))
            .min_by_key(|b| b.len());
        if let Some(best) = fitting {
            out.extend(best.iter().cloned());
            return;
        }

        let values: Vec<&At> = branches
            .iter()
            .filter(|b| only(b, is_value))
            .flatten()
            .collect();
        let merged = if values.is_empty() {
            merge(branches.iter().flatten(), |i| match i {
                Issue::WrongType { found, expected } => Some((found, expected)),
                _ => None,
            })
            .map(|(found, expected)| Issue::WrongType { found, expected })
        } else {
            merge(values.into_iter(), |i| match i {
                Issue::NotOneOf { found, options } => Some((found, options)),
                _ => None,
            })
            .map(|(found, options)| Issue::NotOneOf { found, options })
        };
        if let Some(issue) = merged {
            out.push(At {
                pointer: pointer.to_string(),
                issue,
            });
        }
    }

    /// The keys the schema object holding `keyword_path` (an `additionalProperties` keyword)
    /// allows.
    fn allowed_keys(&self, keyword_path: &str) -> Vec<String> {
        let parent = keyword_path
            .rsplit_once('/')
            .map_or("", |(parent, _)| parent);
        self.schema
            .pointer(parent)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|props| props.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Joins the lists of the issues `pick` selects, keeping the first `found` and each name once.
fn merge<'a>(
    ats: impl Iterator<Item = &'a At>,
    pick: impl Fn(&'a Issue) -> Option<(&'a Value, &'a Vec<String>)>,
) -> Option<(Value, Vec<String>)> {
    let mut found = None;
    let mut names: Vec<String> = Vec::new();
    for (value, list) in ats.filter_map(|at| pick(&at.issue)) {
        found.get_or_insert_with(|| value.clone());
        for name in list {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    found.map(|found| (found, names))
}

fn type_names(kind: &TypeKind) -> Vec<String> {
    match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.into_iter().map(|t| t.to_string()).collect(),
    }
}

/// A value as written: strings without quotes, anything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `/emits/1/topic` → `emits[1].topic`, the way a person names a place in a manifest.
pub(crate) fn label(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// `in `queue`` for a nested place, nothing at the top level.
fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" in `{}`", label(pointer))
    }
}

/// The problems of one issue: one per unknown key (at the key's own line), else one.
fn describe(at: &At, file: &Path, doc: &Located) -> Vec<Problem> {
    let problem = |pointer: &str, (message, hint): (String, String)| Problem {
        file: file.to_path_buf(),
        line: doc.line(pointer),
        message,
        hint: Some(hint),
    };
    let p = at.pointer.as_str();
    match &at.issue {
        Issue::UnknownKeys { keys, allowed } => keys
            .iter()
            .map(|key| {
                let message = format!("unknown key `{key}`{}", place(p));
                let text = (message, unknown_key_hint(key, allowed));
                problem(&format!("{p}/{}", escape(key)), text)
            })
            .collect(),
        issue => vec![problem(p, explain(p, issue))],
    }
}

/// The message and hint of an issue at `pointer` (other than unknown keys).
fn explain(pointer: &str, issue: &Issue) -> (String, String) {
    const SEE_SCHEMA: &str = "see `stepline schema` for the format";
    let name = label(pointer);
    match issue {
        Issue::Missing { field } => (
            format!("missing required key `{field}`{}", place(pointer)),
            format!("add `{field}:` with a value"),
        ),
        Issue::WrongType { found, .. } if pointer.is_empty() => (
            format!(
                "a manifest must be a mapping of keys, not {}",
                kind_of(found)
            ),
            "start with `type:` and `name:` lines".into(),
        ),
        Issue::WrongType { found, expected } => (
            format!(
                "`{name}` must be {}, not {}",
                expected_types(expected),
                kind_of(found)
            ),
            type_hint(expected),
        ),
        Issue::NotOneOf { found, options } => (
            format!(
                "`{name}` must be one of {}, not `{}`",
                quoted(options),
                plain(found)
            ),
            match closest(&plain(found), options.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "use one of the listed values".into(),
            },
        ),
        Issue::Minimum { found, limit } => (
            format!("`{name}` must be at least {limit}, not {found}"),
            format!("use a number of at least {limit}"),
        ),
        Issue::Pattern { found, pattern } if is_duration_pattern(pattern) => (
            format!("`{name}` is not a duration: `{}`", plain(found)),
            "write e.g. `250ms`, `30s`, `5m` or `1h`, or a number of seconds".into(),
        ),
        Issue::Pattern { found, pattern } => (
            format!("`{name}` does not match `{pattern}`: `{}`", plain(found)),
            SEE_SCHEMA.into(),
        ),
        Issue::Other { message } => (format!("`{name}`: {message}"), SEE_SCHEMA.into()),
        // Described key by key in `describe`; kept here for completeness.
        Issue::UnknownKeys { keys, .. } => (
            format!("unknown keys {}{}", quoted(keys), place(pointer)),
            SEE_SCHEMA.into(),
        ),
    }
}

fn unknown_key_hint(key: &str, allowed: &[String]) -> String {
    match closest(key, allowed.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("allowed keys here: {}", allowed.join(", ")),
    }
}

/// The only pattern in the manifest schema is the one of durations (`250ms`, `5m`).
fn is_duration_pattern(pattern: &str) -> bool {
    pattern.contains("ms|s|m|h")
}

fn quoted(options: &[String]) -> String {
    options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a value is, in the words of YAML.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "true/false",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `a string or a mapping`: the accepted JSON types in YAML words, leaving out null when
/// something else is accepted (null only stands for an absent optional field).
fn expected_types(expected: &[String]) -> String {
    let words: Vec<&str> = expected
        .iter()
        .filter(|t| expected.len() == 1 || *t != "null")
        .map(|t| match t.as_str() {
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "true or false",
            "array" => "a list",
            "object" => "a mapping",
            _ => "empty",
        })
        .collect();
    words.join(" or ")
}

fn type_hint(expected: &[String]) -> String {
    let first = expected.iter().find(|t| *t != "null").map(String::as_str);
    match first {
        Some("string") => "write text; quote it if it looks like a number or true/false".into(),
        Some("integer") => "write a whole number without quotes".into(),
        Some("number") => "write a number without quotes".into(),
        Some("boolean") => "write `true` or `false`".into(),
        Some("array") => "write a list, e.g. `[a, b]` or one `- item` per line".into(),
        Some("object") => "write nested `key: value` lines".into(),
        _ => "see `stepline schema` for the format".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::loader::located;

    fn check(text: &str) -> Vec<(usize, String, String)> {
        let doc = located::parse(text, 0).expect("valid YAML");
        let check = SchemaCheck::new().expect("schema compiles");
        check
            .check(Path::new("m.yaml"), &doc)
            .into_iter()
            .map(|p| (p.line, p.message, p.hint.unwrap_or_default()))
            .collect()
    }

    fn at(line: usize, message: &str, hint: &str) -> (usize, String, String) {
        (line, message.to_string(), hint.to_string())
    }

    #[test]
    fn a_valid_manifest_passes() {
        let text = "type: event\nname: a\nsubscribes: [x]\nemits: [y, {topic: z, conditional: true}]\nqueue: {backoff: 2s, timeout: 30}\n";
        assert_eq!(check(text), vec![]);
    }

    #[test]
    fn every_violation_is_reported_at_its_line() {
        let text = "type: worker\nsubscribe: [x]\nmethod: FETCH\npath: 42\nemits:\n  - 7\n  - topic: t\n    lable: x\nqueue:\n  max_retries: many\n  backoff: 5 days\n  concurrency: -1\nstatus: gone\n";
        let mut found = check(text);
        found.sort();
        assert_eq!(
            found,
            vec![
                at(
                    1,
                    "`type` must be one of `api`, `event`, `cron`, `noop`, not `worker`",
                    "use one of the listed values"
                ),
                at(1, "missing required key `name`", "add `name:` with a value"),
                at(2, "unknown key `subscribe`", "did you mean `subscribes`?"),
                at(
                    3,
                    "`method` must be one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, not `FETCH`",
                    "use one of the listed values"
                ),
                at(
                    4,
                    "`path` must be a string, not an integer",
                    "write text; quote it if it looks like a number or true/false"
                ),
                at(
                    6,
                    "`emits[0]` must be a string or a mapping, not an integer",
                    "write text; quote it if it looks like a number or true/false"
                ),
                at(
                    8,
                    "unknown key `lable` in `emits[1]`",
                    "did you mean `label`?"
                ),
                at(
                    10,
                    "`queue.max_retries` must be an integer, not a string",
                    "write a whole number without quotes"
                ),
                at(
                    11,
                    "`queue.backoff` is not a duration: `5 days`",
                    "write e.g. `250ms`, `30s`, `5m` or `1h`, or a number of seconds"
                ),
                at(
                    12,
                    "`queue.concurrency` must be at least 0, not -1",
                    "use a number of at least 0"
                ),
                at(
                    13,
                    "`status` must be one of `active`, `deprecated`, `disabled`, not `gone`",
                    "use one of the listed values"
                ),
            ]
        );
    }

    #[test]
    fn unknown_keys_without_a_near_match_list_the_allowed_ones() {
        let found = check("type: event\nname: a\nqueue:\n  retries_max: 3\n");
        assert_eq!(
            found,
            vec![at(
                4,
                "unknown key `retries_max` in `queue`",
                "allowed keys here: backoff, concurrency, group_by, max_backoff, max_retries, timeout"
            )]
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping() {
        let found = check("- type: api\n");
        assert_eq!(
            found,
            vec![at(
                1,
                "a manifest must be a mapping of keys, not a list",
                "start with `type:` and `name:` lines"
            )]
        );
    }

    #[test]
    fn labels_of_pointers() {
        assert_eq!(label(""), "");
        assert_eq!(label("/emits/1/topic"), "emits[1].topic");
        assert_eq!(label("/input/a~1b"), "input.a/b");
    }
}
