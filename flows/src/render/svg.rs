//! SVG, laid out by [`super::layout`]: a standalone, well-formed document that also works
//! inline in an HTML page.
//!
//! Each step is one `<g class="node TYPE" id="node-ID">`, each topic link between steps one
//! `<g class="edge" id="edge-ID">`, each dangling topic one `<g class="topic dangling-topic" id="topic-ID">` and
//! each link to it one `<g class="dangling" id="dangling-ID">`, so tests and pages can find
//! them. All text goes through [`escape`]. The layout crate `layout-rs` was considered; its
//! drawing interface hands text to the backend without saying which node it belongs to, so
//! a group per node and per edge could not be written from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use stepline_runtime::manifest::StepKind;

use super::layout::{MARGIN, Placed, Size, place};
use super::{TopicNode, links, topic_nodes};
use crate::graph::{FlowGraph, slug};

const NAME_CHAR: f64 = 7.4;
const LINE_CHAR: f64 = 6.4;
const BOX_PADDING: f64 = 28.0;
const MIN_WIDTH: f64 = 120.0;

const STYLE: &str = "\
.node text,.topic text{text-anchor:middle;dominant-baseline:middle;fill:#0f172a}\
.node .name,.topic .name{font-size:13px;font-weight:600}\
.node .trigger,.topic .status{font-size:11px}\
.node.api>.shape{fill:#dbeafe;stroke:#1d4ed8}\
.node.event>.shape{fill:#dcfce7;stroke:#15803d}\
.node.cron>.shape{fill:#fef3c7;stroke:#b45309}\
.node.noop>.shape{fill:#f3f4f6;stroke:#6b7280;stroke-dasharray:4 3}\
.topic>.shape{fill:#fee2e2;stroke:#b91c1c;stroke-dasharray:4 3}\
.edge path,.dangling path{fill:none;stroke:#475569;stroke-width:1.4}\
.edge.virtual path,.dangling.virtual path{stroke-dasharray:6 4}\
.dangling path{stroke:#b91c1c}\
.edge text,.dangling text{font-size:11px;text-anchor:middle;fill:#334155}";

/// A box of the drawing: a step or a dangling topic.
struct Shape {
    id: String,
    lines: (String, Option<String>),
    size: Size,
}

/// The flow as an SVG document.
pub fn to_svg(graph: &FlowGraph) -> String {
    let topics = topic_nodes(graph);
    let mut shapes: Vec<Shape> = graph
        .nodes
        .iter()
        .map(|n| shape(&n.id, &n.name, n.trigger.clone()))
        .collect();
    shapes.extend(
        topics
            .iter()
            .map(|t| shape(&t.id, t.topic, Some(t.status()))),
    );
    let index: BTreeMap<&str, usize> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();

    let links = links(graph, &topics);
    let pairs: Vec<(usize, usize)> = links
        .iter()
        .filter_map(|l| Some((*index.get(l.from)?, *index.get(l.to)?)))
        .collect();
    let sizes: Vec<Size> = shapes.iter().map(|s| s.size).collect();
    let layout = place(&sizes, &pairs);
    let placed = &layout.boxes;

    let mut width = placed.iter().map(Placed::right).fold(0.0, f64::max) + MARGIN;
    let mut height = placed.iter().map(Placed::bottom).fold(0.0, f64::max) + MARGIN;
    let below = height - MARGIN / 2.0;

    let marker = format!("arrow-{}", slug(&graph.flow));
    let mut body = String::new();
    body.push_str("<g class=\"links\">\n");
    let mut seen: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for ((link, &(from, to)), bends) in links.iter().zip(&pairs).zip(&layout.bends) {
        let nth = seen.entry((from.min(to), from.max(to))).or_insert(0);
        let route = route(&placed[from], &placed[to], from == to, bends, *nth, below);
        *nth += 1;
        width = width.max(route.extent.0 + MARGIN);
        height = height.max(route.extent.1 + MARGIN);

        let virtual_class = if link.dashed { " virtual" } else { "" };
        let _ = writeln!(
            body,
            "<g class=\"{}{virtual_class}\" id=\"{}-{}\"><path d=\"{}\" marker-end=\"url(#{})\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            link.class,
            link.class,
            escape(link.id),
            route.path,
            escape(&marker),
            route.label.0,
            route.label.1,
            escape(&link.text),
        );
    }
    body.push_str("</g>\n<g class=\"boxes\">\n");

    for (i, node) in graph.nodes.iter().enumerate() {
        let title = match &node.description {
            Some(d) => format!("{}: {d}", node.name),
            None => node.name.clone(),
        };
        let outline = outline(node.kind, &placed[i]);
        let attrs = format!(
            "class=\"node {}\" id=\"node-{}\" data-step=\"{}\"",
            node.kind,
            escape(&node.id),
            escape(&node.name)
        );
        group(&mut body, &attrs, &title, &outline, &shapes[i], &placed[i]);
    }
    for (j, topic) in topics.iter().enumerate() {
        let i = graph.nodes.len() + j;
        let attrs = topic_attrs(topic);
        let title = format!("{}: {}", topic.topic, topic.status());
        let outline = flag(&placed[i]);
        group(&mut body, &attrs, &title, &outline, &shapes[i], &placed[i]);
    }
    body.push_str("</g>\n");

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"stepline-flow\" \
         width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         font-family=\"Helvetica, Arial, sans-serif\">"
    );
    let _ = writeln!(out, "<title>Flow {}</title>", escape(&graph.flow));
    let _ = writeln!(
        out,
        "<defs><marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#475569\"/></marker></defs>",
        escape(&marker)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

fn shape(id: &str, first: &str, second: Option<String>) -> Shape {
    let chars = |s: &str| s.chars().count() as f64;
    let mut width = chars(first) * NAME_CHAR;
    if let Some(line) = &second {
        width = width.max(chars(line) * LINE_CHAR);
    }
    let height = if second.is_some() { 50.0 } else { 34.0 };
    Shape {
        id: id.to_string(),
        lines: (first.to_string(), second),
        size: Size {
            width: (width + BOX_PADDING).max(MIN_WIDTH),
            height,
        },
    }
}

fn topic_attrs(topic: &TopicNode<'_>) -> String {
    format!(
        "class=\"topic dangling-topic\" id=\"topic-{}\" data-topic=\"{}\"",
        escape(&topic.id),
        escape(topic.topic)
    )
}

/// One box: its group, tooltip, outline and one or two lines of text.
fn group(out: &mut String, attrs: &str, title: &str, outline: &str, shape: &Shape, at: &Placed) {
    let _ = write!(out, "<g {attrs}><title>{}</title>{outline}", escape(title));
    let (first, second) = &shape.lines;
    let (x, y) = (at.center_x(), at.center_y());
    match second {
        Some(second) => {
            let _ = write!(
                out,
                "<text class=\"name\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>\
                 <text class=\"{}\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
                y - 8.0,
                escape(first),
                if attrs.starts_with("class=\"topic") {
                    "status"
                } else {
                    "trigger"
                },
                y + 10.0,
                escape(second)
            );
        }
        None => {
            let _ = write!(
                out,
                "<text class=\"name\" x=\"{x:.1}\" y=\"{y:.1}\">{}</text>",
                escape(first)
            );
        }
    }
    out.push_str("</g>\n");
}

/// The outline of a step's box, by type.
fn outline(kind: StepKind, at: &Placed) -> String {
    let (x, y, w, h) = (at.x, at.y, at.width, at.height);
    match kind {
        StepKind::Api => format!(
            "<rect class=\"shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"14\"/>"
        ),
        StepKind::Event => format!(
            "<rect class=\"shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"3\"/>"
        ),
        StepKind::Cron => polygon(&[
            (x, y + h / 2.0),
            (x + 12.0, y),
            (x + w - 12.0, y),
            (x + w, y + h / 2.0),
            (x + w - 12.0, y + h),
            (x + 12.0, y + h),
        ]),
        StepKind::Noop => polygon(&[(x + 10.0, y), (x + w, y), (x + w - 10.0, y + h), (x, y + h)]),
    }
}

/// A flag: the outline of a dangling topic.
fn flag(at: &Placed) -> String {
    let (x, y, w, h) = (at.x, at.y, at.width, at.height);
    polygon(&[
        (x, y),
        (x + w - 12.0, y),
        (x + w, y + h / 2.0),
        (x + w - 12.0, y + h),
        (x, y + h),
    ])
}

fn polygon(points: &[(f64, f64)]) -> String {
    let points: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    format!("<polygon class=\"shape\" points=\"{}\"/>", points.join(" "))
}

/// A link's path, where its label goes, and how far right and down it reaches.
struct Route {
    path: String,
    label: (f64, f64),
    extent: (f64, f64),
}

/// A curve from `a` to `b`: rightwards between layers, below the boxes when it runs back or
/// within a layer, and a loop on the right of the box for a step that hears itself; through `bends`
/// when it crosses layers. The `nth` link
/// between the same two boxes is pushed apart from the others.
fn route(
    a: &Placed,
    b: &Placed,
    same: bool,
    bends: &[(f64, f64)],
    nth: usize,
    below: f64,
) -> Route {
    let spread = nth as f64 * 14.0;
    if same {
        // A loop out of the right side and back in, bulging into the gap before the next
        // layer, where it can never leave the canvas.
        let (x, y) = (a.right(), a.center_y());
        let bulge = 44.0 + spread;
        return Route {
            path: format!(
                "M{x:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {x:.1},{:.1}",
                y - 8.0,
                x + bulge,
                y - 30.0,
                x + bulge,
                y + 30.0,
                y + 8.0
            ),
            label: (x + bulge / 2.0, a.y - 4.0 - spread),
            extent: (x + bulge, a.bottom()),
        };
    }

    if b.layer > a.layer {
        let mut points = vec![(a.right(), a.center_y() + spread / 2.0)];
        points.extend_from_slice(bends);
        points.push((b.x, b.center_y() + spread / 2.0));

        // Horizontal tangents at every point: the curve crosses each layer level.
        let mut path = format!("M{:.1},{:.1}", points[0].0, points[0].1);
        for pair in points.windows(2) {
            let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
            let mid = (x1 + x2) / 2.0;
            let _ = write!(path, " C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}");
        }
        let ((x1, y1), (x2, y2)) = (points[0], points[1]);
        let bottom = points.iter().map(|p| p.1).fold(0.0, f64::max);
        return Route {
            path,
            label: ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 6.0 + spread),
            extent: (b.x, bottom),
        };
    }

    // Backwards or within a layer: down from `a`, along beneath everything, up into `b`.
    let depth = below + 30.0 + spread;
    let (x1, y1) = (a.center_x(), a.bottom());
    let (x2, y2) = (b.center_x(), b.bottom());
    Route {
        path: format!("M{x1:.1},{y1:.1} C{x1:.1},{depth:.1} {x2:.1},{depth:.1} {x2:.1},{y2:.1}"),
        label: ((x1 + x2) / 2.0, depth - 4.0),
        extent: (x1.max(x2), depth),
    }
}

/// Text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters, not even escaped.
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt; "
        );
    }

    fn edge(source: &str, topic: &str, target: &str) -> crate::graph::Edge {
        crate::graph::Edge {
            id: format!("{source}__{topic}__{target}"),
            source: source.into(),
            target: target.into(),
            topic: topic.into(),
            label: topic.into(),
            is_virtual: false,
            conditional: false,
        }
    }

    #[test]
    fn cycles_and_self_loops_are_drawn_inside_the_canvas() {
        let node = |id: &str| crate::graph::Node {
            id: id.into(),
            name: id.into(),
            kind: StepKind::Event,
            trigger: None,
            description: None,
            deprecated: false,
            flows: vec!["f".into()],
        };
        let graph = FlowGraph {
            flow: "f".into(),
            nodes: vec![node("a"), node("b")],
            edges: vec![
                edge("a", "t", "b"),
                edge("b", "u", "a"),
                edge("a", "v", "a"),
            ],
            dangling: Vec::new(),
        };
        let svg = to_svg(&graph);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        let size = |name| {
            let value = doc.root_element().attribute(name).unwrap_or("0");
            value.parse::<f64>().unwrap_or(0.0)
        };
        let (width, height) = (size("width"), size("height"));

        let paths: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("path") && n.attribute("marker-end").is_some())
            .filter_map(|n| n.attribute("d"))
            .collect();
        assert_eq!(paths.len(), 3);
        for d in paths {
            let numbers = d
                .split([' ', ',', 'M', 'C'])
                .filter_map(|n| n.parse::<f64>().ok());
            for (i, n) in numbers.enumerate() {
                let limit = if i % 2 == 0 { width } else { height };
                assert!(
                    (0.0..=limit).contains(&n),
                    "{d} leaves the {width}x{height} canvas"
                );
            }
        }
    }
}
