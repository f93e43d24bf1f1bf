//! Handlers registered only into the test binaries.
//!
//! Each records what it saw in state, under the group `test:<step name>`, so that tests can
//! assert exactly which events ran and how often.

use serde::Deserialize;
use serde_json::{Value, json};
use stepline_runtime::http::StatusCode;
use stepline_runtime::{ApiRequest, ApiResponse, Context, StepError, register_step};

/// The payload of the test events: an id that names the event in state.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Job {
    pub id: String,
}

/// Counts one more attempt of `id` by this step; returns the new count.
async fn count_attempt(ctx: &Context, id: &str) -> Result<u64, StepError> {
    let group = format!("test:{}:attempts", ctx.step_name());
    let n = ctx
        .state()
        .get(&group, id)
        .await?
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
        + 1;
    ctx.state().set(&group, id, json!(n)).await?;
    Ok(n)
}

async fn record(ctx: &Context, id: &str, value: Value) -> Result<(), StepError> {
    let group = format!("test:{}", ctx.step_name());
    ctx.state().set(&group, id, value).await?;
    Ok(())
}

/// Records every event it gets, with the trace id.
async fn record_job(job: Job, ctx: Context) -> Result<(), StepError> {
    if std::env::var_os("STEPLINE_TEST_HOLD").is_some() {
        // The kill test's first server: never finish, so the event stays pending.
        std::future::pending::<()>().await;
    }
    count_attempt(&ctx, &job.id).await?;
    record(&ctx, &job.id, json!({"trace_id": ctx.trace_id()})).await
}
register_step!(event "test_record_a", input = Job, record_job);
register_step!(event "test_record_b", input = Job, record_job);

/// Fails on the first two attempts of each event, then succeeds.
async fn flaky(job: Job, ctx: Context) -> Result<(), StepError> {
    let n = count_attempt(&ctx, &job.id).await?;
    if n <= 2 {
        return Err(StepError::failed(format!("attempt {n} fails on purpose")));
    }
    record(&ctx, &job.id, json!({"succeeded_on": n})).await
}
register_step!(event "test_flaky", input = Job, flaky);

/// Fails the first attempt of each event, then appends its id to one shared list with a
/// read-modify-write that only a one-at-a-time group keeps correct.
async fn sequence(job: Job, ctx: Context) -> Result<(), StepError> {
    if count_attempt(&ctx, &job.id).await? == 1 {
        return Err(StepError::failed("first attempt fails on purpose"));
    }
    let mut list = ctx
        .state()
        .get("test:sequence", "order")
        .await?
        .unwrap_or(json!([]));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    if let Some(items) = list.as_array_mut() {
        items.push(json!(job.id));
    }
    ctx.state().set("test:sequence", "order", list).await?;
    Ok(())
}
register_step!(event "test_sequence", input = Job, sequence);

/// Always fails.
async fn always_fail(job: Job, ctx: Context) -> Result<(), StepError> {
    let n = count_attempt(&ctx, &job.id).await?;
    if ctx.state().get("test:switch", "heal").await?.is_some() {
        return record(&ctx, &job.id, json!({"healed_on": n})).await;
    }
    Err(StepError::failed(format!("attempt {n} fails on purpose")))
}
register_step!(event "test_always_fail", input = Job, always_fail);

/// Emits `declared` and then `undeclared`, and reports what each emit answered.
async fn emit_both(_req: ApiRequest<Value>, ctx: Context) -> Result<ApiResponse, StepError> {
    let declared = ctx.emit("declared", json!({"id": "d1"})).await;
    let undeclared = ctx.emit("undeclared", json!({"id": "u1"})).await;
    Ok(ApiResponse::ok(json!({
        "declared_ok": declared.is_ok(),
        "undeclared_error": undeclared.err().map(|e| e.to_string()),
    })))
}
register_step!(api "test_emit_both", body = Value, emit_both);

/// Panics.
async fn panics(
    _req: ApiRequest<stepline_runtime::NoBody>,
    _ctx: Context,
) -> Result<ApiResponse, StepError> {
    panic!("this handler panics on purpose");
}
register_step!(api "test_panics", panics);

/// Echoes path parameters, query and body.
async fn echo(req: ApiRequest<Value>, ctx: Context) -> Result<ApiResponse, StepError> {
    Ok(ApiResponse::ok(json!({
        "path": req.path_params,
        "query": req.query,
        "body": req.body,
        "trace_id": ctx.trace_id(),
    })))
}
register_step!(api "test_echo", body = Value, echo);

/// A body type with two typed fields and no others.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub item: String,
    #[serde(default)]
    pub quantity: Option<u32>,
}

async fn order(req: ApiRequest<Order>, _ctx: Context) -> Result<ApiResponse, StepError> {
    if req.body.item == "sold-out" {
        return Err(StepError::reject(
            StatusCode::CONFLICT,
            "sold_out",
            "that item is sold out",
        ));
    }
    Ok(ApiResponse::ok(
        json!({"item": req.body.item, "quantity": req.body.quantity.unwrap_or(1)}),
    ))
}
register_step!(api "test_order", body = Order, order);

/// A cron step that counts its ticks.
async fn tick(ctx: Context) -> Result<(), StepError> {
    let n = ctx
        .state()
        .get("test:cron", "ticks")
        .await?
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    ctx.state().set("test:cron", "ticks", json!(n + 1)).await?;
    Ok(())
}
register_step!(cron "test_tick", tick);

/// Shows a state group: `GET /state/{group}` answers `{key: value}`.
async fn show_state(
    req: ApiRequest<stepline_runtime::NoBody>,
    ctx: Context,
) -> Result<ApiResponse, StepError> {
    let group = req.path_params.get("group").cloned().unwrap_or_default();
    let entries = ctx.state().get_group(&group).await?;
    Ok(ApiResponse::ok(
        entries.into_iter().collect::<serde_json::Map<_, _>>(),
    ))
}
register_step!(api "test_show_state", show_state);

/// The payload of [`sleep`]: how long to take.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Nap {
    pub id: String,
    pub ms: u64,
}

/// Runs in flight now, and the most seen at once, for the concurrency test (used by one
/// step only).
pub static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub static MOST_IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts the attempt, takes `ms` milliseconds, then records the id. The step named `Nap`
/// also counts how many of its runs overlap.
async fn sleep(nap: Nap, ctx: Context) -> Result<(), StepError> {
    use std::sync::atomic::Ordering::SeqCst;
    count_attempt(&ctx, &nap.id).await?;
    let counted = ctx.step_name() == "Nap";
    if counted {
        let now = IN_FLIGHT.fetch_add(1, SeqCst) + 1;
        MOST_IN_FLIGHT.fetch_max(now, SeqCst);
    }
    tokio::time::sleep(std::time::Duration::from_millis(nap.ms)).await;
    if counted {
        IN_FLIGHT.fetch_sub(1, SeqCst);
    }
    record(&ctx, &nap.id, json!({"slept": nap.ms})).await
}
register_step!(event "test_sleep", input = Nap, sleep);

/// Panics on every event.
async fn panic_on_event(_job: Job, _ctx: Context) -> Result<(), StepError> {
    panic!("this event handler panics on purpose");
}
register_step!(event "test_panic_event", input = Job, panic_on_event);
