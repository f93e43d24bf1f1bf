//! The flow graph: built from a manifest set alone, with no server and no handler running.
//!
//! ```text
//!  steps ──► node ids (unique, ASCII) ──► flows (a step's `flows`, or `default`)
//!        ──► per flow: nodes, edges emitter → subscriber per topic, dangling topic links
//! ```
//!
//! An edge joins every emitter of a topic to every subscriber of it in the same flow. It is
//! virtual when either side is declared in `virtual_emits`/`virtual_subscribes` (drawn, never
//! routed); when a step declares the same link both ways, the routed one wins. A topic link
//! with no partner in the flow is kept as a [`Dangling`] entry that names the other flows
//! where partners live, if any, so nothing a manifest says is silently dropped.
//!
//! Every list is sorted (nodes by name, edges by source, topic and target), so that every
//! rendering of a manifest set is the same text on every run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use stepline_runtime::manifest::{Emit, Status, Step, StepKind, snake_case};

/// The flow of steps that name no flow.
pub const DEFAULT_FLOW: &str = "default";

/// One step, drawn as a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Unique across the manifest set: the name in snake_case, ASCII only.
    pub id: String,
    /// The step's name as written in its manifest.
    pub name: String,
    /// `api`, `event`, `cron` or `noop`.
    #[serde(rename = "type")]
    pub kind: StepKind,
    /// What starts the step: `POST /path`, the subscribed topics, or the cron expression
    /// with its time zone. `None` for a noop step that subscribes to nothing.
    pub trigger: Option<String>,
    /// The manifest's one-line description.
    pub description: Option<String>,
    /// Whether the step is deprecated (loaded, warned at start).
    pub deprecated: bool,
    /// Every flow the step is drawn in, sorted.
    pub flows: Vec<String>,
}

/// A topic link from an emitting step to a subscribing step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Unique per (source, topic, target).
    pub id: String,
    /// Node id of the emitter.
    pub source: String,
    /// Node id of the subscriber.
    pub target: String,
    /// The topic the link carries.
    pub topic: String,
    /// The emit's `label`, or the topic.
    pub label: String,
    /// Drawn only: declared in `virtual_emits` or `virtual_subscribes`.
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    /// The emit is marked `conditional`.
    pub conditional: bool,
}

/// Which side of a topic a dangling link is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The step emits the topic and nothing in the flow subscribes to it.
    Emit,
    /// The step subscribes to the topic and nothing in the flow emits it.
    Subscribe,
}

/// A topic link of a step with no partner in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dangling {
    /// Unique in the flow, and never equal to an edge id.
    pub id: String,
    /// Node id of the step.
    pub step: String,
    /// The topic without a partner.
    pub topic: String,
    /// Whether the step emits the topic or subscribes to it.
    pub side: Side,
    /// The emit's `label`, or the topic.
    pub label: String,
    /// Declared in `virtual_emits` or `virtual_subscribes`.
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    /// The emit is marked `conditional`.
    pub conditional: bool,
    /// Other flows where the missing partner exists, sorted; empty when it exists nowhere.
    pub elsewhere: Vec<String>,
}

/// One flow: its steps, the topic links between them and the links that lead nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowGraph {
    /// The flow's name.
    pub flow: String,
    /// Sorted by name.
    pub nodes: Vec<Node>,
    /// Sorted by source, topic, target.
    pub edges: Vec<Edge>,
    /// Sorted by topic, side, step.
    pub dangling: Vec<Dangling>,
}

impl FlowGraph {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// A line of the flow list: a flow with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSummary {
    /// The flow's name.
    pub name: String,
    /// Steps drawn in the flow.
    pub steps: usize,
    /// Topic links between steps of the flow.
    pub edges: usize,
    /// Topic links of the flow's steps with no partner in the flow.
    pub dangling: usize,
}

/// Every flow of a manifest set, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowSet {
    /// Sorted by flow name.
    pub flows: Vec<FlowGraph>,
}

impl FlowSet {
    /// Builds the graph of every flow from loaded steps (disabled steps are skipped, should
    /// a caller pass any).
    pub fn build(steps: &[Step]) -> Self {
        let links = Links::collect(steps);
        let flows = links
            .flow_names()
            .into_iter()
            .map(|flow| links.flow(&flow))
            .collect();
        Self { flows }
    }

    /// The flow with this name.
    pub fn get(&self, name: &str) -> Option<&FlowGraph> {
        self.flows.iter().find(|f| f.flow == name)
    }

    /// The flow names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.flows.iter().map(|f| f.flow.as_str()).collect()
    }

    /// Each flow with its step, edge and dangling-link counts.
    pub fn summaries(&self) -> Vec<FlowSummary> {
        self.flows
            .iter()
            .map(|f| FlowSummary {
                name: f.flow.clone(),
                steps: f.nodes.len(),
                edges: f.edges.len(),
                dangling: f.dangling.len(),
            })
            .collect()
    }
}

/// One side of a topic as a step declares it.
#[derive(Debug, Clone)]
struct End {
    node: usize,
    topic: String,
    label: Option<String>,
    is_virtual: bool,
    conditional: bool,
}

/// The manifest set reduced to what the graph needs: nodes, their flows and topic ends.
struct Links {
    nodes: Vec<Node>,
    emits: Vec<End>,
    subscribes: Vec<End>,
}

impl Links {
    fn collect(steps: &[Step]) -> Self {
        let mut steps: Vec<&Step> = steps
            .iter()
            .filter(|s| s.manifest.status != Status::Disabled)
            .collect();
        steps.sort_by(|a, b| a.name().cmp(b.name()));

        let mut taken = BTreeSet::new();
        let mut links = Self {
            nodes: Vec::new(),
            emits: Vec::new(),
            subscribes: Vec::new(),
        };
        for (index, step) in steps.iter().enumerate() {
            let id = unique(node_id(step.name()), &mut taken);
            links.nodes.push(node(id, step));
            links.add_ends(index, step);
        }
        links
    }

    fn add_ends(&mut self, node: usize, step: &Step) {
        let m = &step.manifest;
        let emit = |e: &Emit, is_virtual| End {
            node,
            topic: e.topic().to_string(),
            label: e.label().map(str::to_string),
            is_virtual,
            conditional: e.conditional(),
        };
        self.emits.extend(m.emits.iter().map(|e| emit(e, false)));
        self.emits
            .extend(m.virtual_emits.iter().map(|e| emit(e, true)));

        let subscribe = |t: &String, is_virtual| End {
            node,
            topic: t.clone(),
            label: None,
            is_virtual,
            conditional: false,
        };
        self.subscribes
            .extend(m.subscribes.iter().map(|t| subscribe(t, false)));
        self.subscribes
            .extend(m.virtual_subscribes.iter().map(|t| subscribe(t, true)));
    }

    fn flow_names(&self) -> BTreeSet<String> {
        self.nodes.iter().flat_map(|n| n.flows.clone()).collect()
    }

    fn in_flow(&self, node: usize, flow: &str) -> bool {
        self.nodes[node].flows.iter().any(|f| f == flow)
    }

    fn flow(&self, flow: &str) -> FlowGraph {
        let nodes = (0..self.nodes.len())
            .filter(|&i| self.in_flow(i, flow))
            .map(|i| self.nodes[i].clone())
            .collect();
        FlowGraph {
            flow: flow.to_string(),
            nodes,
            edges: self.edges(flow),
            dangling: self.dangling(flow),
        }
    }

    /// Every emitter × subscriber pair of a topic inside the flow, one edge per
    /// (source, topic, target); a routed declaration wins over a virtual one.
    fn edges(&self, flow: &str) -> Vec<Edge> {
        let mut by_key: BTreeMap<(&str, &str, &str), Edge> = BTreeMap::new();
        for emit in self.emits.iter().filter(|e| self.in_flow(e.node, flow)) {
            let subscribers = self
                .subscribes
                .iter()
                .filter(|s| s.topic == emit.topic && self.in_flow(s.node, flow));
            for sub in subscribers {
                let source = self.nodes[emit.node].id.as_str();
                let target = self.nodes[sub.node].id.as_str();
                let edge = Edge {
                    id: String::new(),
                    source: source.to_string(),
                    target: target.to_string(),
                    topic: emit.topic.clone(),
                    label: emit.label.clone().unwrap_or_else(|| emit.topic.clone()),
                    is_virtual: emit.is_virtual || sub.is_virtual,
                    conditional: emit.conditional,
                };
                let key = (source, emit.topic.as_str(), target);
                match by_key.get(&key) {
                    Some(kept) if !kept.is_virtual || edge.is_virtual => {}
                    _ => {
                        by_key.insert(key, edge);
                    }
                }
            }
        }

        let mut taken = BTreeSet::new();
        by_key
            .into_values()
            .map(|mut edge| {
                let id = format!("{}__{}__{}", edge.source, slug(&edge.topic), edge.target);
                edge.id = unique(id, &mut taken);
                edge
            })
            .collect()
    }

    /// Topic ends in the flow with no partner in it, naming the flows where partners are.
    fn dangling(&self, flow: &str) -> Vec<Dangling> {
        let mut found: BTreeMap<(String, Side, String), Dangling> = BTreeMap::new();
        let sides = [
            (Side::Emit, &self.emits, &self.subscribes),
            (Side::Subscribe, &self.subscribes, &self.emits),
        ];
        for (side, ends, partners) in sides {
            for end in ends.iter().filter(|e| self.in_flow(e.node, flow)) {
                let partners: Vec<&End> =
                    partners.iter().filter(|p| p.topic == end.topic).collect();
                if partners.iter().any(|p| self.in_flow(p.node, flow)) {
                    continue;
                }
                let elsewhere: BTreeSet<String> = partners
                    .iter()
                    .flat_map(|p| self.nodes[p.node].flows.iter().cloned())
                    .collect();
                let step = self.nodes[end.node].id.clone();
                let key = (end.topic.clone(), side, step.clone());
                let entry = Dangling {
                    id: String::new(),
                    step,
                    topic: end.topic.clone(),
                    side,
                    label: end.label.clone().unwrap_or_else(|| end.topic.clone()),
                    is_virtual: end.is_virtual,
                    conditional: end.conditional,
                    elsewhere: elsewhere.into_iter().collect(),
                };
                match found.get(&key) {
                    Some(kept) if !kept.is_virtual || entry.is_virtual => {}
                    _ => {
                        found.insert(key, entry);
                    }
                }
            }
        }

        let mut taken = BTreeSet::new();
        found
            .into_values()
            .map(|mut d| {
                let side = match d.side {
                    Side::Emit => "out",
                    Side::Subscribe => "in",
                };
                // Four `__`-separated parts, where an edge id has three: the two never clash.
                let id = format!("dangling__{}__{}__{side}", d.step, slug(&d.topic));
                d.id = unique(id, &mut taken);
                d
            })
            .collect()
    }
}

fn node(id: String, step: &Step) -> Node {
    let m = &step.manifest;
    let mut flows: Vec<String> = if m.flows.is_empty() {
        vec![DEFAULT_FLOW.to_string()]
    } else {
        m.flows.clone()
    };
    flows.sort();
    flows.dedup();
    Node {
        id,
        name: m.name.clone(),
        kind: m.kind,
        trigger: trigger(step),
        description: m.description.clone(),
        deprecated: m.status == Status::Deprecated,
        flows,
    }
}

/// `POST /path`, `topic_a, topic_b`, or `*/15 6-20 * * 1-5 (Europe/Berlin)`.
fn trigger(step: &Step) -> Option<String> {
    let m = &step.manifest;
    match m.kind {
        StepKind::Api => {
            let method = m.method.map(|m| m.as_str()).unwrap_or("ANY");
            Some(format!("{method} {}", m.path.as_deref().unwrap_or("/")))
        }
        StepKind::Cron => {
            let zone = m.timezone.as_deref().unwrap_or("UTC");
            Some(format!("{} ({zone})", m.cron.as_deref().unwrap_or("")))
        }
        StepKind::Event | StepKind::Noop => {
            let topics: Vec<&str> = m
                .subscribes
                .iter()
                .chain(&m.virtual_subscribes)
                .map(String::as_str)
                .collect();
            (!topics.is_empty()).then(|| topics.join(", "))
        }
    }
}

/// The node id of a step name: snake_case with non-ASCII characters dropped, never empty,
/// never with a double underscore (which separates the parts of edge ids).
fn node_id(name: &str) -> String {
    let id = slug(name);
    if id.is_empty() { "step".into() } else { id }
}

/// ASCII snake_case of any text, for ids.
pub(crate) fn slug(text: &str) -> String {
    let ascii: String = snake_case(text)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    ascii
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// `id`, or `id_2`, `id_3`… when taken; records the result.
fn unique(id: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{id}_{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_snake_case_without_double_underscores() {
        assert_eq!(slug("Calendar Sync API"), "calendar_sync_api");
        assert_eq!(slug("Grüße -- an alle"), "gr_e_an_alle");
        assert_eq!(slug("a.b__c"), "a_b_c");
        assert_eq!(node_id("!!!"), "step");
    }

    #[test]
    fn unique_ids_get_a_counter() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a_2");
        assert_eq!(unique("a".into(), &mut taken), "a_3");
    }
}
