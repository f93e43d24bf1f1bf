//! HTTP: the axum router built from the API manifests, the built-in endpoints under
//! `/_stepline/`, JSON errors for everything a client can get wrong, and serving with
//! graceful shutdown.

pub mod admin;
pub mod api;
pub mod auth;
pub mod error;
pub mod listener;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter};

/// Re-exported so that step code needs no direct axum dependency.
pub use axum::http::{HeaderName, HeaderValue, StatusCode};
pub use error::ApiError;

use crate::app::App;
use crate::manifest::{HttpMethod, StepKind};

/// Routes an application adds under the reserved prefix (e.g. the flow pages), provided at
/// start with [`App::provide`]. Their handlers get the current [`App`] as state.
pub struct RouteExtension(pub Router<Arc<App>>);

/// The whole router of an application: API steps, built-in endpoints, JSON 404 and 405,
/// and the token check when a token is configured.
pub fn router(app: Arc<App>) -> Router {
    let mut by_route: BTreeMap<String, MethodRouter<Arc<App>>> = BTreeMap::new();
    for step in app
        .steps
        .values()
        .filter(|s| s.step.kind() == StepKind::Api)
    {
        let (Some(route), Some(method)) = (step.step.route.clone(), step.manifest().method) else {
            continue;
        };
        let step = step.clone();
        let handler = move |axum::extract::State(app): axum::extract::State<Arc<App>>,
                            path: Result<Path<BTreeMap<String, String>>, PathRejection>,
                            query: Result<Query<Vec<(String, String)>>, QueryRejection>,
                            request: Request| {
            let step = step.clone();
            async move { api::handle(app, step, path, query, request).await }
        };
        let entry = by_route.remove(&route).unwrap_or_default();
        by_route.insert(route, entry.on(filter(method), handler));
    }

    let mut router = admin::routes();
    for (route, methods) in by_route {
        router = router.route(&route, methods);
    }
    if let Some(extension) = app.service::<RouteExtension>() {
        router = router.merge(extension.0.clone());
    }
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app.clone());
    if let Some(token) = app.settings.api_token.clone() {
        router = router.layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(token),
            auth::require_token,
        ));
    }
    router
}

fn filter(method: HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    }
}

async fn not_found(request: Request) -> impl IntoResponse {
    ApiError::no_route(request.method(), request.uri().path())
}

async fn method_not_allowed(request: Request) -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}
