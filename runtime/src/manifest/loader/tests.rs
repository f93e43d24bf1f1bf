//! Tests of whole folders: what loads, what warns, and the fixture folder with one mistake
//! per file.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::Value;

use super::*;
use crate::context::Context;
use crate::error::StepError;
use crate::registry::{ApiRequest, ApiResponse, HandlerFn, Registration};

fn api(_: ApiRequest<Value>, _: Context) -> BoxFuture<'static, Result<ApiResponse, StepError>> {
    Box::pin(async { Err(StepError::fatal("test handler")) })
}

fn event(_: Value, _: Context) -> BoxFuture<'static, Result<(), StepError>> {
    Box::pin(async { Ok(()) })
}

fn cron(_: Context) -> BoxFuture<'static, Result<(), StepError>> {
    Box::pin(async { Ok(()) })
}

macro_rules! registration {
    ($name:ident, $id:literal, $handler:expr) => {
        static $name: Registration = Registration {
            id: $id,
            schema: None,
            handler: $handler,
            source: concat!(file!(), ":", line!()),
        };
    };
}

registration!(ORDERS_API, "orders_api", HandlerFn::Api(api));
registration!(ORDERS_API_V2, "orders_api_v2", HandlerFn::Api(api));
registration!(HANDLE_ORDER, "handle_order", HandlerFn::Event(event));
registration!(NIGHTLY_REPORT, "nightly_report", HandlerFn::Cron(cron));
registration!(BROKEN_SCHEDULE, "broken_schedule", HandlerFn::Cron(cron));
registration!(BERLIN_REPORT, "berlin_report", HandlerFn::Cron(cron));
registration!(FORWARD, "stepline.forward", HandlerFn::Api(api));

fn registry() -> Registry {
    Registry::from_registrations(vec![
        &ORDERS_API,
        &ORDERS_API_V2,
        &HANDLE_ORDER,
        &NIGHTLY_REPORT,
        &BROKEN_SCHEDULE,
        &BERLIN_REPORT,
        &FORWARD,
    ])
}

/// A temporary folder holding `files` (relative path, content).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(path, content).expect("write manifest");
    }
    dir
}

/// (path relative to `dir`, line, message) of each problem.
fn summary(dir: &Path, problems: &[Problem]) -> Vec<(String, usize, String)> {
    problems
        .iter()
        .map(|p| {
            let file = p.file.strip_prefix(dir).unwrap_or(&p.file);
            (file.display().to_string(), p.line, p.message.clone())
        })
        .collect()
}

fn row(file: &str, line: usize, message: &str) -> (String, usize, String) {
    (file.to_string(), line, message.to_string())
}

const ORDERS_API_YAML: &str = "type: api\nname: Orders API\nmethod: POST\npath: /orders/:id\nemits: [order.created, order.audited]\n";
const HANDLE_ORDER_MD: &str = "---\ntype: event\nname: Handle Order\nsubscribes: [order.created, order.paid]\n---\n\n# Handle Order\n\nBooks it.\n";

#[test]
fn a_valid_folder_loads_sorted_with_routes_docs_and_warnings() {
    let dir = folder(&[
        ("z/orders.yaml", ORDERS_API_YAML),
        ("handle.md", HANDLE_ORDER_MD),
        ("README.md", "# Steps\n\nNot a manifest.\n"),
        ("notes.txt", "type: api\n"),
        (
            "old.yml",
            "type: cron\nname: Old Report\nhandler: nightly_report\ncron: '0 3 * * *'\nstatus: deprecated\n",
        ),
        (
            "off.yaml",
            "type: cron\nname: Off\nstatus: disabled\nunknown: ignored\n",
        ),
        (
            "person.yaml",
            "type: noop\nname: Customer\nvirtual_emits: [order.placed]\n",
        ),
    ]);
    let set = ManifestSet::load(dir.path(), &registry()).expect("valid set");

    let names: Vec<&str> = set.steps.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        vec!["Customer", "Handle Order", "Old Report", "Orders API"]
    );

    let orders = set.step("Orders API").expect("loaded");
    assert_eq!(orders.route.as_deref(), Some("/orders/{id}"));
    assert_eq!(
        orders.source,
        Source {
            file: dir.path().join("z/orders.yaml"),
            line: 1
        }
    );

    let handle = set.step("Handle Order").expect("loaded");
    assert_eq!(handle.docs.as_deref(), Some("# Handle Order\n\nBooks it."));
    assert_eq!(handle.source.line, 2);
    assert_eq!(handle.route, None);

    assert_eq!(
        summary(dir.path(), &set.warnings),
        vec![
            row(
                "handle.md",
                4,
                "topic `order.paid` is subscribed but no step emits it"
            ),
            row("old.yml", 5, "step `Old Report` is deprecated"),
            row(
                "z/orders.yaml",
                5,
                "topic `order.audited` is emitted but no step subscribes to it"
            ),
        ]
    );
}

#[test]
fn an_empty_folder_loads_nothing_with_a_warning() {
    let dir = folder(&[("README.md", "# nothing here\n")]);
    let set = ManifestSet::load(dir.path(), &registry()).expect("empty set");
    assert!(set.steps.is_empty());
    assert_eq!(
        summary(dir.path(), &set.warnings),
        vec![row("", 0, "no steps found")]
    );
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let dir = folder(&[]);
    let missing = dir.path().join("nope");
    let error = ManifestSet::load(&missing, &registry()).expect_err("missing folder");
    let message = format!("manifest folder `{}` does not exist", missing.display());
    assert_eq!(
        summary(dir.path(), &error.problems),
        vec![row("nope", 0, &message)]
    );
}

#[test]
fn handlers_must_be_registered_with_the_right_kind() {
    let dir = folder(&[
        (
            "a.yaml",
            "type: event\nname: Orders API\nsubscribes: [x]\nemits: [x]\n",
        ),
        (
            "b.yaml",
            "type: cron\nname: b\nhandler: nightly_reprot\ncron: '* * * * *'\n",
        ),
        (
            "c.yaml",
            "type: event\nname: c\nhandler: orders_api_v3\nsubscribes: [x]\n",
        ),
    ]);
    let error = ManifestSet::load(dir.path(), &registry()).expect_err("bad handlers");
    let hints: Vec<String> = error
        .problems
        .iter()
        .filter_map(|p| p.hint.clone())
        .collect();
    assert_eq!(
        summary(dir.path(), &error.problems),
        vec![
            row(
                "a.yaml",
                2,
                "handler `orders_api` (from the name) is registered as an api handler, but this is an event step"
            ),
            row(
                "b.yaml",
                3,
                "no cron handler is registered as `nightly_reprot`"
            ),
            row(
                "c.yaml",
                3,
                "no event handler is registered as `orders_api_v3`"
            ),
        ]
    );
    assert_eq!(
        hints,
        vec![
            "change `type` to `api`, or set `handler:` to a registered event handler",
            "did you mean `nightly_report`?",
            "set `handler:` to one of the registered event handlers (handle_order), or register `orders_api_v3` with `register_step!`",
        ]
    );
}

#[test]
fn steps_on_one_path_shape_must_name_parameters_alike() {
    let get = "type: api\nname: Orders API\nmethod: GET\npath: /orders/{id}\n";
    let delete =
        |path: &str| format!("type: api\nname: Orders API v2\nmethod: DELETE\npath: {path}\n");

    let dir = folder(&[("a.yaml", get), ("b.yaml", &delete("/orders/:id"))]);
    let set = ManifestSet::load(dir.path(), &registry()).expect("same names load");
    assert_eq!(set.steps.len(), 2);

    let dir = folder(&[("a.yaml", get), ("b.yaml", &delete("/orders/:order_id"))]);
    let error = ManifestSet::load(dir.path(), &registry()).expect_err("other names");
    let message = format!(
        "path `/orders/{{order_id}}` differs from `/orders/{{id}}` of step `Orders API` at {}:4 \
         only in parameter names",
        dir.path().join("a.yaml").display()
    );
    assert_eq!(
        summary(dir.path(), &error.problems),
        vec![row("b.yaml", 4, &message)]
    );
}

#[test]
fn built_in_handlers_may_serve_several_steps() {
    let forward = |name: &str, path: &str| {
        format!("type: api\nname: {name}\nhandler: stepline.forward\nmethod: POST\npath: {path}\n")
    };
    let dir = folder(&[
        ("a.yaml", &forward("Intake A", "/a")),
        ("b.yaml", &forward("Intake B", "/b")),
    ]);
    let set = ManifestSet::load(dir.path(), &registry()).expect("shared built-in");
    assert_eq!(set.steps.len(), 2);
}

#[test]
fn a_problem_renders_as_file_line_message_and_hint() {
    let dir = folder(&[("a.yaml", "type: event\nname: Ship\nsubscribe: [x]\n")]);
    let error = ManifestSet::load(dir.path(), &registry()).expect_err("unknown key");
    let file = dir.path().join("a.yaml");
    assert_eq!(
        error.to_string(),
        format!(
            "1 manifest error(s):\n  {}:3: unknown key `subscribe` (hint: did you mean `subscribes`?)",
            file.display()
        )
    );
}

#[test]
fn front_matter_is_split_from_the_body() {
    let fm = front_matter("---\ntype: noop\n---\nBody\n").expect("has front matter");
    assert_eq!(
        fm,
        Ok(FrontMatter {
            yaml: "type: noop\n",
            docs: Some("Body".into())
        })
    );

    let fm = front_matter("\u{feff}---\r\na: 1\r\n---\r\n").expect("has front matter");
    assert_eq!(
        fm,
        Ok(FrontMatter {
            yaml: "a: 1\r\n",
            docs: None
        })
    );

    assert_eq!(front_matter("# Title\n---\n"), None);
    assert_eq!(
        front_matter("---\na: 1\n"),
        Some(Err(
            "the front matter opened on line 1 is never closed".into()
        ))
    );
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/manifests_bad")
}

/// Every mistake in the fixture folder is reported at once, at its file and line; the valid
/// steps in `base/` report nothing.
#[test]
fn the_bad_fixture_folder_reports_every_mistake() {
    let dir = fixtures();
    let error = ManifestSet::load(&dir, &registry()).expect_err("bad manifests");
    let found = summary(&dir, &error.problems);

    let expected = [
        (
            "duplicate_handler.yaml",
            4,
            "handler `handle_order` is already used by step `Handle Order` at ",
        ),
        (
            "duplicate_method_path.yaml",
            5,
            "route `POST /customers/{id}/orders` clashes with step `Orders API` at ",
        ),
        (
            "duplicate_name.yaml",
            3,
            "duplicate step name `Orders API`, first declared at ",
        ),
        (
            "invalid_cron.yaml",
            4,
            "invalid cron expression `0 25 * * *`: ",
        ),
        (
            "invalid_timezone.yaml",
            4,
            "unknown time zone `Europe/Berln`",
        ),
        ("invalid_yaml.yaml", 4, "invalid YAML: "),
        (
            "malformed_front_matter.md",
            1,
            "the front matter opened on line 1 is never closed",
        ),
        ("missing_field.yaml", 2, "missing required key `name`"),
        (
            "subscribes_on_non_event.yaml",
            4,
            "`subscribes` is only for event steps; this is a noop step",
        ),
        ("unknown_key.yaml", 3, "unknown key `subscribe`"),
        (
            "unregistered_handler.yaml",
            2,
            "no event handler is registered as `refund_order` (from the name)",
        ),
        (
            "wrong_type.yaml",
            5,
            "`queue.max_retries` must be an integer, not a string",
        ),
    ];
    let matches = found.len() == expected.len()
        && found
            .iter()
            .zip(&expected)
            .all(|((file, line, message), (f, l, m))| {
                file == f && line == l && message.starts_with(m)
            });
    assert!(matches, "found:\n{found:#?}");

    // The places other problems refer to are in `base/`.
    let base = dir.join("base");
    let refers = |i: usize, to: &str| {
        error.problems[i]
            .message
            .ends_with(&format!("{}", base.join(to).display()))
    };
    assert!(refers(0, "handle_order.md:3"), "{:?}", error.problems[0]);
    assert!(refers(1, "orders_api.yaml:6"), "{:?}", error.problems[1]);
    assert!(refers(2, "orders_api.yaml:3"), "{:?}", error.problems[2]);
    assert_eq!(
        error.problems[4].hint.as_deref(),
        Some("did you mean `Europe/Berlin`?")
    );
    assert_eq!(
        error.problems[9].hint.as_deref(),
        Some("did you mean `subscribes`?")
    );
}
