//! Running an API step for one request.
//!
//! ```text
//!  request ─► content type ─► body (size limit) ─► JSON ─► step schema ─► handler task
//!     415        413               400 invalid_json     400 invalid_body /   (panic: 500)
//!                                                         unknown_field
//! ```
//!
//! Nothing reaches the handler until every check passed, so a bad request changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tracing::Instrument;

use super::error::ApiError;
use crate::app::{App, SchemaViolation, StepRuntime};
use crate::bus::dispatch::panic_message;
use crate::context::Context;
use crate::registry::{ApiRequest, ApiResponse, HandlerFn, ResponseBody};

/// The header carrying the trace id in and out.
pub const TRACE_HEADER: &str = "x-trace-id";

/// Handles one request for `step`.
pub async fn handle(
    app: Arc<App>,
    step: Arc<StepRuntime>,
    path: Result<Path<BTreeMap<String, String>>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    request: Request,
) -> Response {
    let trace_id = trace_id(request.headers());
    let mut response = match run(&app, &step, path, query, request, &trace_id).await {
        Ok(response) => into_response(response),
        Err(error) => error.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_HEADER, value);
    }
    response
}

async fn run(
    app: &Arc<App>,
    step: &Arc<StepRuntime>,
    path: Result<Path<BTreeMap<String, String>>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    request: Request,
    trace_id: &str,
) -> Result<ApiResponse, ApiError> {
    let Path(mut path_params) =
        path.map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))?;
    if let Some((name, ending)) = &step.step.route_suffix {
        // `/calendar/{kuerzel}.ics`: the router matched `/calendar/{kuerzel}`; a request
        // without the ending is for a route that does not exist.
        let value = path_params
            .get(name)
            .and_then(|v| v.strip_suffix(ending.as_str()));
        match value {
            Some(stripped) if !stripped.is_empty() => {
                let stripped = stripped.to_string();
                path_params.insert(name.clone(), stripped);
            }
            _ => return Err(ApiError::no_route(request.method(), request.uri().path())),
        }
    }
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let has_body = step.manifest().method.is_some_and(|m| m.has_body());
    let (parts, body) = request.into_parts();

    let body = if has_body {
        let value = read_json(&parts.headers, body, app.settings.max_body_bytes).await?;
        step.check_input(&value)
            .map_err(|v| schema_error(step, &v))?;
        value
    } else {
        Value::Object(Default::default())
    };

    let request = ApiRequest {
        path_params,
        query: query.into_iter().collect(),
        headers: parts.headers,
        body,
    };
    call(app, step, request, trace_id).await
}

/// Reads the body as JSON. An empty body is `{}`: every field takes its default.
async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A 400 naming what is wrong: unknown fields first (a typo must never pass as a default),
/// then every other violation.
fn schema_error(step: &StepRuntime, violations: &[SchemaViolation]) -> ApiError {
    let unknown: Vec<&str> = violations
        .iter()
        .flat_map(|v| v.unknown_fields.iter().map(String::as_str))
        .collect();
    if !unknown.is_empty() {
        let allowed = allowed_fields(step);
        let mut message = format!("unknown field(s): {}", quote_all(&unknown));
        if !allowed.is_empty() {
            message.push_str(&format!("; allowed: {}", quote_all(&allowed)));
        }
        return ApiError::bad_request("unknown_field", message);
    }
    let details: Vec<String> = violations
        .iter()
        .map(|v| {
            let at = if v.path.is_empty() {
                "body"
            } else {
                v.path.as_str()
            };
            format!("{at}: {}", v.message)
        })
        .collect();
    ApiError::bad_request("invalid_body", details.join("; "))
}

fn allowed_fields(step: &StepRuntime) -> Vec<&str> {
    step.input_schema
        .as_ref()
        .and_then(|(schema, _)| schema.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn quote_all(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the handler in its own task, so that a panic answers 500 and the server lives on.
async fn call(
    app: &Arc<App>,
    step: &Arc<StepRuntime>,
    request: ApiRequest<Value>,
    trace_id: &str,
) -> Result<ApiResponse, ApiError> {
    let Some(HandlerFn::Api(handler)) = step.registration.map(|r| r.handler) else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the step has no API handler",
        ));
    };
    let span = tracing::info_span!("step", step = step.name(), trace_id);
    let ctx = Context::new(app.clone(), step.clone(), trace_id.into());
    match tokio::spawn(handler(request, ctx).instrument(span)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join) => {
            let message = if join.is_panic() {
                panic_message(join.into_panic())
            } else {
                "cancelled".to_string()
            };
            tracing::error!(step = step.name(), trace_id, panic = %message, "API handler panicked");
            Err(ApiError::internal())
        }
    }
}

fn into_response(response: ApiResponse) -> Response {
    let mut out = match response.body {
        ResponseBody::Json(value) => (response.status, axum::Json(value)).into_response(),
        ResponseBody::Raw {
            content_type,
            bytes,
        } => (
            response.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            bytes,
        )
            .into_response(),
    };
    for (name, value) in response.headers {
        out.headers_mut().insert(name, value);
    }
    out
}

/// The caller's trace id if it is a sane token, else a new one.
fn trace_id(headers: &HeaderMap) -> String {
    headers
        .get(TRACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}
