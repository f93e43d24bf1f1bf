//! Graphviz DOT: a `digraph` laid out left to right, shapes by step type, `style=dashed`
//! for virtual links. Every id and label is a quoted string with `\` and `"` escaped and
//! line breaks written as `\n`, so no manifest text can end a string early.

use std::fmt::Write as _;

use stepline_runtime::manifest::StepKind;

use super::{links, topic_nodes};
use crate::graph::FlowGraph;

/// The flow as a DOT digraph, ending with a newline.
pub fn to_dot(graph: &FlowGraph) -> String {
    let mut out = format!("digraph {} {{\n", quote(&graph.flow));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11, style=filled];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");

    for node in &graph.nodes {
        let mut label = node.name.clone();
        if let Some(trigger) = &node.trigger {
            label = format!("{label}\n{trigger}");
        }
        let (shape, style, fill) = match node.kind {
            StepKind::Api => ("box", "rounded,filled", "#dbeafe"),
            StepKind::Event => ("box", "filled", "#dcfce7"),
            StepKind::Cron => ("hexagon", "filled", "#fef3c7"),
            StepKind::Noop => ("parallelogram", "dashed,filled", "#f3f4f6"),
        };
        let _ = writeln!(
            out,
            "  {} [label={}, shape={shape}, style=\"{style}\", fillcolor=\"{fill}\", class=\"{}\"];",
            quote(&node.id),
            quote(&label),
            node.kind,
        );
    }

    let topics = topic_nodes(graph);
    for topic in &topics {
        let label = format!("{}\n{}", topic.topic, topic.status());
        let _ = writeln!(
            out,
            "  {} [label={}, shape=cds, style=\"dashed,filled\", fillcolor=\"#fee2e2\", class=\"dangling\"];",
            quote(&topic.id),
            quote(&label),
        );
    }

    for link in links(graph, &topics) {
        let style = if link.dashed { ", style=dashed" } else { "" };
        let _ = writeln!(
            out,
            "  {} -> {} [id={}, label={}{style}];",
            quote(link.from),
            quote(link.to),
            quote(link.id),
            quote(&link.text),
        );
    }

    out.push_str("}\n");
    out
}

/// A DOT quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(quote(r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
        assert_eq!(quote("a\nb"), r#""a\nb""#);
    }
}
