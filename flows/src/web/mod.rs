//! The flow pages of a running server, under `/_stepline/flows`.
//!
//! | path | what | content type |
//! |---|---|---|
//! | `/_stepline/flows` | the flows with their step, edge and dangling-link counts | HTML |
//! | `/_stepline/flows/{name}` | the flow drawn as inline SVG, and a panel per step | HTML |
//! | `/_stepline/flows/{name}.svg` | the drawing alone | `image/svg+xml` |
//! | `/_stepline/flows/{name}.json` | nodes and edges, as `stepline flows NAME -f json` | JSON |
//! | `/_stepline/flows/{name}.mmd` | Mermaid, as `stepline flows NAME -f mermaid` | text |
//!
//! An unknown flow is the runtime's JSON 404 (`{"error": {"code": "not_found", …}}`).
//!
//! The runtime does not know this crate: the application hands [`routes`] to it at start as a
//! [`RouteExtension`](stepline_runtime::http::RouteExtension), and the runtime merges them into
//! its router, behind the same token check as every other route. Each request builds the
//! graph from the manifests of the [`App`] it is served by, so the pages always show the set
//! that is live.
//!
//! The pages are plain server-side HTML with inline CSS and no script; they load nothing
//! from elsewhere, so they work offline. Manifest text reaches them only HTML-escaped, or
//! through the Markdown renderer that escapes raw HTML (see [`markdown`]), and a
//! Content-Security-Policy that allows no script at all backs this up.

pub mod markdown;
mod page;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use stepline_runtime::app::App;
use stepline_runtime::http::ApiError;

use crate::graph::{FlowGraph, FlowSet};
use crate::render::{to_json, to_mermaid, to_svg};

/// Where the flow pages live.
pub const BASE: &str = "/_stepline/flows";

/// No script, no outside resource: styles inline, images only from the server or inline.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                           base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The routes of the flow pages, to be provided as a `RouteExtension` by the start hook.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(BASE, get(index))
        .route(&format!("{BASE}/{{file}}"), get(flow_file))
}

/// What a path under the base asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asset {
    Page,
    Svg,
    Json,
    Mermaid,
}

async fn index(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let flows = FlowSet::build(&app.manifests.steps);
    let links = page::Links::new(&app, query.as_deref());
    html(page::index(&flows.summaries(), &links))
}

/// `{name}` is the page of a flow; `{name}.svg`, `.json` and `.mmd` are its renderings.
/// axum cannot route a suffix after a parameter, so the ending is split off here.
async fn flow_file(
    State(app): State<Arc<App>>,
    file: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(Path(file)) = file else {
        return ApiError::bad_request("invalid_path", "the flow name is not valid UTF-8")
            .into_response();
    };
    let flows = FlowSet::build(&app.manifests.steps);
    let Some((graph, asset)) = resolve(&flows, &file) else {
        let known = flows.names().join(", ");
        return ApiError::not_found(format!("no flow `{file}`; the flows are: {known}"))
            .into_response();
    };

    match asset {
        Asset::Page => {
            let links = page::Links::new(&app, query.as_deref());
            html(page::flow(graph, &app.manifests, &links))
        }
        Asset::Svg => typed("image/svg+xml", Some(PAGE_POLICY), to_svg(graph)),
        Asset::Json => typed("application/json", None, to_json(graph)),
        Asset::Mermaid => typed("text/plain; charset=utf-8", None, to_mermaid(graph)),
    }
}

/// The flow and the asset a path segment names. An exact flow name wins, so that a flow
/// whose name itself ends in `.json` still has its page.
fn resolve<'a>(flows: &'a FlowSet, file: &str) -> Option<(&'a FlowGraph, Asset)> {
    if let Some(graph) = flows.get(file) {
        return Some((graph, Asset::Page));
    }
    let (name, ending) = file.rsplit_once('.')?;
    let asset = match ending {
        "svg" => Asset::Svg,
        "json" => Asset::Json,
        "mmd" => Asset::Mermaid,
        _ => return None,
    };
    flows.get(name).map(|graph| (graph, asset))
}

fn html(body: String) -> Response {
    typed("text/html; charset=utf-8", Some(PAGE_POLICY), body)
}

/// A body with its content type; never cached, since the manifests may be reloaded.
fn typed(content_type: &'static str, policy: Option<&'static str>, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(policy) = policy {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::FlowGraph;

    fn flow(name: &str) -> FlowGraph {
        FlowGraph {
            flow: name.into(),
            nodes: Vec::new(),
            edges: Vec::new(),
            dangling: Vec::new(),
        }
    }

    #[test]
    fn a_path_names_a_flow_and_an_asset() {
        let flows = FlowSet {
            flows: vec![flow("orders"), flow("odd.json")],
        };
        let asset = |file: &str| resolve(&flows, file).map(|(g, a)| (g.flow.clone(), a));
        assert_eq!(asset("orders"), Some(("orders".into(), Asset::Page)));
        assert_eq!(asset("orders.svg"), Some(("orders".into(), Asset::Svg)));
        assert_eq!(asset("orders.json"), Some(("orders".into(), Asset::Json)));
        assert_eq!(asset("orders.mmd"), Some(("orders".into(), Asset::Mermaid)));
        assert_eq!(asset("odd.json"), Some(("odd.json".into(), Asset::Page)));
        assert_eq!(asset("odd.json.svg"), Some(("odd.json".into(), Asset::Svg)));
        assert_eq!(asset("orders.dot"), None);
        assert_eq!(asset("nope.svg"), None);
        assert_eq!(asset("nope"), None);
    }
}
