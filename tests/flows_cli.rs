//! `stepline flows`, run as a user would: the flow list of the repository's manifests, the
//! calendar flow as Mermaid (the same text as the flows crate's snapshot, so the binary
//! with its real handlers draws what the snapshot test checks), a file written with `-o`,
//! and the errors for an unknown flow and an unknown format.

use std::process::{Command, Output};

fn stepline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("STEPLINE_MANIFESTS")
        .env("STEPLINE_LOG", "error")
        .output()
        .expect("run stepline")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn flows_lists_the_flows_with_their_counts() {
    let out = stepline(&["flows"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "FLOW               STEPS  EDGES  DANGLING\n\
         advoware_cal_sync      7      4         0\n"
    );
}

#[test]
fn flows_draws_the_calendar_flow_as_mermaid() {
    let out = stepline(&["flows", "advoware_cal_sync", "--format", "mermaid"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let expected = include_str!("../flows/tests/snapshots/advoware_cal_sync.mmd");
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn flows_writes_svg_to_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calendar.svg");
    let file_arg = file.to_string_lossy().into_owned();
    let out = stepline(&["flows", "advoware_cal_sync", "-f", "svg", "-o", &file_arg]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let svg = std::fs::read_to_string(&file).expect("the SVG file");
    assert!(svg.starts_with("<?xml"));
    assert_eq!(svg.matches("<g class=\"node ").count(), 7);
    assert_eq!(svg.matches("<g class=\"edge\"").count(), 4);
}

#[test]
fn an_unknown_flow_exits_1_naming_the_flows() {
    let out = stepline(&["flows", "nope", "--format", "dot"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no flow `nope`"), "{err}");
    assert!(err.contains("the flows are: advoware_cal_sync"), "{err}");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let out = stepline(&["flows", "advoware_cal_sync", "--format", "png"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("invalid value 'png'"), "{err}");
    assert!(err.contains("mermaid"), "{err}");
}
