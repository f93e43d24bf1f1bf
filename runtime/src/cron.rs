//! Cron steps: each runs its handler at every tick of its schedule.
//!
//! Expressions have 5 fields, or 6 with seconds first; the time zone is the manifest's
//! `timezone` (default UTC), so `0 7 * * *` in `Europe/Berlin` fires at 07:00 local time
//! across DST changes. A tick is claimed through a lock named after the step and the tick
//! time, so that with a shared store it fires once across all processes. A run that fails is
//! logged; the next tick runs as usual.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::app::{App, StepRuntime};
use crate::context::Context;
use crate::manifest::StepKind;
use crate::registry::HandlerFn;

/// Parses a cron expression: 5 fields, or 6 with seconds first.
pub fn parse(expression: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|e| e.to_string())
}

/// Parses an IANA time zone name; None means UTC.
pub fn time_zone(name: Option<&str>) -> Result<Tz, String> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| format!("`{name}` is not an IANA time zone such as `Europe/Berlin`")),
    }
}

/// The first tick of `cron` in `tz` strictly after `after`.
pub fn next_tick(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&tz);
    cron.find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Starts one scheduler per cron step.
pub fn start(app: &Arc<App>, stop: &CancellationToken, tracker: &TaskTracker) {
    for step in app
        .steps
        .values()
        .filter(|s| s.step.kind() == StepKind::Cron)
    {
        let manifest = step.manifest();
        let expression = manifest.cron.clone().unwrap_or_default();
        let (cron, tz) = match (parse(&expression), time_zone(manifest.timezone.as_deref())) {
            (Ok(c), Ok(tz)) => (c, tz),
            // Validation at load time makes this unreachable; refuse quietly rather than panic.
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(step = step.name(), error = %e, "cron step not scheduled");
                continue;
            }
        };
        tracker.spawn(schedule(app.clone(), step.clone(), cron, tz, stop.clone()));
    }
}

async fn schedule(
    app: Arc<App>,
    step: Arc<StepRuntime>,
    cron: Cron,
    tz: Tz,
    stop: CancellationToken,
) {
    let mut after = Utc::now();
    while let Some(tick) = next_tick(&cron, tz, after) {
        let wait = (tick - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        after = tick;
        if claim(&app, &step, tick).await {
            run(&app, &step, tick).await;
        }
    }
}

/// How long a tick's claim is kept: long past the moment every process tries to claim it.
const CLAIM_TTL: Duration = Duration::from_secs(300);

/// Takes the tick's lock; false when another process already fired it.
async fn claim(app: &App, step: &StepRuntime, tick: DateTime<Utc>) -> bool {
    let key = format!("stepline:cron:{}:{}", step.name(), tick.timestamp_millis());
    let owner = uuid::Uuid::new_v4().simple().to_string();
    match app.locks.acquire(&key, &owner, CLAIM_TTL).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(step = step.name(), error = %e, "cron tick skipped: store unavailable");
            false
        }
    }
}

async fn run(app: &Arc<App>, step: &Arc<StepRuntime>, tick: DateTime<Utc>) {
    let Some(HandlerFn::Cron(handler)) = step.registration.map(|r| r.handler) else {
        return;
    };
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!("step", step = step.name(), trace_id = %trace_id);
    let ctx = Context::new(app.clone(), step.clone(), trace_id.as_str().into());
    tracing::debug!(step = step.name(), tick = %tick, "cron tick");
    match tokio::spawn(handler(ctx).instrument(span)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(step = step.name(), trace_id, error = %e, "cron run failed"),
        Err(_) => tracing::error!(step = step.name(), trace_id, "cron run panicked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_and_six_fields() {
        let five = parse("*/15 * * * *").expect("5 fields");
        let after = Utc
            .with_ymd_and_hms(2026, 1, 1, 10, 7, 0)
            .single()
            .expect("time");
        assert_eq!(
            next_tick(&five, Tz::UTC, after),
            Utc.with_ymd_and_hms(2026, 1, 1, 10, 15, 0).single()
        );
        let six = parse("30 * * * * *").expect("6 fields");
        assert_eq!(
            next_tick(&six, Tz::UTC, after),
            Utc.with_ymd_and_hms(2026, 1, 1, 10, 7, 30).single()
        );
        assert!(parse("61 * * * *").is_err());
        assert!(parse("not a cron").is_err());
    }

    #[test]
    fn ticks_follow_the_time_zone_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let cron = parse("0 7 * * *").expect("cron");
        // Before the spring change 07:00 Berlin is 06:00 UTC, after it 05:00 UTC.
        let before = Utc
            .with_ymd_and_hms(2027, 3, 27, 12, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            next_tick(&cron, berlin, before),
            Utc.with_ymd_and_hms(2027, 3, 28, 5, 0, 0).single()
        );
        let earlier = Utc
            .with_ymd_and_hms(2027, 3, 26, 12, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            next_tick(&cron, berlin, earlier),
            Utc.with_ymd_and_hms(2027, 3, 27, 6, 0, 0).single()
        );
    }
}
