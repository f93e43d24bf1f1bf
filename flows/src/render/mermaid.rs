//! Mermaid (`flowchart LR`): shapes and classes by step type, `-.->` for virtual links.
//!
//! Labels are always quoted, and every character Mermaid could read as syntax or HTML
//! (`"`, `#`, `<`, `>`, `&`, `|`, backtick) is written as a `#…;` entity code. Node ids are the
//! graph's ASCII ids; the few that are Mermaid keywords (`end`, `graph`, …) get a `__step`
//! suffix, which no other id can carry.

use std::fmt::Write as _;

use stepline_runtime::manifest::StepKind;

use super::{links, topic_nodes};
use crate::graph::FlowGraph;

/// Ids Mermaid reads as keywords inside a flowchart.
const KEYWORDS: [&str; 10] = [
    "end",
    "graph",
    "flowchart",
    "subgraph",
    "direction",
    "style",
    "class",
    "classDef",
    "click",
    "linkStyle",
];

const CLASSES: [&str; 5] = [
    "classDef api fill:#dbeafe,stroke:#1d4ed8,color:#0f172a",
    "classDef event fill:#dcfce7,stroke:#15803d,color:#0f172a",
    "classDef cron fill:#fef3c7,stroke:#b45309,color:#0f172a",
    "classDef noop fill:#f3f4f6,stroke:#6b7280,color:#0f172a,stroke-dasharray:4 3",
    "classDef dangling fill:#fee2e2,stroke:#b91c1c,color:#7f1d1d,stroke-dasharray:4 3",
];

/// The flow as a Mermaid flowchart, ending with a newline.
pub fn to_mermaid(graph: &FlowGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(out, "  %% flow: {}", one_line(&graph.flow));

    for node in &graph.nodes {
        let mut text = escape(&node.name);
        if let Some(trigger) = &node.trigger {
            let _ = write!(text, "<br/>{}", escape(trigger));
        }
        let (open, close) = match node.kind {
            StepKind::Api => ("([\"", "\"])"),
            StepKind::Event => ("[\"", "\"]"),
            StepKind::Cron => ("{{\"", "\"}}"),
            StepKind::Noop => ("[/\"", "\"/]"),
        };
        let _ = writeln!(out, "  {}{open}{text}{close}:::{}", id(&node.id), node.kind);
    }

    let topics = topic_nodes(graph);
    for topic in &topics {
        let text = format!("{}<br/>{}", escape(topic.topic), escape(&topic.status()));
        let _ = writeln!(out, "  {}>\"{text}\"]:::dangling", topic.id);
    }

    for link in links(graph, &topics) {
        let arrow = if link.dashed { "-.->" } else { "-->" };
        let (from, to) = (id(link.from), id(link.to));
        let _ = writeln!(out, "  {from} {arrow}|\"{}\"| {to}", escape(&link.text));
    }

    for class in CLASSES {
        let _ = writeln!(out, "  {class}");
    }
    out
}

/// A node id Mermaid accepts.
fn id(id: &str) -> String {
    if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(id)) {
        format!("{id}__step")
    } else {
        id.to_string()
    }
}

/// Text for inside a quoted Mermaid label.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '\n' | '\r' => out.push_str("<br/>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for a `%%` comment: a single line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escape_what_mermaid_would_parse() {
        assert_eq!(
            escape("a \"b\" #1 <i> & `x` |\nnext"),
            "a #quot;b#quot; #35;1 #lt;i#gt; #amp; #96;x#96; #124;<br/>next"
        );
    }

    #[test]
    fn keyword_ids_get_a_suffix() {
        assert_eq!(id("end"), "end__step");
        assert_eq!(id("ending"), "ending");
    }
}
