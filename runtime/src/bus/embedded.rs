//! The embedded bus adapter: deliveries live in this process's [`FileStore`], and feeds are
//! in-memory channels. A restart replays what the log holds as pending.
//!
//! An enqueue hands the deliveries to their subscribers as soon as their log line is queued,
//! and returns to the emitter only once the line is on disk. So a handler never waits for
//! the disk, and an emit that reports success is durable. If the sync then fails, the
//! emitter gets the error although a handler may already have run: at-least-once allows it.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{DeadLetter, Delivery, Queue};
use crate::store::StoreResult;
use crate::store::file::FileStore;

/// The embedded [`Queue`].
pub struct EmbeddedQueue {
    store: FileStore,
    feeds: Mutex<HashMap<String, mpsc::UnboundedSender<Delivery>>>,
}

impl EmbeddedQueue {
    pub fn new(store: FileStore) -> Self {
        Self {
            store,
            feeds: Mutex::new(HashMap::new()),
        }
    }

    fn push(&self, deliveries: impl IntoIterator<Item = Delivery>) {
        let feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        for delivery in deliveries {
            // A step without a feed is not started (yet); its deliveries stay pending in the
            // log and are fed when it starts.
            if let Some(feed) = feeds.get(&delivery.step) {
                let _ = feed.send(delivery);
            }
        }
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn enqueue(&self, deliveries: Vec<Delivery>) -> StoreResult<()> {
        // Subscribers start while the log is synced: a handler never waits for the disk. Its
        // ack is logged after the enqueue line, so a crash can only make it run again.
        let durable = self.store.stage_enqueue(deliveries.clone())?;
        self.push(deliveries);
        durable.wait().await
    }

    fn feed(&self, step: &str) -> mpsc::UnboundedReceiver<Delivery> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        // Pending deliveries are read under the feeds lock, so that one enqueued meanwhile
        // is pushed after them, not lost and not doubled.
        for delivery in self.store.pending().into_iter().filter(|d| d.step == step) {
            let _ = tx.send(delivery);
        }
        feeds.insert(step.to_string(), tx);
        rx
    }

    fn ack(&self, delivery: &Delivery) {
        self.store.ack(&delivery.id);
    }

    fn record_attempts(&self, delivery: &Delivery) {
        self.store.record_attempts(&delivery.id, delivery.attempts);
    }

    async fn dead_letter(&self, dead: DeadLetter) -> StoreResult<()> {
        self.store.dead_letter(dead).await
    }

    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetter>> {
        Ok(self.store.dead_letters())
    }

    async fn redrive(&self, delivery_id: &str) -> StoreResult<Option<Delivery>> {
        let fresh = uuid::Uuid::now_v7().to_string();
        let delivery = self.store.redrive(delivery_id, fresh).await?;
        if let Some(d) = &delivery {
            self.push([d.clone()]);
        }
        Ok(delivery)
    }

    async fn discard(&self, delivery_id: &str) -> StoreResult<bool> {
        self.store.discard_dead(delivery_id).await
    }
}
