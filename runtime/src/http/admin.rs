//! Built-in endpoints under the reserved prefix `/_stepline/`:
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/_stepline/health` | `{"status": "ok", "store": "ok", ...}`; 503 `degraded` when the store does not answer (never needs the token) |
//! | GET | `/_stepline/steps` | the loaded steps |
//! | GET | `/_stepline/openapi.json` | the OpenAPI 3.1 document of the API steps |
//! | GET | `/_stepline/dead-letters` | the dead-letter queue |
//! | POST | `/_stepline/dead-letters/{id}/redrive` | deliver a dead letter again |
//! | POST | `/_stepline/dead-letters/redrive` | deliver every dead letter again |
//! | DELETE | `/_stepline/dead-letters/{id}` | drop a dead letter |

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;
use crate::manifest::StepKind;

/// The reserved prefix; no manifest may route under it.
pub const PREFIX: &str = "/_stepline";

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/_stepline/health", get(health))
        .route("/_stepline/steps", get(steps))
        .route("/_stepline/openapi.json", get(openapi))
        .route("/_stepline/dead-letters", get(dead_letters))
        .route("/_stepline/dead-letters/redrive", post(redrive_all))
        .route("/_stepline/dead-letters/{id}/redrive", post(redrive))
        .route("/_stepline/dead-letters/{id}", delete(discard))
}

async fn health(State(app): State<Arc<App>>) -> (StatusCode, Json<Value>) {
    // A store that does not answer (Redis down) makes the server unable to serve its steps.
    let (status, store) = match app.state.ping().await {
        Ok(()) => (StatusCode::OK, json!("ok")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, json!(e.to_string())),
    };
    let overall = if status == StatusCode::OK {
        "ok"
    } else {
        "degraded"
    };
    let body = json!({
        "status": overall,
        "store": store,
        "steps": app.steps.len(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    (status, Json(body))
}

async fn openapi(State(app): State<Arc<App>>) -> Json<Value> {
    Json(crate::openapi::document(&app))
}

async fn steps(State(app): State<Arc<App>>) -> Json<Value> {
    let list: Vec<Value> = app
        .steps
        .values()
        .map(|s| {
            let m = s.manifest();
            let trigger = match m.kind {
                StepKind::Api => json!({
                    "method": m.method.map(|x| x.as_str()),
                    "path": m.path,
                }),
                StepKind::Event => json!({ "subscribes": m.subscribes }),
                StepKind::Cron => json!({ "cron": m.cron, "timezone": m.timezone }),
                StepKind::Noop => Value::Null,
            };
            json!({
                "name": m.name,
                "type": m.kind,
                "handler": s.registration.map(|r| r.id),
                "flows": m.flows,
                "emits": m.emits.iter().map(|e| e.topic()).collect::<Vec<_>>(),
                "trigger": trigger,
                "file": s.step.source.file.display().to_string(),
            })
        })
        .collect();
    Json(json!({ "steps": list }))
}

async fn dead_letters(State(app): State<Arc<App>>) -> Result<Json<Value>, ApiError> {
    let list = app.queue.dead_letters().await?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|d| {
            json!({
                "id": d.delivery.id,
                "event_id": d.delivery.event_id,
                "step": d.delivery.step,
                "topic": d.delivery.topic,
                "trace_id": d.delivery.trace_id,
                "attempts": d.delivery.attempts,
                "error": d.error,
                "failed_at": d.failed_at,
                "emitted_at": d.delivery.emitted_at,
                "payload": d.delivery.payload,
            })
        })
        .collect();
    Ok(Json(json!({ "count": items.len(), "dead_letters": items })))
}

async fn redrive(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match app.queue.redrive(&id).await? {
        Some(d) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "redriven": [{ "id": id, "delivery_id": d.id, "step": d.step }] })),
        )),
        None => Err(ApiError::not_found(format!(
            "no dead letter with id `{id}`"
        ))),
    }
}

async fn redrive_all(State(app): State<Arc<App>>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut redriven = Vec::new();
    for dead in app.queue.dead_letters().await? {
        if let Some(d) = app.queue.redrive(&dead.delivery.id).await? {
            redriven.push(json!({ "id": dead.delivery.id, "delivery_id": d.id, "step": d.step }));
        }
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "redriven": redriven }))))
}

async fn discard(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if app.queue.discard(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no dead letter with id `{id}`"
        )))
    }
}
