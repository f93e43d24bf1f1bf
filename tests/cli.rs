//! The `stepline` command line, run as a user would: the registered handlers, `check` on
//! good and bad manifests, `steps`, `schema`, and a graceful shutdown on SIGTERM.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn stepline(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stepline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("STEPLINE_LOG", "error")
        .output()
        .expect("run stepline");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_binary_registers_exactly_the_application_handlers() {
    let (code, out) = stepline(&["handlers"]);
    assert_eq!(code, 0);
    let ids: Vec<(&str, &str)> = out
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((cols.next()?, cols.next()?))
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("calendar_feed", "api"),
            ("calendar_sync_all", "event"),
            ("calendar_sync_api", "api"),
            ("calendar_sync_cron", "cron"),
            ("calendar_sync_employee", "event"),
            ("calendar_sync_status", "api"),
            ("calendar_sync_status_employee", "api"),
            ("stepline.forward", "api"),
        ]
    );
}

#[test]
fn check_accepts_the_repository_manifests() {
    let (code, out) = stepline(&["check"]);
    assert_eq!((code, out.as_str()), (0, "ok: 7 step(s) in manifests\n"));
}

#[test]
fn check_lists_every_mistake_with_file_and_line() {
    let (code, out) = stepline(&["check", "-m", "tests/fixtures/manifests_bad"]);
    assert_eq!(code, 1, "{out}");
    let dir = "tests/fixtures/manifests_bad";
    let expected = [
        format!(
            "{dir}/unknown_key.yaml:3: unknown key `subscribe` (hint: did you mean `subscribes`?)"
        ),
        format!(
            "{dir}/missing_field.yaml:2: missing required key `name` (hint: add `name:` with a value)"
        ),
        format!("{dir}/wrong_type.yaml:5: `queue.max_retries` must be an integer, not a string"),
        format!(
            "{dir}/duplicate_name.yaml:3: duplicate step name `Orders API`, first declared at {dir}/base/orders_api.yaml:3"
        ),
        format!(
            "{dir}/duplicate_handler.yaml:4: handler `handle_order` is already used by step `Handle Order` at {dir}/base/handle_order.md:3"
        ),
        format!(
            "{dir}/duplicate_method_path.yaml:5: route `POST /customers/{{id}}/orders` clashes with step `Orders API` at {dir}/base/orders_api.yaml:6"
        ),
        format!("{dir}/invalid_cron.yaml:4: invalid cron expression `0 25 * * *`"),
        format!(
            "{dir}/invalid_timezone.yaml:4: unknown time zone `Europe/Berln` (hint: did you mean `Europe/Berlin`?)"
        ),
        format!(
            "{dir}/unregistered_handler.yaml:2: no event handler is registered as `refund_order` (from the name)"
        ),
        format!(
            "{dir}/subscribes_on_non_event.yaml:4: `subscribes` is only for event steps; this is a noop step"
        ),
        format!(
            "{dir}/malformed_front_matter.md:1: the front matter opened on line 1 is never closed"
        ),
        format!("{dir}/invalid_yaml.yaml:4: invalid YAML"),
    ];
    for line in &expected {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("error: {line}"))),
            "missing `{line}` in:\n{out}"
        );
    }
    assert!(
        out.trim_end()
            .ends_with("error(s) in tests/fixtures/manifests_bad"),
        "{out}"
    );
}

#[test]
fn steps_prints_a_table_of_the_loaded_steps() {
    let (code, out) = stepline(&["steps"]);
    assert_eq!(code, 0);
    let api = out
        .lines()
        .find(|l| l.starts_with("Calendar Sync API"))
        .expect("row");
    assert_eq!(
        api.split_whitespace().collect::<Vec<_>>().join(" "),
        "Calendar Sync API api POST /advoware/calendar/sync calendar_sync_all, calendar_sync_employee"
    );
    assert_eq!(out.lines().count(), 8, "a header and seven steps:\n{out}");
}

#[test]
fn schema_prints_the_manifest_json_schema() {
    let (code, out) = stepline(&["schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(schema["title"], "Stepline step manifest");
    assert_eq!(schema["additionalProperties"], false);
    let required = schema["required"].as_array().expect("required");
    assert_eq!(
        required,
        &[serde_json::json!("type"), serde_json::json!("name")]
    );
    for key in [
        "path",
        "method",
        "subscribes",
        "emits",
        "cron",
        "timezone",
        "queue",
        "flows",
    ] {
        assert!(schema["properties"].get(key).is_some(), "{key}");
    }
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let mut served = common::binary::serve(&manifests, dir.path(), &[]);
    let pid = served.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());

    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = served.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    let log = served.log.lock().expect("log").join("\n");
    assert!(log.contains("drained"), "{log}");
}
