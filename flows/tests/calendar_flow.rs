//! The flow graph of the repository's own `manifests/` folder: the calendar sync flow,
//! as snapshots of its Mermaid, DOT and JSON, and its SVG read back as XML.
//!
//! This test binary does not link the application, so it registers stand-ins under the
//! calendar handler ids (same kinds); the manifests then load through the real loader,
//! exactly as the binary loads them. `tests/flows_cli.rs` at the workspace root checks the
//! real binary against the same Mermaid snapshot.

mod common;

use common::{assert_snapshot, crate_path, flows_of, svg_parts};
use stepline_flows::{FlowGraph, Format};
use stepline_runtime::{ApiRequest, ApiResponse, Context, StepError};

async fn api(_: ApiRequest<serde_json::Value>, _: Context) -> Result<ApiResponse, StepError> {
    Ok(ApiResponse::ok(()))
}
async fn event(_: serde_json::Value, _: Context) -> Result<(), StepError> {
    Ok(())
}
async fn cron(_: Context) -> Result<(), StepError> {
    Ok(())
}

stepline_runtime::register_step!(api "calendar_feed", body = serde_json::Value, api);
stepline_runtime::register_step!(api "calendar_sync_api", body = serde_json::Value, api);
stepline_runtime::register_step!(api "calendar_sync_status", body = serde_json::Value, api);
stepline_runtime::register_step!(api "calendar_sync_status_employee", body = serde_json::Value, api);
stepline_runtime::register_step!(event "calendar_sync_all", input = serde_json::Value, event);
stepline_runtime::register_step!(event "calendar_sync_employee", input = serde_json::Value, event);
stepline_runtime::register_step!(cron "calendar_sync_cron", cron);

fn calendar() -> FlowGraph {
    let flows = flows_of(&crate_path("../manifests"));
    assert_eq!(flows.names(), ["advoware_cal_sync"]);
    let Some(graph) = flows.flows.into_iter().next() else {
        panic!("the repository's manifests hold no flow");
    };
    graph
}

#[test]
fn the_calendar_flow_has_every_step_and_every_topic_link() {
    let graph = calendar();

    let nodes: Vec<(&str, &str, Option<&str>)> = graph
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.kind.as_str(), n.trigger.as_deref()))
        .collect();
    assert_eq!(
        nodes,
        [
            (
                "Calendar Feed",
                "api",
                Some("GET /advoware/calendar/{kuerzel}.ics")
            ),
            (
                "Calendar Sync API",
                "api",
                Some("POST /advoware/calendar/sync")
            ),
            ("Calendar Sync All", "event", Some("calendar_sync_all")),
            (
                "Calendar Sync Cron",
                "cron",
                Some("*/15 6-20 * * 1-5 (Europe/Berlin)")
            ),
            (
                "Calendar Sync Employee",
                "event",
                Some("calendar_sync_employee")
            ),
            (
                "Calendar Sync Status",
                "api",
                Some("GET /advoware/calendar/sync/status")
            ),
            (
                "Calendar Sync Status Employee",
                "api",
                Some("GET /advoware/calendar/sync/status/{kuerzel}")
            ),
        ]
    );

    let edges: Vec<&str> = graph.edges.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        edges,
        [
            "calendar_sync_all__calendar_sync_employee__calendar_sync_employee",
            "calendar_sync_api__calendar_sync_all__calendar_sync_all",
            "calendar_sync_api__calendar_sync_employee__calendar_sync_employee",
            "calendar_sync_cron__calendar_sync_all__calendar_sync_all",
        ]
    );
    assert!(graph.edges.iter().all(|e| !e.is_virtual && !e.conditional));
    assert!(graph.dangling.is_empty());
}

#[test]
fn calendar_snapshots() {
    let graph = calendar();
    assert_snapshot("advoware_cal_sync.mmd", &Format::Mermaid.render(&graph));
    assert_snapshot("advoware_cal_sync.dot", &Format::Dot.render(&graph));
    assert_snapshot("advoware_cal_sync.json", &Format::Json.render(&graph));
}

#[test]
fn calendar_svg_has_one_group_per_step_and_per_link() {
    let graph = calendar();
    let parts = svg_parts(&Format::Svg.render(&graph));

    let expected: Vec<String> = graph
        .nodes
        .iter()
        .map(|n| format!("node-{}", n.id))
        .collect();
    assert_eq!(parts.nodes, expected);
    let expected: Vec<String> = graph
        .edges
        .iter()
        .map(|e| format!("edge-{}", e.id))
        .collect();
    assert_eq!(parts.edges, expected);
    assert!(parts.topics.is_empty() && parts.dangling.is_empty());
    assert!(
        parts
            .texts
            .iter()
            .any(|t| t == "POST /advoware/calendar/sync")
    );
}
