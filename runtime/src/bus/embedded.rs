//! The embedded bus adapter: deliveries live in this process's [`FileStore`], and feeds are
//! in-memory channels. A restart replays what the log holds as pending.
//!
//! An enqueue hands the deliveries to their subscribers as soon as their log line is queued,
//! and returns to the emitter only once the line is on disk. So a handler never waits for
//! the disk, and an emit that reports success is durable. If the sync then fails, the
//! emitter gets the error although a handler may already have run: at-least-once allows it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{DeadLetter, Delivery, Queue};
use crate::store::StoreResult;
use crate::store::file::FileStore;

/// The embedded [`Queue`].
///
/// A delivery handed to a feed is *out* until it is acknowledged, dead-lettered or
/// released. A new feed for the same step (after a reload) skips the ones that are out, so
/// a handler still running on the previous manifest set is never started twice; a
/// delivery its old consumer gives back is released to the new feed with its attempts.
pub struct EmbeddedQueue {
    store: FileStore,
    feeds: Mutex<Feeds>,
}

#[derive(Default)]
struct Feeds {
    senders: HashMap<String, mpsc::UnboundedSender<Delivery>>,
    out: HashSet<String>,
}

impl Feeds {
    /// Sends to the step's feed unless the delivery is out already; marks it out if sent.
    /// A step without a live feed keeps its deliveries pending in the log.
    fn send(&mut self, delivery: Delivery) {
        if self.out.contains(&delivery.id) {
            return;
        }
        let Some(feed) = self.senders.get(&delivery.step) else {
            return;
        };
        let id = delivery.id.clone();
        if feed.send(delivery).is_ok() {
            self.out.insert(id);
        }
    }
}

impl EmbeddedQueue {
    pub fn new(store: FileStore) -> Self {
        Self {
            store,
            feeds: Mutex::new(Feeds::default()),
        }
    }

    fn feeds(&self) -> MutexGuard<'_, Feeds> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, deliveries: impl IntoIterator<Item = Delivery>) {
        let mut feeds = self.feeds();
        for delivery in deliveries {
            feeds.send(delivery);
        }
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn enqueue(&self, deliveries: Vec<Delivery>) -> StoreResult<()> {
        // Subscribers start while the log is synced: a handler never waits for the disk. Its
        // ack is logged after the enqueue line, so a crash can only make it run again. The
        // feeds lock is held from staging to sending (lock order: feeds, then the store), so
        // a feed created meanwhile cannot send the same delivery a second time.
        let durable = {
            let mut feeds = self.feeds();
            let durable = self.store.stage_enqueue(deliveries.clone())?;
            for delivery in deliveries {
                feeds.send(delivery);
            }
            durable
        };
        durable.wait().await
    }

    fn feed(&self, step: &str) -> mpsc::UnboundedReceiver<Delivery> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut feeds = self.feeds();
        feeds.senders.insert(step.to_string(), tx);
        // Pending deliveries are read under the feeds lock, so that one enqueued meanwhile
        // is sent once, after them.
        for delivery in self.store.pending().into_iter().filter(|d| d.step == step) {
            feeds.send(delivery);
        }
        rx
    }

    fn release(&self, delivery: Delivery) {
        self.store.record_attempts(&delivery.id, delivery.attempts);
        let mut feeds = self.feeds();
        feeds.out.remove(&delivery.id);
        feeds.send(delivery);
    }

    fn ack(&self, delivery: &Delivery) {
        self.store.ack(&delivery.id);
        self.feeds().out.remove(&delivery.id);
    }

    fn record_attempts(&self, delivery: &Delivery) {
        self.store.record_attempts(&delivery.id, delivery.attempts);
    }

    async fn dead_letter(&self, dead: DeadLetter) -> StoreResult<()> {
        let id = dead.delivery.id.clone();
        self.store.dead_letter(dead).await?;
        self.feeds().out.remove(&id);
        Ok(())
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
