//! Event routing: every subscribing step gets its own [`Delivery`] of an event, delivered at
//! least once.
//!
//! ```text
//!  ctx.emit(topic) ─► Bus::publish ─► Queue::enqueue (durable, one per subscriber)
//!                                          │
//!                     Queue::feed(step) ◄──┘   (pending ones first, after a restart)
//!                          │
//!        dispatch: concurrency permit ─► schema check ─► handler (timeout, panic caught)
//!                          │ ok                       │ error
//!                     Queue::ack           retry with backoff + jitter, at most
//!                                          `max_retries` times ─► Queue::dead_letter
//! ```
//!
//! The [`Queue`] trait is what an adapter provides: [`embedded`] keeps deliveries in the
//! file store of this process. The scheduling (retries, FIFO groups, concurrency, timeouts)
//! lives once, in [`dispatch`].

pub mod dispatch;
pub mod embedded;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::store::StoreResult;

/// An event waiting for one subscribing step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Unique per delivery (one event fanned out to two steps makes two deliveries).
    pub id: String,
    /// The event's id, shared by its deliveries.
    pub event_id: String,
    pub step: String,
    pub topic: String,
    pub payload: Value,
    pub trace_id: String,
    /// Attempts already made.
    #[serde(default)]
    pub attempts: u32,
    /// Unix milliseconds.
    pub emitted_at: u64,
}

/// A delivery that was given up, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub delivery: Delivery,
    /// The last error.
    pub error: String,
    /// Unix milliseconds.
    pub failed_at: u64,
}

/// Durable storage of deliveries, provided by a bus adapter.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Records deliveries; returns once they survive a crash.
    async fn enqueue(&self, deliveries: Vec<Delivery>) -> StoreResult<()>;
    /// The deliveries for `step`: pending ones from before a restart first, then new ones.
    /// Called once per step at start.
    fn feed(&self, step: &str) -> mpsc::UnboundedReceiver<Delivery>;
    /// Marks a delivery handled.
    fn ack(&self, delivery: &Delivery);
    /// Gives back a delivery a consumer took but will not run (it is stopping): it goes to
    /// the step's current feed, or stays pending, keeping its attempt count.
    fn release(&self, delivery: Delivery);
    /// Notes the attempts made so far, so that a restart keeps counting.
    fn record_attempts(&self, delivery: &Delivery);
    /// Moves a delivery to the dead-letter queue.
    async fn dead_letter(&self, dead: DeadLetter) -> StoreResult<()>;
    /// The dead-letter queue, oldest failure first.
    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetter>>;
    /// Takes a dead letter out and delivers it again with a fresh attempt count.
    /// None if there is no such dead letter.
    async fn redrive(&self, delivery_id: &str) -> StoreResult<Option<Delivery>>;
    /// Drops a dead letter for good; returns whether it was there.
    async fn discard(&self, delivery_id: &str) -> StoreResult<bool>;
}
