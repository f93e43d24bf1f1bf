//! The HTML of the flow pages: the flow list, and one flow with a panel per step.
//!
//! Every value that comes from a manifest goes through [`escape`] (text and attributes) or
//! [`segment`] (a flow name in a link), and a `.md` manifest's body through
//! [`markdown::to_html`]. Class names carry an `sl-` prefix so that they never meet the
//! classes of the inline SVG, whose stylesheet applies to the whole page.

use std::fmt::Write as _;
use std::time::Duration;

use stepline_runtime::app::App;
use stepline_runtime::manifest::{Emit, ManifestSet, QueueConfig, Status, Step, StepKind};

use super::{BASE, markdown};
use crate::graph::{FlowGraph, FlowSummary, Node};
use crate::render::to_svg;

const CSS: &str = "\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
color:#0f172a;background:#f8fafc}\
.sl-top{background:#0f172a;color:#e2e8f0;padding:10px 24px}\
.sl-top a{color:#e2e8f0;text-decoration:none;font-weight:600}\
main{padding:16px 24px 48px;max-width:1400px}\
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:28px 0 8px}\
a{color:#1d4ed8}\
.sl-meta{color:#475569;margin:0 0 12px}\
.sl-meta a{margin-left:10px}\
table.sl-list{border-collapse:collapse;background:#fff;min-width:480px}\
.sl-list th,.sl-list td{border:1px solid #cbd5e1;padding:6px 12px;text-align:left}\
.sl-list td.sl-num{text-align:right;font-variant-numeric:tabular-nums}\
.sl-graph{margin:0;background:#fff;border:1px solid #cbd5e1;border-radius:6px;padding:8px;\
overflow:auto}\
.sl-graph svg{max-width:100%;height:auto;display:block;margin:0 auto}\
.sl-legend span{display:inline-block;margin-right:14px;font-size:13px}\
.sl-steps{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:16px}\
.sl-step{background:#fff;border:1px solid #cbd5e1;border-radius:6px;padding:12px 16px}\
.sl-step h3{margin:0 0 4px;font-size:17px}\
.sl-step>p{margin:0 0 8px;color:#334155}\
.sl-kind{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;\
border:1px solid;margin-right:6px;vertical-align:middle}\
.sl-kind-api{background:#dbeafe;border-color:#1d4ed8}\
.sl-kind-event{background:#dcfce7;border-color:#15803d}\
.sl-kind-cron{background:#fef3c7;border-color:#b45309}\
.sl-kind-noop{background:#f3f4f6;border-color:#6b7280}\
.sl-deprecated{color:#b45309;font-weight:600}\
dl.sl-fields{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0;\
font-size:14px}\
.sl-fields dt{color:#475569}.sl-fields dd{margin:0;overflow-wrap:anywhere}\
.sl-none{color:#94a3b8}\
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f5f9;\
padding:0 3px;border-radius:3px}\
.sl-docs{border-top:1px solid #e2e8f0;margin-top:10px;padding-top:4px;font-size:14px}\
.sl-docs h1{font-size:17px}.sl-docs h2{font-size:15px;margin:14px 0 4px}\
.sl-docs h3{font-size:14px}\
.sl-docs pre{background:#f1f5f9;padding:8px;overflow:auto;border-radius:4px}\
.sl-docs pre code{padding:0;background:none}\
.sl-docs table{border-collapse:collapse}\
.sl-docs th,.sl-docs td{border:1px solid #cbd5e1;padding:2px 8px}";

use stepline_runtime::http::auth;

/// How the pages link to each other: under [`BASE`], carrying the request's `access_token`
/// when it is the configured one, so that a token given in the address keeps working.
pub(super) struct Links {
    query: String,
}

impl Links {
    /// Links for a page requested with `query`.
    pub fn new(app: &App, query: Option<&str>) -> Self {
        let token = app.settings.api_token.as_deref();
        let query = match (token, query.and_then(auth::token_in_query)) {
            (Some(token), Some(given)) if given == token => auth::token_query(token),
            _ => String::new(),
        };
        Self { query }
    }

    /// The escaped address of the flow list.
    fn index(&self) -> String {
        escape(&format!("{BASE}{}", self.query))
    }

    /// The escaped address of a flow's page (`ending` empty) or rendering (`.svg` …).
    fn flow(&self, name: &str, ending: &str) -> String {
        escape(&format!("{BASE}/{}{ending}{}", segment(name), self.query))
    }
}

/// The flow list.
pub(super) fn index(summaries: &[FlowSummary], links: &Links) -> String {
    let mut body = String::from("<h1>Flows</h1>\n");
    if summaries.is_empty() {
        body.push_str("<p class=\"sl-meta\">No step is loaded, so there is no flow.</p>\n");
        return document("Flows", links, &body);
    }

    body.push_str(
        "<table class=\"sl-list\"><thead><tr><th>Flow</th><th>Steps</th><th>Edges</th>\
         <th>Dangling topic links</th><th>Downloads</th></tr></thead><tbody>\n",
    );
    for flow in summaries {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"sl-num\">{}</td>\
             <td class=\"sl-num\">{}</td><td class=\"sl-num\">{}</td><td>{}</td></tr>",
            links.flow(&flow.name, ""),
            escape(&flow.name),
            flow.steps,
            flow.edges,
            flow.dangling,
            downloads(&flow.name, links),
        );
    }
    body.push_str("</tbody></table>\n");
    document("Flows", links, &body)
}

/// One flow: its drawing, then a panel per step in the graph's (name) order.
pub(super) fn flow(graph: &FlowGraph, manifests: &ManifestSet, links: &Links) -> String {
    let name = escape(&graph.flow);
    let mut body = format!("<h1>Flow <code>{name}</code></h1>\n");
    let _ = writeln!(
        body,
        "<p class=\"sl-meta\">{}, {}, {}. {}</p>",
        count(graph.nodes.len(), "step", "steps"),
        count(graph.edges.len(), "edge", "edges"),
        count(
            graph.dangling.len(),
            "dangling topic link",
            "dangling topic links"
        ),
        downloads(&graph.flow, links),
    );
    body.push_str(
        "<p class=\"sl-legend\"><span class=\"sl-kind sl-kind-api\">api</span>\
         <span class=\"sl-kind sl-kind-event\">event</span>\
         <span class=\"sl-kind sl-kind-cron\">cron</span>\
         <span class=\"sl-kind sl-kind-noop\">noop</span>\
         <span>dashed: virtual (drawn, never routed)</span>\
         <span>red: a topic with no partner in this flow</span></p>\n",
    );

    // The standalone document minus its XML declaration is valid inline SVG.
    let svg = to_svg(graph);
    let svg = svg.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        body,
        "<figure class=\"sl-graph\">{}</figure>",
        svg.unwrap_or_default()
    );

    body.push_str("<h2>Steps</h2>\n<div class=\"sl-steps\">\n");
    for node in &graph.nodes {
        match manifests.step(&node.name) {
            Some(step) => panel(&mut body, node, step, links),
            None => {
                // The graph was built from these manifests, so this cannot happen; say so
                // rather than draw a panel from nothing.
                let _ = writeln!(
                    body,
                    "<section class=\"sl-step\"><h3>{}</h3><p>no manifest</p></section>",
                    escape(&node.name)
                );
            }
        }
    }
    body.push_str("</div>\n");
    document(&format!("Flow {}", graph.flow), links, &body)
}

/// The panel of one step: its manifest fields, then its Markdown documentation.
fn panel(out: &mut String, node: &Node, step: &Step, links: &Links) {
    let m = &step.manifest;
    let kind = m.kind.as_str();
    let _ = write!(
        out,
        "<section class=\"sl-step\" id=\"step-{}\" data-step=\"{}\">\
         <h3><span class=\"sl-kind sl-kind-{kind}\">{kind}</span>{}</h3>",
        escape(&node.id),
        escape(&node.name),
        escape(&node.name),
    );
    if let Some(description) = &m.description {
        let _ = write!(out, "<p>{}</p>", escape(description));
    }

    out.push_str("<dl class=\"sl-fields\">");
    field(out, "type", &code(kind));
    field(out, "trigger", &optional(node.trigger.as_deref().map(code)));
    field(out, "handler", &code(&m.handler_id()));
    field(out, "emits", &emits(&m.emits));
    if !m.virtual_emits.is_empty() {
        field(out, "virtual emits", &emits(&m.virtual_emits));
    }
    field(out, "subscribes", &list(&m.subscribes));
    if !m.virtual_subscribes.is_empty() {
        field(out, "virtual subscribes", &list(&m.virtual_subscribes));
    }
    let flows: Vec<String> = node
        .flows
        .iter()
        .map(|f| format!("<a href=\"{}\">{}</a>", links.flow(f, ""), escape(f)))
        .collect();
    field(out, "flows", &flows.join(", "));
    field(out, "tags", &list(&m.tags));
    field(out, "dependencies", &list(&m.dependencies));
    field(
        out,
        "category",
        &optional(m.category.as_deref().map(escape)),
    );
    field(out, "version", &optional(m.version.as_deref().map(escape)));
    field(out, "status", &status(m.status));
    field(out, "queue", &queue(m.kind, m.queue.as_ref()));
    let file = format!("{}:{}", step.source.file.display(), step.source.line);
    field(out, "file", &code(&file));
    out.push_str("</dl>");

    if let Some(docs) = step.docs.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = write!(
            out,
            "<div class=\"sl-docs\">{}</div>",
            markdown::to_html(docs)
        );
    }
    out.push_str("</section>\n");
}

/// One row of the field list; `value` is HTML already.
fn field(out: &mut String, label: &str, value: &str) {
    let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

fn none() -> String {
    "<span class=\"sl-none\">none</span>".into()
}

fn optional(value: Option<String>) -> String {
    value.unwrap_or_else(none)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return none();
    }
    items
        .iter()
        .map(|item| code(item))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `topic` or `topic "label" (conditional)`.
fn emits(emits: &[Emit]) -> String {
    if emits.is_empty() {
        return none();
    }
    let one = |emit: &Emit| {
        let mut text = code(emit.topic());
        if let Some(label) = emit.label() {
            let _ = write!(text, " “{}”", escape(label));
        }
        if emit.conditional() {
            text.push_str(" (conditional)");
        }
        text
    };
    emits.iter().map(one).collect::<Vec<_>>().join(", ")
}

fn status(status: Status) -> String {
    match status {
        Status::Active => "active".into(),
        Status::Deprecated => "<span class=\"sl-deprecated\">deprecated</span>".into(),
        Status::Disabled => "disabled".into(),
    }
}

/// The delivery settings of an event step, with the defaults said as such.
fn queue(kind: StepKind, queue: Option<&QueueConfig>) -> String {
    if kind != StepKind::Event {
        return none();
    }
    let (config, source) = match queue {
        Some(config) => (config.clone(), ""),
        None => (QueueConfig::default(), " (defaults)"),
    };
    let mut text = format!(
        "max_retries {}, backoff {}, max_backoff {}, concurrency {}, timeout {}",
        config.max_retries,
        duration(config.backoff.0),
        duration(config.max_backoff.0),
        config.concurrency,
        duration(config.timeout.0),
    );
    if let Some(group_by) = &config.group_by {
        let _ = write!(text, ", group_by {group_by}");
    }
    text.push_str(source);
    escape(&text)
}

/// `250ms`, `30s`, `5m` or `1h`: the manifest notation.
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".into(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

/// `1 step`, `7 steps`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn downloads(flow: &str, links: &Links) -> String {
    format!(
        "<a href=\"{}\">SVG</a> <a href=\"{}\">JSON</a> <a href=\"{}\">Mermaid</a>",
        links.flow(flow, ".svg"),
        links.flow(flow, ".json"),
        links.flow(flow, ".mmd"),
    )
}

/// The page around a body: no script, no outside resource, an empty icon so that the
/// browser does not ask for `/favicon.ico`.
fn document(title: &str, links: &Links, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Stepline</title><link rel=\"icon\" href=\"data:,\">\
         <style>{CSS}</style></head>\n<body><div class=\"sl-top\">\
         <a href=\"{}\">Stepline flows</a></div>\n<main>\n{body}</main></body></html>\n",
        escape(title),
        links.index(),
    )
}

/// Text or an attribute value, escaped for HTML: the SVG's XML escaping, which HTML reads
/// the same way (and which drops the control characters neither allows).
pub(super) fn escape(text: &str) -> String {
    crate::render::svg::escape(text)
}

/// A flow name as one path segment: every byte but the unreserved ones percent-encoded.
fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_names_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&apos;y&apos;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(segment("orders"), "orders");
        assert_eq!(segment("a b/ü\"<"), "a%20b%2F%C3%BC%22%3C");
    }

    #[test]
    fn durations_read_as_in_manifests() {
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_secs(1)), "1s");
        assert_eq!(duration(Duration::from_secs(300)), "5m");
        assert_eq!(duration(Duration::from_secs(7200)), "2h");
    }
}
