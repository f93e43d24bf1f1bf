//! The rules one manifest must follow on its own, beyond the JSON Schema: which keys each step
//! type takes and needs, a valid route, cron expression and time zone, and valid JSON Schemas
//! in `input` and `body`.
//!
//! Each rule looks at a manifest that passed the schema check and reports at the line of the
//! key it concerns; all rules run, so a file's problems come out together.

use std::path::Path;

use croner::parser::{CronParser, Seconds};

use super::located::Located;
use super::route::{self, Route};
use super::suggest::closest;
use crate::manifest::{Manifest, Problem, StepKind};

use StepKind::{Api, Cron, Event, Noop};

/// Keys that only some step types take, with what to do when another type has one.
const KEY_KINDS: &[(&str, &[StepKind], &str)] = &[
    (
        "path",
        &[Api],
        "remove it; only api steps are routed over HTTP",
    ),
    (
        "method",
        &[Api],
        "remove it; only api steps are routed over HTTP",
    ),
    (
        "body",
        &[Api],
        "remove it; an event step declares its payload in `input`",
    ),
    (
        "subscribes",
        &[Event],
        "remove it, or use `virtual_subscribes` to draw the edge without routing events",
    ),
    (
        "input",
        &[Event],
        "remove it; an api step declares its request body in `body`",
    ),
    (
        "queue",
        &[Event],
        "remove it; delivery settings apply to event steps",
    ),
    ("cron", &[Cron], "remove it, or change `type` to `cron`"),
    (
        "timezone",
        &[Cron],
        "remove it; the time zone belongs to a `cron` schedule",
    ),
    (
        "emits",
        &[Api, Event, Cron],
        "noop steps are never run; use `virtual_emits` to draw the edge",
    ),
    (
        "handler",
        &[Api, Event, Cron],
        "noop steps are never run and have no handler; remove it",
    ),
];

/// Reports problems of one manifest to `file`, at the lines of its document.
struct Report<'a> {
    file: &'a Path,
    doc: &'a Located,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn add(&mut self, pointer: &str, message: String, hint: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line: self.doc.line(pointer),
            message,
            hint: Some(hint.into()),
        });
    }
}

/// Checks one manifest; returns its route (for a valid API path) and its problems.
pub(crate) fn check(
    manifest: &Manifest,
    doc: &Located,
    file: &Path,
) -> (Option<Route>, Vec<Problem>) {
    let mut report = Report {
        file,
        doc,
        problems: Vec::new(),
    };

    keys_of_other_kinds(manifest.kind, &mut report);
    let route = match manifest.kind {
        Api => api(manifest, &mut report),
        Event => {
            event(manifest, &mut report);
            None
        }
        Cron => {
            cron(manifest, &mut report);
            None
        }
        Noop => None,
    };
    (route, report.problems)
}

fn keys_of_other_kinds(kind: StepKind, report: &mut Report<'_>) {
    for (key, kinds, hint) in KEY_KINDS {
        if kinds.contains(&kind) || !report.doc.has(&format!("/{key}")) {
            continue;
        }
        let message = match kinds {
            [only] => format!(
                "`{key}` is only for {only} steps; this is {}",
                with_article(kind)
            ),
            _ => format!("`{key}` is not allowed on {kind} steps"),
        };
        report.add(&format!("/{key}"), message, *hint);
    }
}

/// `an api step`, `a cron step`.
pub(crate) fn with_article(kind: StepKind) -> String {
    let article = if matches!(kind, Api | Event) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind} step")
}

fn api(manifest: &Manifest, report: &mut Report<'_>) -> Option<Route> {
    if manifest.method.is_none() {
        report.add(
            "",
            "api step has no `method`".into(),
            "add e.g. `method: POST`",
        );
    }
    if let Some(body) = &manifest.body {
        json_schema(body, "/body", report);
    }

    let Some(path) = &manifest.path else {
        report.add(
            "",
            "api step has no `path`".into(),
            "add e.g. `path: /orders/{id}`",
        );
        return None;
    };
    match route::parse(path) {
        Ok(route) => Some(route),
        Err(e) => {
            report.add("/path", e.message, e.hint);
            None
        }
    }
}

fn event(manifest: &Manifest, report: &mut Report<'_>) {
    if manifest.subscribes.is_empty() {
        report.add(
            "/subscribes",
            "event step subscribes to no topic".into(),
            "add `subscribes: [some.topic]`",
        );
    }
    if let Some(input) = &manifest.input {
        json_schema(input, "/input", report);
    }

    let group_by = manifest.queue.as_ref().and_then(|q| q.group_by.as_deref());
    if group_by.is_some_and(|g| g.trim().is_empty()) {
        report.add(
            "/queue/group_by",
            "`queue.group_by` is empty".into(),
            "name a payload field, e.g. `employee` or `/employee/code`, or remove it",
        );
    }
}

fn cron(manifest: &Manifest, report: &mut Report<'_>) {
    match &manifest.cron {
        None => report.add(
            "",
            "cron step has no `cron` schedule".into(),
            "add e.g. `cron: \"0 7 * * 1-5\"` (minute hour day-of-month month day-of-week)",
        ),
        Some(expression) => {
            if let Err(message) = cron_expression(expression) {
                report.add(
                    "/cron",
                    message,
                    "write 5 fields (minute hour day-of-month month day-of-week), or 6 with \
                     seconds first, e.g. `0 7 * * 1-5`",
                );
            }
        }
    }
    if let Some(zone) = &manifest.timezone {
        time_zone(zone, report);
    }
}

/// Checks a cron expression as the scheduler will read it: 5 fields, or 6 with seconds.
pub(crate) fn cron_expression(expression: &str) -> Result<(), String> {
    let fields = expression.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(format!(
            "cron expression `{expression}` has {fields} field(s), not 5 or 6"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map(drop)
        .map_err(|e| format!("invalid cron expression `{expression}`: {e}"))
}

fn time_zone(zone: &str, report: &mut Report<'_>) {
    if zone.parse::<chrono_tz::Tz>().is_ok() {
        return;
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let hint = match closest(zone, names) {
        Some(near) => format!("did you mean `{near}`?"),
        None => "use an IANA time zone name such as `Europe/Berlin` or `UTC`".into(),
    };
    report.add("/timezone", format!("unknown time zone `{zone}`"), hint);
}

/// `input` and `body` must be JSON Schemas the runtime can check payloads with.
fn json_schema(schema: &serde_json::Value, pointer: &str, report: &mut Report<'_>) {
    if let Err(e) = jsonschema::validator_for(schema) {
        let inner = e.instance_path().as_str();
        let key = &pointer[1..];
        let place = match inner {
            "" => String::new(),
            inner => format!(" at `{}`", super::schema_check::label(inner)),
        };
        report.add(
            &format!("{pointer}{inner}"),
            format!("`{key}` is not a valid JSON Schema{place}: {e}"),
            "fix the schema, or remove it to use the registered Rust type's schema",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::loader::located;

    /// (line, message, hint) of each problem, and the route.
    fn check_text(text: &str) -> (Option<String>, Vec<(usize, String, String)>) {
        let doc = located::parse(text, 0).expect("valid YAML");
        let manifest: Manifest = serde_json::from_value(doc.value.clone()).expect("fits the model");
        let (route, problems) = check(&manifest, &doc, Path::new("m.yaml"));
        let problems = problems
            .into_iter()
            .map(|p| (p.line, p.message, p.hint.unwrap_or_default()))
            .collect();
        (route.map(|r| r.axum), problems)
    }

    fn messages(text: &str) -> Vec<(usize, String)> {
        check_text(text)
            .1
            .into_iter()
            .map(|(l, m, _)| (l, m))
            .collect()
    }

    fn at(line: usize, message: &str) -> (usize, String) {
        (line, message.to_string())
    }

    #[test]
    fn a_valid_api_step_gets_its_route() {
        let (route, problems) = check_text("type: api\nname: a\nmethod: GET\npath: /users/:id\n");
        assert_eq!(route.as_deref(), Some("/users/{id}"));
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn api_steps_need_path_and_method() {
        let found = messages("type: api\nname: a\nsubscribes: [x]\nqueue: {}\n");
        assert_eq!(
            found,
            vec![
                at(
                    3,
                    "`subscribes` is only for event steps; this is an api step"
                ),
                at(4, "`queue` is only for event steps; this is an api step"),
                at(1, "api step has no `method`"),
                at(1, "api step has no `path`"),
            ]
        );
    }

    #[test]
    fn keys_of_other_step_types_are_refused_with_a_hint() {
        let (_, found) =
            check_text("type: noop\nname: a\nemits: [x]\nhandler: h\nsubscribes: [y]\n");
        assert_eq!(
            found,
            vec![
                (5, "`subscribes` is only for event steps; this is a noop step".into(),
                 "remove it, or use `virtual_subscribes` to draw the edge without routing events".into()),
                (3, "`emits` is not allowed on noop steps".into(),
                 "noop steps are never run; use `virtual_emits` to draw the edge".into()),
                (4, "`handler` is not allowed on noop steps".into(),
                 "noop steps are never run and have no handler; remove it".into()),
            ]
        );
    }

    #[test]
    fn event_steps_need_a_topic_and_a_real_group() {
        let found =
            messages("type: event\nname: a\nqueue:\n  group_by: ' '\ninput:\n  type: strng\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0], at(1, "event step subscribes to no topic"));
        assert_eq!(found[1].0, 6);
        let schema_error = "`input` is not a valid JSON Schema at `type`: ";
        assert!(found[1].1.starts_with(schema_error), "{found:?}");
        assert_eq!(found[2], at(4, "`queue.group_by` is empty"));
    }

    #[test]
    fn cron_steps_need_a_valid_schedule_and_zone() {
        assert_eq!(
            messages("type: cron\nname: a\ncron: '*/5 * * * *'\ntimezone: Europe/Berlin\n"),
            vec![]
        );
        assert_eq!(
            messages("type: cron\nname: a\ncron: '0 0 7 * * 1-5'\n"),
            vec![]
        );
        assert_eq!(
            messages("type: cron\nname: a\n"),
            vec![at(1, "cron step has no `cron` schedule")]
        );

        let (_, found) = check_text("type: cron\nname: a\ncron: '* * *'\ntimezone: Europe/Berln\n");
        assert_eq!(
            found[0].1,
            "cron expression `* * *` has 3 field(s), not 5 or 6"
        );
        assert_eq!(
            found[1],
            (
                4,
                "unknown time zone `Europe/Berln`".into(),
                "did you mean `Europe/Berlin`?".into()
            )
        );

        let found = messages("type: cron\nname: a\ncron: '0 25 * * *'\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 3);
        assert!(
            found[0]
                .1
                .starts_with("invalid cron expression `0 25 * * *`: "),
            "{found:?}"
        );
    }

    #[test]
    fn bad_routes_are_reported_at_the_path() {
        let found = messages("type: api\nname: a\nmethod: GET\npath: /_stepline/dlq\n");
        assert_eq!(
            found,
            vec![at(
                4,
                "path `/_stepline/dlq` is under `/_stepline`, which the runtime reserves for its own endpoints"
            )]
        );
    }
}
