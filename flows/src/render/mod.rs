//! Renderings of one [`FlowGraph`]: Mermaid, DOT, JSON and SVG.
//!
//! Every renderer draws the same picture: a node per step, shaped by type; an edge per topic
//! link, dashed when virtual and marked when conditional; and one pseudo-node per dangling
//! topic (per side), so a topic that nobody emits or nobody hears is visible. Each renderer
//! escapes names and labels for its own syntax; none of them trusts manifest text.

mod dot;
mod layout;
mod mermaid;
pub(crate) mod svg;

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{Dangling, Edge, FlowGraph, Side, slug};

pub use dot::to_dot;
pub use mermaid::to_mermaid;
pub use svg::to_svg;

/// An output format of `stepline flows NAME --format …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid `flowchart LR`.
    Mermaid,
    /// A Graphviz `digraph`.
    Dot,
    /// `{"flow", "nodes", "edges", "dangling"}`, pretty-printed.
    Json,
    /// A standalone SVG document, laid out in pure Rust.
    Svg,
}

impl Format {
    /// The usual file ending of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Mermaid => "mmd",
            Self::Dot => "dot",
            Self::Json => "json",
            Self::Svg => "svg",
        }
    }

    /// Renders the flow in this format.
    pub fn render(self, graph: &FlowGraph) -> String {
        match self {
            Self::Mermaid => to_mermaid(graph),
            Self::Dot => to_dot(graph),
            Self::Json => to_json(graph),
            Self::Svg => to_svg(graph),
        }
    }
}

/// The flow as pretty-printed JSON: `{"flow", "nodes", "edges", "dangling"}`, in the graph's
/// (sorted) order, ending with a newline.
pub fn to_json(graph: &FlowGraph) -> String {
    // Serializing plain structs of strings, bools and vectors cannot fail.
    let mut text = serde_json::to_string_pretty(graph).unwrap_or_default();
    text.push('\n');
    text
}

/// A dangling topic drawn as a node: every link of the flow to one topic on one side.
#[derive(Debug)]
pub(crate) struct TopicNode<'a> {
    /// `topic__<slug>__out` or `…__in`; cannot clash with a step id, which never holds `__`.
    pub id: String,
    pub topic: &'a str,
    pub side: Side,
    /// The links that end (or start) here, in the graph's order.
    pub links: Vec<&'a Dangling>,
    /// Flows where the missing partner lives, sorted.
    pub elsewhere: Vec<String>,
}

impl TopicNode<'_> {
    /// Second line of the pseudo-node: why the topic is dangling.
    pub fn status(&self) -> String {
        let list = self.elsewhere.join(", ");
        match (self.side, self.elsewhere.is_empty()) {
            (Side::Emit, true) => "no subscriber".into(),
            (Side::Emit, false) => format!("subscribed in {list}"),
            (Side::Subscribe, true) => "never emitted".into(),
            (Side::Subscribe, false) => format!("emitted in {list}"),
        }
    }
}

/// The dangling links of a flow grouped into one pseudo-node per (topic, side).
pub(crate) fn topic_nodes(graph: &FlowGraph) -> Vec<TopicNode<'_>> {
    let mut groups: BTreeMap<(&str, Side), Vec<&Dangling>> = BTreeMap::new();
    for d in &graph.dangling {
        groups
            .entry((d.topic.as_str(), d.side))
            .or_default()
            .push(d);
    }

    let mut taken = BTreeSet::new();
    groups
        .into_iter()
        .map(|((topic, side), links)| {
            let suffix = match side {
                Side::Emit => "out",
                Side::Subscribe => "in",
            };
            let mut id = format!("topic__{}__{suffix}", slug(topic));
            let mut n = 2;
            while !taken.insert(id.clone()) {
                id = format!("topic__{}__{suffix}_{n}", slug(topic));
                n += 1;
            }
            let elsewhere: BTreeSet<String> =
                links.iter().flat_map(|d| d.elsewhere.clone()).collect();
            TopicNode {
                id,
                topic,
                side,
                links,
                elsewhere: elsewhere.into_iter().collect(),
            }
        })
        .collect()
}

/// The text drawn on an edge: its label, marked when the emit is conditional.
pub(crate) fn edge_text(label: &str, conditional: bool) -> String {
    if conditional {
        format!("{label} (conditional)")
    } else {
        label.to_string()
    }
}

/// The text of an edge of the graph.
pub(crate) fn edge_label(edge: &Edge) -> String {
    edge_text(&edge.label, edge.conditional)
}

/// A link as every renderer draws it: from, to, text, dashed; edges first, then the links
/// to dangling topics.
pub(crate) struct Link<'a> {
    /// `edge` for a step-to-step edge, `dangling` for a link to a dangling topic.
    pub class: &'static str,
    pub id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub text: String,
    pub dashed: bool,
}

/// Every link of the flow, edges first, then dangling links in pseudo-node order.
pub(crate) fn links<'a>(graph: &'a FlowGraph, topics: &'a [TopicNode<'a>]) -> Vec<Link<'a>> {
    let mut links: Vec<Link<'a>> = graph
        .edges
        .iter()
        .map(|e| Link {
            class: "edge",
            id: &e.id,
            from: &e.source,
            to: &e.target,
            text: edge_label(e),
            dashed: e.is_virtual,
        })
        .collect();
    for topic in topics {
        for d in &topic.links {
            let (from, to) = match d.side {
                Side::Emit => (d.step.as_str(), topic.id.as_str()),
                Side::Subscribe => (topic.id.as_str(), d.step.as_str()),
            };
            links.push(Link {
                class: "dangling",
                id: &d.id,
                from,
                to,
                text: edge_text(&d.label, d.conditional),
                dashed: d.is_virtual,
            });
        }
    }
    links
}
