//! `Calendar Sync All` and `Calendar Sync Employee`: the event steps that do the work.
//!
//! ```text
//!  calendar_sync_employee {kuerzel, full_content, lock_token?}
//!    ─► lock: renewed or taken with the event's token (the API takes it before emitting;
//!       Calendar Sync All only names it), else a new one; held by another token: skip
//!    ─► renew every 60 s while working; renewal lost: stop before writing more
//!    ─► sync_employee (read, map, plan, apply) ─► record the run in state
//!    ─► release the lock, whatever happened (also when the handler panics)
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use stepline_runtime::store::LockStore;
use stepline_runtime::{Context, StepError, register_step};
use tokio_util::sync::CancellationToken;

use super::kuerzel::{self, LOCK_TTL};
use super::{CalendarService, RUNS_GROUP, TOPIC_EMPLOYEE};
use crate::calendar::{SyncError, sync_employee};

/// The payload of `calendar_sync_all`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncAll {
    #[serde(default = "super::default_true")]
    pub full_content: bool,
}

/// The payload of `calendar_sync_employee`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncEmployee {
    pub kuerzel: String,
    #[serde(default = "super::default_true")]
    pub full_content: bool,
    /// The lock's owner token for this run: taken by the API before emitting, or only named
    /// by Calendar Sync All. The same event delivered again after a crash carries the same
    /// token and so takes over the lock its first delivery left behind.
    #[serde(default)]
    pub lock_token: Option<String>,
}

/// A failure of the source or target as the queue sees it: retried, or dead-lettered.
fn step_error(retryable: bool, error: &impl std::fmt::Display) -> StepError {
    if retryable {
        StepError::failed(error)
    } else {
        StepError::fatal(error)
    }
}

/// How often a running sync renews its lock.
const RENEW_EVERY: Duration = Duration::from_secs(60);

async fn sync_all(input: SyncAll, ctx: Context) -> Result<(), StepError> {
    let service = ctx.service::<CalendarService>()?;
    let employees = service
        .source
        .employees()
        .await
        .map_err(|e| step_error(e.is_retryable(), &e))?;
    let mut emitted = 0usize;
    for employee in employees.iter().filter(|e| e.active) {
        let Ok(code) = kuerzel::normalise(&employee.kuerzel) else {
            tracing::warn!("skipping an employee whose code is not a valid Kuerzel");
            continue;
        };
        // Each employee run gets its own lock token in the event, so that the same event
        // delivered again after a crash takes over the lock its first delivery left behind.
        let payload = json!({
            "kuerzel": code,
            "full_content": input.full_content,
            "lock_token": ctx.new_token(),
        });
        ctx.emit(TOPIC_EMPLOYEE, payload).await?;
        emitted += 1;
    }
    tracing::info!(
        employees = emitted,
        full_content = input.full_content,
        "calendar sync fanned out"
    );
    Ok(())
}

register_step!(event "calendar_sync_all", input = SyncAll, sync_all);

async fn sync_one(input: SyncEmployee, ctx: Context) -> Result<(), StepError> {
    let service = ctx.service::<CalendarService>()?;
    let code = kuerzel::normalise(&input.kuerzel).map_err(|e| StepError::fatal(&e))?;
    let Some(lock) = EmployeeLock::take(&ctx, &code, input.lock_token).await? else {
        tracing::info!(kuerzel = %code, "sync skipped: another run holds the employee's lock");
        return Ok(());
    };

    let started_at = Utc::now();
    let run = sync_employee(
        service.source.as_ref(),
        service.target.as_ref(),
        &code,
        input.full_content,
        service.window(),
    );
    let outcome = tokio::select! {
        result = run => Some(result),
        () = lock.lost() => None,
    };
    lock.release().await;

    let (record, result) = describe(outcome, input.full_content);
    let mut record = record;
    record["started_at"] = json!(started_at.to_rfc3339());
    record["finished_at"] = json!(Utc::now().to_rfc3339());
    record["trace_id"] = json!(ctx.trace_id());
    ctx.state().set(RUNS_GROUP, &code, record).await?;
    result
}

register_step!(event "calendar_sync_employee", input = SyncEmployee, sync_one);

/// The run record for state, and what the handler returns.
fn describe(
    outcome: Option<Result<crate::calendar::SyncReport, SyncError>>,
    full_content: bool,
) -> (Value, Result<(), StepError>) {
    match outcome {
        Some(Ok(report)) => {
            tracing::info!(
                kuerzel = %report.kuerzel,
                created = report.created,
                updated = report.updated,
                deleted = report.deleted,
                unchanged = report.unchanged,
                skipped = report.skipped,
                errors = report.errors,
                "calendar synced"
            );
            let mut record = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
            record["outcome"] = json!("ok");
            (record, Ok(()))
        }
        Some(Err(e)) if e.is_unknown_employee() => {
            tracing::warn!(error = %e, "calendar sync for an unknown employee code");
            (
                run_record("unknown_employee", full_content, &e.to_string()),
                Ok(()),
            )
        }
        Some(Err(e)) => {
            let record = run_record("failed", full_content, &e.to_string());
            (record, Err(step_error(e.is_retryable(), &e)))
        }
        None => (
            run_record(
                "lock_lost",
                full_content,
                "the lock could not be renewed; stopped writing",
            ),
            Err(StepError::failed(
                "the employee lock was lost during the sync",
            )),
        ),
    }
}

fn run_record(outcome: &str, full_content: bool, error: &str) -> Value {
    json!({
        "outcome": outcome,
        "full_content": full_content,
        "created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "skipped": 0, "errors": 0,
        "error": error,
    })
}

/// An employee's lock held by this run: renewed in the background, released at the end or,
/// if the handler dies first, when dropped.
struct EmployeeLock {
    locks: Arc<dyn LockStore>,
    key: String,
    token: String,
    lost: CancellationToken,
    renewer: tokio::task::JoinHandle<()>,
    released: bool,
}

impl EmployeeLock {
    /// Takes the lock: with the API's token it may already be ours; otherwise a new token.
    /// None when another run holds it.
    async fn take(
        ctx: &Context,
        code: &str,
        token: Option<String>,
    ) -> Result<Option<Self>, StepError> {
        let locks = ctx.lock_store();
        let key = kuerzel::lock_key(code);
        let token = token.unwrap_or_else(|| ctx.new_token());
        let ours = locks.renew(&key, &token, LOCK_TTL).await?
            || locks.acquire(&key, &token, LOCK_TTL).await?;
        if !ours {
            return Ok(None);
        }
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew(
            locks.clone(),
            key.clone(),
            token.clone(),
            lost.clone(),
        ));
        Ok(Some(Self {
            locks,
            key,
            token,
            lost,
            renewer,
            released: false,
        }))
    }

    /// Resolves when renewal failed: the lock may be someone else's now.
    async fn lost(&self) {
        self.lost.cancelled().await;
    }

    async fn release(mut self) {
        self.renewer.abort();
        self.released = true;
        if let Err(e) = self.locks.release(&self.key, &self.token).await {
            tracing::warn!(error = %e, "could not release the employee lock; it expires by itself");
        }
    }
}

impl Drop for EmployeeLock {
    fn drop(&mut self) {
        self.renewer.abort();
        if !self.released {
            let (locks, key, token) = (self.locks.clone(), self.key.clone(), self.token.clone());
            tokio::spawn(async move {
                let _ = locks.release(&key, &token).await;
            });
        }
    }
}

async fn renew(locks: Arc<dyn LockStore>, key: String, token: String, lost: CancellationToken) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match locks.renew(&key, &token, LOCK_TTL).await {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                tracing::warn!("employee lock renewal failed; the sync stops writing");
                lost.cancel();
                return;
            }
        }
    }
}
