//! `Calendar Sync Status` and `Calendar Feed`: reading what the sync did.
//!
//! - `GET /advoware/calendar/sync/status`: every employee with the last run and whether a
//!   sync holds the lock now.
//! - `GET /advoware/calendar/sync/status/{kuerzel}`: the same for one code.
//! - `GET /advoware/calendar/{kuerzel}.ics`: the employee's calendar file, for calendar apps
//!   to subscribe to.
//!
//! Lock tokens are never shown.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stepline_runtime::http::{HeaderName, HeaderValue, StatusCode};
use stepline_runtime::{ApiRequest, ApiResponse, Context, NoBody, StepError, register_step};

use super::kuerzel;
use super::{CalendarService, RUNS_GROUP};
use crate::calendar::target::calendar_file_name;

async fn status_all(_request: ApiRequest<NoBody>, ctx: Context) -> Result<ApiResponse, StepError> {
    let mut runs: BTreeMap<String, Value> = ctx
        .state()
        .get_group(RUNS_GROUP)
        .await?
        .into_iter()
        .collect();
    // The run records stay visible when the source cannot be read: that is when they matter.
    let (employees, source_error) = match employees(&ctx).await {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };

    let mut rows = Vec::new();
    for employee in employees {
        let Ok(code) = kuerzel::normalise(&employee.kuerzel) else {
            continue;
        };
        let last_run = runs.remove(&code).unwrap_or(Value::Null);
        rows.push(row(&ctx, &code, Some(employee.active), last_run).await?);
    }
    // Runs of codes the source does not list (recorded as unknown) are shown too.
    for (code, last_run) in runs {
        rows.push(row(&ctx, &code, None, last_run).await?);
    }
    Ok(ApiResponse::ok(
        json!({ "employees": rows, "source_error": source_error }),
    ))
}

register_step!(api "calendar_sync_status", status_all);

async fn status_one(request: ApiRequest<NoBody>, ctx: Context) -> Result<ApiResponse, StepError> {
    let code = path_code(&request, "kuerzel")?;
    let last_run = ctx.state().get(RUNS_GROUP, &code).await?;
    let active = match employees(&ctx).await {
        Ok(list) => list
            .iter()
            .find(|e| kuerzel::normalise(&e.kuerzel).is_ok_and(|c| c == code))
            .map(|e| e.active),
        // Without the source, a recorded run is still worth showing.
        Err(_) if last_run.is_some() => None,
        Err(e) => return Err(e),
    };
    if active.is_none() && last_run.is_none() {
        return Err(StepError::reject(
            StatusCode::NOT_FOUND,
            "unknown_employee",
            format!("no employee has the code {code}, and no sync ran for it"),
        ));
    }
    Ok(ApiResponse::ok(
        row(&ctx, &code, active, last_run.unwrap_or(Value::Null)).await?,
    ))
}

register_step!(api "calendar_sync_status_employee", status_one);

/// The source's employees; a source that cannot answer makes the status unavailable.
/// The status answers within this bound even when the source is slow; the recorded runs
/// are shown without the employee list then.
const SOURCE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn employees(ctx: &Context) -> Result<Vec<crate::calendar::Employee>, StepError> {
    let service = ctx.service::<CalendarService>()?;
    match tokio::time::timeout(SOURCE_WAIT, service.source.employees()).await {
        Ok(answer) => answer.map_err(|e| StepError::Unavailable(e.to_string())),
        Err(_) => Err(StepError::Unavailable(format!(
            "the employee list did not come within {} s",
            SOURCE_WAIT.as_secs()
        ))),
    }
}

async fn row(
    ctx: &Context,
    code: &str,
    active: Option<bool>,
    last_run: Value,
) -> Result<Value, StepError> {
    let holder = ctx.locks().holder(&kuerzel::lock_key(code)).await?;
    Ok(json!({
        "kuerzel": code,
        "active": active,
        "known": active.is_some(),
        "locked": holder.is_some(),
        "lock_expires_in_s": holder.map(|h| h.ttl.as_secs()),
        "last_run": last_run,
    }))
}

/// The calendar file of one employee.
async fn feed(request: ApiRequest<NoBody>, ctx: Context) -> Result<ApiResponse, StepError> {
    let code = path_code(&request, "kuerzel")?;
    let service = ctx.service::<CalendarService>()?;
    let name = calendar_file_name(&code).map_err(|e| {
        StepError::reject(StatusCode::BAD_REQUEST, "invalid_kuerzel", e.to_string())
    })?;
    let path = service.config.ics_dir.join(name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(
            ApiResponse::raw("text/calendar; charset=utf-8", bytes).with_header(
                HeaderName::from_static("cache-control"),
                HeaderValue::from_static("no-cache"),
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StepError::reject(
            StatusCode::NOT_FOUND,
            "no_calendar",
            format!("no calendar for {code} yet; run a sync first"),
        )),
        Err(e) => Err(StepError::failed(format!(
            "cannot read the calendar of {code}: {e}"
        ))),
    }
}

register_step!(api "calendar_feed", feed);

/// A path parameter holding an employee code, checked and normalised.
fn path_code(request: &ApiRequest<NoBody>, name: &str) -> Result<String, StepError> {
    let raw = request
        .path_params
        .get(name)
        .map(String::as_str)
        .unwrap_or("");
    kuerzel::normalise(raw)
        .map_err(|e| StepError::reject(StatusCode::BAD_REQUEST, "invalid_kuerzel", e.to_string()))
}
