//! Delivery scheduling, shared by every bus adapter.
//!
//! ```text
//!  feed(step) ─► consumer ─┬─ no group ──────────► one task per delivery
//!                          └─ group_by = "g" ────► one worker per group value, in order
//!
//!  a delivery:  [permit] ─► run (timeout, panic caught) ─► ok: ack
//!                  ▲                                    └─► error: retryable and attempts
//!                  └──── sleep(backoff with jitter) ◄────────  ≤ max_retries? else dead-letter
//! ```
//!
//! The concurrency permit is held only while the handler runs, not while a retry waits. When
//! consumers stop (shutdown, or a reload of the manifests), they take no new deliveries, let
//! running handlers finish, and release what they hold but have not started, with its
//! attempt count: to the step's next consumer, or pending for the next start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::{DeadLetter, Delivery};
use crate::app::{App, StepRuntime};
use crate::context::Context;
use crate::error::StepError;
use crate::manifest::{QueueConfig, StepKind};
use crate::registry::HandlerFn;
use crate::store::file::now_ms;

/// Starts one consumer per event step. They stop when `stop` is cancelled; `tracker` holds
/// every task so that shutdown can wait for running handlers.
pub fn start(app: &Arc<App>, stop: &CancellationToken, tracker: &TaskTracker) {
    for step in app
        .steps
        .values()
        .filter(|s| s.step.kind() == StepKind::Event)
    {
        let feed = app.queue.feed(step.name());
        let consumer = Consumer {
            app: app.clone(),
            step: step.clone(),
            permits: Arc::new(Semaphore::new(step.queue.concurrency.max(1) as usize)),
            groups: Arc::new(Mutex::new(HashMap::new())),
            stop: stop.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(consumer.run(feed));
    }
}

#[derive(Clone)]
struct Consumer {
    app: Arc<App>,
    step: Arc<StepRuntime>,
    permits: Arc<Semaphore>,
    /// FIFO group value → the queue of its worker.
    groups: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Delivery>>>>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Consumer {
    async fn run(self, mut feed: mpsc::UnboundedReceiver<Delivery>) {
        loop {
            let delivery = tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    // Nothing more is accepted; what was fed and not started goes back.
                    feed.close();
                    while let Ok(d) = feed.try_recv() {
                        self.app.queue.release(d);
                    }
                    return;
                }
                next = feed.recv() => match next {
                    Some(d) => d,
                    None => return,
                },
            };
            match group_key(self.step.queue.group_by.as_deref(), &delivery.payload) {
                None => {
                    let this = self.clone();
                    self.tracker
                        .spawn(async move { this.deliver(delivery).await });
                }
                Some(key) => self.to_group(key, delivery),
            }
        }
    }

    /// Hands a delivery to its group's worker, starting one if the group is idle.
    fn to_group(&self, key: String, delivery: Delivery) {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(worker) = groups.get(&key) {
            match worker.send(delivery) {
                Ok(()) => return,
                Err(mpsc::error::SendError(d)) => return self.start_group(&mut groups, key, d),
            }
        }
        self.start_group(&mut groups, key, delivery);
    }

    fn start_group(
        &self,
        groups: &mut HashMap<String, mpsc::UnboundedSender<Delivery>>,
        key: String,
        first: Delivery,
    ) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _ = tx.send(first);
        groups.insert(key.clone(), tx);
        let this = self.clone();
        self.tracker.spawn(async move {
            loop {
                match rx.try_recv() {
                    Ok(d) => this.deliver(d).await,
                    Err(_) => {
                        // Leave only when nothing was sent meanwhile: senders hold this lock.
                        let mut groups = this.groups.lock().unwrap_or_else(|p| p.into_inner());
                        match rx.try_recv() {
                            Ok(d) => {
                                drop(groups);
                                this.deliver(d).await;
                            }
                            Err(_) => {
                                groups.remove(&key);
                                return;
                            }
                        }
                    }
                }
                if this.stop.is_cancelled() {
                    let mut groups = this.groups.lock().unwrap_or_else(|p| p.into_inner());
                    groups.remove(&key);
                    drop(groups);
                    rx.close();
                    while let Ok(d) = rx.try_recv() {
                        this.app.queue.release(d);
                    }
                    return;
                }
            }
        });
    }

    /// Runs one delivery to its end: acknowledged, dead-lettered, or released when the
    /// consumer stops (to the next consumer of the step, or pending for the next start).
    async fn deliver(&self, mut delivery: Delivery) {
        let step = self.step.name();
        if let Err(violations) = self.step.check_input(&delivery.payload) {
            let reasons: Vec<_> = violations.iter().map(|v| v.message.clone()).collect();
            let error = format!(
                "payload does not match the input schema: {}",
                reasons.join("; ")
            );
            return self.give_up(delivery, error).await;
        }
        loop {
            let permit = tokio::select! {
                biased;
                () = self.stop.cancelled() => return self.app.queue.release(delivery),
                p = self.permits.acquire() => p,
            };
            delivery.attempts += 1;
            if delivery.attempts > 1 {
                self.app.queue.record_attempts(&delivery);
            }
            let outcome = self.run_handler(&delivery).await;
            drop(permit);
            match outcome {
                Ok(()) => {
                    self.app.queue.ack(&delivery);
                    tracing::trace!(step, delivery = %delivery.id, "handled");
                    return;
                }
                Err(e) if e.is_retryable() && delivery.attempts <= self.step.queue.max_retries => {
                    let delay = backoff(&self.step.queue, delivery.attempts, &mut rand::rng());
                    tracing::warn!(
                        step,
                        topic = %delivery.topic,
                        trace_id = %delivery.trace_id,
                        attempt = delivery.attempts,
                        retry_in_ms = delay.as_millis() as u64,
                        error = %e,
                        "handler failed; retrying"
                    );
                    tokio::select! {
                        () = self.stop.cancelled() => return self.app.queue.release(delivery),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                Err(e) => return self.give_up(delivery, e.to_string()).await,
            }
        }
    }

    async fn give_up(&self, delivery: Delivery, error: String) {
        tracing::error!(
            step = self.step.name(),
            topic = %delivery.topic,
            trace_id = %delivery.trace_id,
            attempts = delivery.attempts,
            error = %error,
            "delivery given up; moved to the dead-letter queue"
        );
        let dead = DeadLetter {
            delivery,
            error,
            failed_at: now_ms(),
        };
        if let Err(e) = self.app.queue.dead_letter(dead).await {
            // The delivery stays pending and runs again after a restart.
            tracing::error!(step = self.step.name(), error = %e, "cannot store a dead letter");
        }
    }

    /// One attempt: the handler with its panic caught, within the timeout.
    async fn run_handler(&self, delivery: &Delivery) -> Result<(), StepError> {
        let Some(HandlerFn::Event(handler)) = self.step.registration.map(|r| r.handler) else {
            return Err(StepError::fatal("the step has no event handler"));
        };
        let span = tracing::info_span!(
            "step",
            step = self.step.name(),
            trace_id = %delivery.trace_id,
            topic = %delivery.topic
        );
        let ctx = Context::new(
            self.app.clone(),
            self.step.clone(),
            delivery.trace_id.as_str().into(),
        );
        // The delivery already has its own task: the handler runs inside it, a panic is
        // caught here, and a timeout drops (cancels) the handler's future.
        let run =
            std::panic::AssertUnwindSafe(handler(delivery.payload.clone(), ctx).instrument(span));
        let limit = self.step.queue.timeout.0;
        match tokio::time::timeout(limit, futures::FutureExt::catch_unwind(run)).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(StepError::failed(format!(
                "handler panicked: {}",
                panic_message(panic)
            ))),
            Err(_) => Err(StepError::failed(format!(
                "handler timed out after {}ms",
                limit.as_millis()
            ))),
        }
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-text panic".to_string()
    }
}

/// The FIFO group of a payload: the value at `group_by` (a top-level field name or a JSON
/// pointer). None when the step has no `group_by` or the payload lacks the field.
fn group_key(group_by: Option<&str>, payload: &serde_json::Value) -> Option<String> {
    let field = group_by?;
    let value = if field.starts_with('/') {
        payload.pointer(field)
    } else {
        payload.get(field)
    }?;
    Some(match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The wait before retry number `attempt` (1 after the first failure): the step's backoff
/// doubled each time, capped at `max_backoff`, then drawn uniformly from its upper half so
/// that many failing deliveries do not retry in lockstep.
fn backoff(queue: &QueueConfig, attempt: u32, rng: &mut impl Rng) -> Duration {
    let base = queue.backoff.0.as_millis() as u64;
    let cap = queue.max_backoff.0.as_millis() as u64;
    let exp = base.saturating_mul(1u64 << attempt.saturating_sub(1).min(32));
    let full = exp.min(cap.max(base));
    let half = full / 2;
    Duration::from_millis(half + rng.random_range(0..=full - half))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::DurationSpec;
    use rand::SeedableRng;

    fn queue(backoff_ms: u64, max_ms: u64) -> QueueConfig {
        QueueConfig {
            backoff: DurationSpec(Duration::from_millis(backoff_ms)),
            max_backoff: DurationSpec(Duration::from_millis(max_ms)),
            ..QueueConfig::default()
        }
    }

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let q = queue(100, 1_000);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1_000),
            (40, 1_000),
        ] {
            for _ in 0..50 {
                let d = backoff(&q, attempt, &mut rng).as_millis() as u64;
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d}ms not in [{}, {full}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn group_keys() {
        let payload = serde_json::json!({"kuerzel": "SB", "n": 3, "deep": {"k": "x"}});
        assert_eq!(group_key(Some("kuerzel"), &payload).as_deref(), Some("SB"));
        assert_eq!(group_key(Some("n"), &payload).as_deref(), Some("3"));
        assert_eq!(group_key(Some("/deep/k"), &payload).as_deref(), Some("x"));
        assert_eq!(group_key(Some("missing"), &payload), None);
        assert_eq!(group_key(None, &payload), None);
    }
}
