//! The flow graph of a test manifest set (`tests/fixtures/manifests`) that has every case
//! the graph must draw: fan-out, a virtual edge, a conditional emit, dangling topics (no
//! subscriber, never emitted, partner in another flow), steps without `flows`, a step in
//! two flows, a disabled step, and a name full of characters every format must escape.
//!
//! The event and cron steps run handlers registered here, so the set loads through the
//! real loader with its handler checks.

mod common;

use common::{assert_snapshot, crate_path, flows_of, svg_parts};
use stepline_flows::{FlowSet, Format, Side};
use stepline_runtime::{Context, StepError};

async fn event(_: serde_json::Value, _: Context) -> Result<(), StepError> {
    Ok(())
}
async fn cron(_: Context) -> Result<(), StepError> {
    Ok(())
}

stepline_runtime::register_step!(event "fixture_reserve_stock", input = serde_json::Value, event);
stepline_runtime::register_step!(event "fixture_send_confirmation", input = serde_json::Value, event);
stepline_runtime::register_step!(event "fixture_ship_notice", input = serde_json::Value, event);
stepline_runtime::register_step!(event "fixture_audit_log", input = serde_json::Value, event);
stepline_runtime::register_step!(cron "fixture_nightly_report", cron);

fn fixture() -> FlowSet {
    flows_of(&crate_path("tests/fixtures/manifests"))
}

#[test]
fn flows_are_listed_with_their_counts() {
    let rows: Vec<(String, usize, usize, usize)> = fixture()
        .summaries()
        .into_iter()
        .map(|s| (s.name, s.steps, s.edges, s.dangling))
        .collect();
    assert_eq!(
        rows,
        [
            ("default".into(), 2, 0, 2),
            ("notifications".into(), 2, 0, 2),
            ("orders".into(), 4, 3, 2),
        ]
    );
}

#[test]
fn the_orders_flow_has_fan_out_virtual_and_conditional_edges() {
    let flows = fixture();
    let Some(orders) = flows.get("orders") else {
        panic!("no orders flow in {:?}", flows.names());
    };

    let names: Vec<&str> = orders.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Order API",
            "Reserve Stock",
            "Send Confirmation",
            "Warehouse Team"
        ],
        "the disabled step is left out"
    );

    let edges: Vec<(&str, &str, &str, &str, bool, bool)> = orders
        .edges
        .iter()
        .map(|e| {
            let (s, t) = (e.source.as_str(), e.target.as_str());
            (
                s,
                e.topic.as_str(),
                t,
                e.label.as_str(),
                e.is_virtual,
                e.conditional,
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            (
                "order_api",
                "order_placed",
                "reserve_stock",
                "order_placed",
                false,
                false
            ),
            (
                "order_api",
                "order_placed",
                "send_confirmation",
                "order_placed",
                false,
                false
            ),
            (
                "reserve_stock",
                "stock_reserved",
                "warehouse_team",
                "reserved",
                true,
                true
            ),
        ]
    );

    let dangling: Vec<(&str, &str, Side, Vec<String>)> = orders
        .dangling
        .iter()
        .map(|d| {
            (
                d.step.as_str(),
                d.topic.as_str(),
                d.side,
                d.elsewhere.clone(),
            )
        })
        .collect();
    assert_eq!(
        dangling,
        [
            (
                "warehouse_team",
                "parcel_shipped",
                Side::Emit,
                vec!["notifications".into()]
            ),
            ("reserve_stock", "stock_missing", Side::Emit, vec![]),
        ]
    );
}

#[test]
fn steps_without_flows_go_to_default_and_a_step_in_two_flows_is_in_both() {
    let flows = fixture();
    let ids = |flow: &str| -> Vec<String> {
        let graph = flows.get(flow).unwrap_or_else(|| panic!("no flow {flow}"));
        graph.nodes.iter().map(|n| n.id.clone()).collect()
    };
    assert_eq!(ids("default"), ["audit_log_b_1", "nightly_report"]);
    assert_eq!(ids("notifications"), ["send_confirmation", "ship_notice"]);
    assert!(ids("orders").contains(&"send_confirmation".to_string()));

    let Some(default) = flows.get("default") else {
        panic!("no default flow");
    };
    let cron = default.node("nightly_report").map(|n| n.trigger.clone());
    assert_eq!(cron, Some(Some("0 2 * * * (Europe/Berlin)".into())));
    let sides: Vec<(&str, Side)> = default
        .dangling
        .iter()
        .map(|d| (d.topic.as_str(), d.side))
        .collect();
    assert_eq!(
        sides,
        [
            ("audit_entry", Side::Subscribe),
            ("report_ready", Side::Emit)
        ]
    );
}

#[test]
fn fixture_snapshots() {
    let flows = fixture();
    for graph in &flows.flows {
        for format in [Format::Mermaid, Format::Dot, Format::Json] {
            let name = format!("fixture_{}.{}", graph.flow, format.extension());
            assert_snapshot(&name, &format.render(graph));
        }
    }
}

#[test]
fn svg_has_one_group_per_step_and_per_link_and_escapes_text() {
    for graph in &fixture().flows {
        let svg = Format::Svg.render(graph);
        let parts = svg_parts(&svg);

        let nodes: Vec<String> = graph
            .nodes
            .iter()
            .map(|n| format!("node-{}", n.id))
            .collect();
        assert_eq!(parts.nodes, nodes, "flow {}", graph.flow);
        let edges: Vec<String> = graph
            .edges
            .iter()
            .map(|e| format!("edge-{}", e.id))
            .collect();
        assert_eq!(parts.edges, edges, "flow {}", graph.flow);
        assert_eq!(
            parts.dangling.len(),
            graph.dangling.len(),
            "flow {}",
            graph.flow
        );
        assert!(
            !parts.topics.is_empty(),
            "flow {} draws its dangling topics",
            graph.flow
        );
    }

    let flows = fixture();
    let Some(default) = flows.get("default") else {
        panic!("no default flow");
    };
    let parts = svg_parts(&Format::Svg.render(default));
    assert!(parts.texts.contains(&r#"Audit "Log" <b> & #1"#.to_string()));
    assert!(parts.texts.contains(&"never emitted".to_string()));
}
