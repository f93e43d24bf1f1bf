//! Handlers that ship with the runtime, usable from a manifest without code.
//!
//! - `stepline.forward` (api): checks the request body against the manifest's `body`
//!   schema, emits it as an event on the step's single emitted topic, and answers 202 with
//!   `{"event_id": ...}`.
//!
//! `noop` steps need no handler: they are drawn, never run.

use serde_json::{Value, json};

use crate::context::Context;
use crate::error::StepError;
use crate::http::StatusCode;
use crate::registry::{ApiRequest, ApiResponse};

/// The id of the forwarding handler.
pub const FORWARD: &str = "stepline.forward";

async fn forward(body: Value, ctx: Context) -> Result<ApiResponse, StepError> {
    let topic = ctx
        .single_emit()
        .ok_or_else(|| StepError::fatal("`stepline.forward` needs exactly one topic in `emits`"))?;
    let event_id = ctx.emit_value(&topic, body).await?;
    Ok(ApiResponse::json(
        StatusCode::ACCEPTED,
        json!({ "event_id": event_id, "topic": topic }),
    ))
}

/// The forward handler takes any JSON: its schema is the manifest's `body`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
struct AnyBody(Value);

async fn forward_any(request: ApiRequest<AnyBody>, ctx: Context) -> Result<ApiResponse, StepError> {
    forward(request.body.0, ctx).await
}

crate::register_step!(api "stepline.forward", body = AnyBody, forward_any);
