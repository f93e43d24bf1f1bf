//! `Calendar Sync API` — `POST /advoware/calendar/sync` — and `Calendar Sync Cron`.
//!
//! `ALL` emits `calendar_sync_all`. One code takes the employee's lock for 300 s, then
//! emits `calendar_sync_employee` carrying the lock token; a held lock answers 409 and
//! emits nothing. A malformed code answers 400 and takes no lock.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use stepline_runtime::http::StatusCode;
use stepline_runtime::{ApiRequest, ApiResponse, Context, StepError, register_step};

use super::kuerzel::{self, LOCK_TTL, Target};
use super::{TOPIC_ALL, TOPIC_EMPLOYEE};

/// The request body; both fields are optional, and no others are accepted (a typo such as
/// `kurzel` must never fall back to syncing everyone).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// `ALL` (any case) or one employee code. Default `ALL`.
    #[serde(default = "all")]
    pub kuerzel: String,
    /// `true`: titles, places and notes; `false`: placeholders with times only. Default
    /// `true`.
    #[serde(default = "super::default_true")]
    pub full_content: bool,
}

fn all() -> String {
    "ALL".to_string()
}

async fn trigger(request: ApiRequest<SyncRequest>, ctx: Context) -> Result<ApiResponse, StepError> {
    let body = request.body;
    let target = kuerzel::parse_target(&body.kuerzel).map_err(|e| {
        StepError::reject(StatusCode::BAD_REQUEST, "invalid_kuerzel", e.to_string())
    })?;
    let code = match target {
        Target::All => {
            ctx.emit(TOPIC_ALL, json!({ "full_content": body.full_content }))
                .await?;
            "ALL".to_string()
        }
        Target::Employee(code) => {
            start_employee(&ctx, &code, body.full_content).await?;
            code
        }
    };
    tracing::info!(kuerzel = %code, full_content = body.full_content, "calendar sync triggered");
    Ok(ApiResponse::ok(json!({
        "status": "triggered",
        "kuerzel": code,
        "message": format!("Calendar sync triggered for {code}"),
    })))
}

/// Takes the employee's lock and emits the sync event; frees the lock if the emit fails.
async fn start_employee(ctx: &Context, code: &str, full_content: bool) -> Result<(), StepError> {
    let key = kuerzel::lock_key(code);
    let token = ctx.new_token();
    if !ctx.locks().acquire(&key, &token, LOCK_TTL).await? {
        return Err(StepError::reject(
            StatusCode::CONFLICT,
            "sync_running",
            format!(
                "a calendar sync for {code} is already running; try again when it has finished"
            ),
        ));
    }
    let payload = json!({ "kuerzel": code, "full_content": full_content, "lock_token": token });
    if let Err(e) = ctx.emit(TOPIC_EMPLOYEE, payload).await {
        let _ = ctx.locks().release(&key, &token).await;
        return Err(e.into());
    }
    Ok(())
}

register_step!(api "calendar_sync_api", body = SyncRequest, trigger);

/// Emits `calendar_sync_all` with full content on the manifest's schedule.
async fn tick(ctx: Context) -> Result<(), StepError> {
    ctx.emit(TOPIC_ALL, json!({ "full_content": true })).await?;
    Ok(())
}

register_step!(cron "calendar_sync_cron", tick);
