//! The embedded store: state, locks, pending deliveries and dead letters of one process, kept
//! in memory and in an append-only log under the data directory.
//!
//! ```text
//!  caller ── mutate memory + queue a record (one mutex) ──► writer thread
//!                                                          │ drains every queued record,
//!                                                          │ one write + one fdatasync,
//!  caller ◄──────────── commit notice (for awaited writes) ─┘ then wakes the waiters
//! ```
//!
//! Each change is one JSON line. Writes that must survive a crash (state, locks, enqueued
//! events, dead letters) wait for their batch to reach the disk; bookkeeping that may be lost
//! without harm (an acknowledgement: the event is then delivered again) does not wait.
//! Batching is what makes the log fast: many callers share one `fdatasync`.
//!
//! At open the log is replayed, a torn last line (a crash mid-write) is dropped, and the log
//! is rewritten as a snapshot of what is live. The writer compacts the same way when the log
//! has grown to several times its live size.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;

use super::{LockInfo, LockStore, StateStore, StoreError, StoreResult};
use crate::bus::{DeadLetter, Delivery};

/// The log file's name under the data directory.
pub const LOG_FILE: &str = "store.log";

/// Compact when the log is this many bytes and several times its live size.
const COMPACT_MIN_BYTES: u64 = 32 * 1024 * 1024;

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Set { g: String, k: String, v: Value },
    Del { g: String, k: String },
    Clear { g: String },
    Lock { k: String, owner: String, exp: u64 },
    Unlock { k: String },
    Enqueue { d: Delivery },
    Attempt { id: String, n: u32 },
    Ack { id: String },
    Dead { dl: DeadLetter },
    Undead { id: String },
}

#[derive(Default)]
struct Memory {
    state: HashMap<String, BTreeMap<String, Value>>,
    locks: HashMap<String, (String, u64)>,
    /// Pending deliveries by enqueue order.
    pending: BTreeMap<u64, Delivery>,
    pending_seq: HashMap<String, u64>,
    next_seq: u64,
    dead: BTreeMap<String, DeadLetter>,
}

impl Memory {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Set { g, k, v } => {
                self.state.entry(g).or_default().insert(k, v);
            }
            Record::Del { g, k } => {
                if let Some(group) = self.state.get_mut(&g) {
                    group.remove(&k);
                    if group.is_empty() {
                        self.state.remove(&g);
                    }
                }
            }
            Record::Clear { g } => {
                self.state.remove(&g);
            }
            Record::Lock { k, owner, exp } => {
                // Expired locks are dropped as new ones come, so that many one-off keys
                // (a cron claim per tick) cannot pile up in memory.
                if self.locks.len() >= 1024 {
                    let now = now_ms();
                    self.locks.retain(|_, (_, expires)| *expires > now);
                }
                self.locks.insert(k, (owner, exp));
            }
            Record::Unlock { k } => {
                self.locks.remove(&k);
            }
            Record::Enqueue { d } => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.pending_seq.insert(d.id.clone(), seq);
                self.pending.insert(seq, d);
            }
            Record::Attempt { id, n } => {
                if let Some(d) = self
                    .pending_seq
                    .get(&id)
                    .and_then(|s| self.pending.get_mut(s))
                {
                    d.attempts = n;
                }
            }
            Record::Ack { id } => {
                if let Some(seq) = self.pending_seq.remove(&id) {
                    self.pending.remove(&seq);
                }
            }
            Record::Dead { dl } => {
                if let Some(seq) = self.pending_seq.remove(&dl.delivery.id) {
                    self.pending.remove(&seq);
                }
                self.dead.insert(dl.delivery.id.clone(), dl);
            }
            Record::Undead { id } => {
                self.dead.remove(&id);
            }
        }
    }

    /// The records that rebuild this memory: what a compacted log holds.
    fn snapshot(&self) -> Vec<Record> {
        let now = now_ms();
        let mut out = Vec::new();
        for (g, group) in &self.state {
            for (k, v) in group {
                out.push(Record::Set {
                    g: g.clone(),
                    k: k.clone(),
                    v: v.clone(),
                });
            }
        }
        for (k, (owner, exp)) in &self.locks {
            if *exp > now {
                out.push(Record::Lock {
                    k: k.clone(),
                    owner: owner.clone(),
                    exp: *exp,
                });
            }
        }
        for d in self.pending.values() {
            out.push(Record::Enqueue { d: d.clone() });
        }
        for dl in self.dead.values() {
            out.push(Record::Dead { dl: dl.clone() });
        }
        out
    }
}

struct WriteRequest {
    line: Vec<u8>,
    done: Option<oneshot::Sender<StoreResult<()>>>,
}

struct Shared {
    memory: Mutex<Memory>,
    writer: Mutex<std_mpsc::Sender<WriteRequest>>,
}

/// The embedded store. Cheap to clone; all clones share one log.
#[derive(Clone)]
pub struct FileStore {
    shared: Arc<Shared>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish()
    }
}

impl FileStore {
    /// Opens (or creates) the store in `dir`, replays and compacts its log, and starts the
    /// writer thread. With `fsync` false, writes reach the OS but not necessarily the disk:
    /// they survive a killed process, not a power cut.
    pub fn open(dir: &Path, fsync: bool) -> StoreResult<Self> {
        fs::create_dir_all(dir).map_err(|e| io_error("create the data directory", dir, e))?;
        let path = dir.join(LOG_FILE);
        let memory = replay(&path)?;
        let file = write_snapshot(&path, &memory.snapshot())?;
        let live_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);

        let (tx, rx) = std_mpsc::channel();
        let shared = Arc::new(Shared {
            memory: Mutex::new(memory),
            writer: Mutex::new(tx),
        });
        let writer = Writer {
            shared: Arc::downgrade(&shared),
            path: path.clone(),
            file,
            fsync,
            bytes: live_bytes,
            live_bytes,
        };
        std::thread::Builder::new()
            .name("stepline-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store writer: {e}")))?;
        Ok(Self {
            shared,
            path: Arc::new(path),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // A panic while holding this lock leaves memory consistent (apply cannot panic
        // half-way), so a poisoned lock is still usable.
        self.shared.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies records to memory and queues them for the log, under one lock so that the
    /// log's order is memory's order. Returns a receiver when `durable`.
    fn commit(
        &self,
        memory: &mut Memory,
        records: Vec<Record>,
        durable: bool,
    ) -> StoreResult<Option<oneshot::Receiver<StoreResult<()>>>> {
        let mut line = Vec::with_capacity(128 * records.len());
        for record in &records {
            serde_json::to_writer(&mut line, record)
                .map_err(|e| StoreError::Invalid(format!("cannot encode a record: {e}")))?;
            line.push(b'\n');
        }
        let (done, rx) = if durable {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let writer = self.shared.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer
            .send(WriteRequest { line, done })
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        drop(writer);
        for record in records {
            memory.apply(record);
        }
        Ok(rx)
    }

    async fn commit_durable(&self, records: Vec<Record>) -> StoreResult<()> {
        let rx = {
            let mut memory = self.memory();
            self.commit(&mut memory, records, true)?
        };
        wait(rx).await
    }

    /// Commits `records` (built with the current time) only if `check` holds, both under
    /// the memory lock so nothing changes in between; returns whether it committed.
    async fn commit_if(
        &self,
        check: impl FnOnce(&Memory, u64) -> bool,
        records: impl FnOnce(u64) -> Vec<Record>,
    ) -> StoreResult<bool> {
        let rx = {
            let mut memory = self.memory();
            let now = now_ms();
            if !check(&memory, now) {
                return Ok(false);
            }
            self.commit(&mut memory, records(now), true)?
        };
        wait(rx).await?;
        Ok(true)
    }

    fn commit_lazy(&self, records: Vec<Record>) {
        let mut memory = self.memory();
        if let Err(e) = self.commit(&mut memory, records, false) {
            tracing::warn!(error = %e, "store: a bookkeeping record was not logged");
        }
    }

    // ---- the queue side, used by the embedded bus ----

    /// Records deliveries; returns once they are in the log.
    pub async fn enqueue(&self, deliveries: Vec<Delivery>) -> StoreResult<()> {
        self.stage_enqueue(deliveries)?.wait().await
    }

    /// Records deliveries in memory and queues their log lines, without waiting for the
    /// disk: the caller may hand them out at once and await [`Durable::wait`] meanwhile.
    pub fn stage_enqueue(&self, deliveries: Vec<Delivery>) -> StoreResult<Durable> {
        let records = deliveries
            .into_iter()
            .map(|d| Record::Enqueue { d })
            .collect();
        let mut memory = self.memory();
        Ok(Durable(self.commit(&mut memory, records, true)?))
    }

    /// Marks a delivery handled. Not awaited: if the line is lost in a crash, the delivery
    /// runs again, which at-least-once delivery allows.
    pub fn ack(&self, delivery_id: &str) {
        self.commit_lazy(vec![Record::Ack {
            id: delivery_id.to_string(),
        }]);
    }

    /// Notes how many attempts a delivery has had, so a restart keeps counting.
    pub fn record_attempts(&self, delivery_id: &str, attempts: u32) {
        self.commit_lazy(vec![Record::Attempt {
            id: delivery_id.to_string(),
            n: attempts,
        }]);
    }

    /// Moves a delivery to the dead-letter queue.
    pub async fn dead_letter(&self, dead: DeadLetter) -> StoreResult<()> {
        self.commit_durable(vec![Record::Dead { dl: dead }]).await
    }

    /// Deliveries not yet handled, in the order they were enqueued.
    pub fn pending(&self) -> Vec<Delivery> {
        self.memory().pending.values().cloned().collect()
    }

    /// The dead-letter queue, oldest failure first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        let mut list: Vec<_> = self.memory().dead.values().cloned().collect();
        list.sort_by(|a, b| (a.failed_at, &a.delivery.id).cmp(&(b.failed_at, &b.delivery.id)));
        list
    }

    /// Takes a dead letter out of the queue and enqueues its delivery again with a fresh
    /// attempt count, in one durable step. Returns the new delivery, or None if the id is
    /// not in the queue.
    pub async fn redrive(&self, id: &str, new_id: String) -> StoreResult<Option<Delivery>> {
        let (rx, delivery) = {
            let mut memory = self.memory();
            let Some(dead) = memory.dead.get(id).cloned() else {
                return Ok(None);
            };
            let mut delivery = dead.delivery;
            delivery.id = new_id;
            delivery.attempts = 0;
            let records = vec![
                Record::Undead { id: id.to_string() },
                Record::Enqueue {
                    d: delivery.clone(),
                },
            ];
            (self.commit(&mut memory, records, true)?, delivery)
        };
        wait(rx).await?;
        Ok(Some(delivery))
    }

    /// Removes a dead letter for good. Returns whether it was there.
    pub async fn discard_dead(&self, id: &str) -> StoreResult<bool> {
        let rx = {
            let mut memory = self.memory();
            if !memory.dead.contains_key(id) {
                return Ok(false);
            }
            let records = vec![Record::Undead { id: id.to_string() }];
            self.commit(&mut memory, records, true)?
        };
        wait(rx).await?;
        Ok(true)
    }
}

/// Records queued for the log; [`Durable::wait`] returns once they are on disk.
pub struct Durable(Option<oneshot::Receiver<StoreResult<()>>>);

impl Durable {
    pub async fn wait(self) -> StoreResult<()> {
        wait(self.0).await
    }
}

async fn wait(rx: Option<oneshot::Receiver<StoreResult<()>>>) -> StoreResult<()> {
    match rx {
        Some(rx) => rx
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?,
        None => Ok(()),
    }
}

#[async_trait]
impl StateStore for FileStore {
    async fn get(&self, group: &str, key: &str) -> StoreResult<Option<Value>> {
        Ok(self
            .memory()
            .state
            .get(group)
            .and_then(|g| g.get(key))
            .cloned())
    }

    async fn set(&self, group: &str, key: &str, value: Value) -> StoreResult<()> {
        self.commit_durable(vec![Record::Set {
            g: group.to_string(),
            k: key.to_string(),
            v: value,
        }])
        .await
    }

    async fn delete(&self, group: &str, key: &str) -> StoreResult<bool> {
        self.commit_if(
            |memory, _| memory.state.get(group).is_some_and(|g| g.contains_key(key)),
            |_| {
                vec![Record::Del {
                    g: group.to_string(),
                    k: key.to_string(),
                }]
            },
        )
        .await
    }

    async fn get_group(&self, group: &str) -> StoreResult<Vec<(String, Value)>> {
        Ok(self
            .memory()
            .state
            .get(group)
            .map(|g| g.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    async fn clear(&self, group: &str) -> StoreResult<()> {
        self.commit_durable(vec![Record::Clear {
            g: group.to_string(),
        }])
        .await
    }
}

#[async_trait]
impl LockStore for FileStore {
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool> {
        self.commit_if(
            |memory, now| memory.locks.get(key).is_none_or(|(_, exp)| *exp <= now),
            |now| vec![lock_record(key, owner, now + ttl_ms(ttl))],
        )
        .await
    }

    async fn renew(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool> {
        self.commit_if(
            |memory, now| held_by(memory, key, owner, now),
            |now| vec![lock_record(key, owner, now + ttl_ms(ttl))],
        )
        .await
    }

    async fn release(&self, key: &str, owner: &str) -> StoreResult<bool> {
        self.commit_if(
            |memory, now| held_by(memory, key, owner, now),
            |_| vec![Record::Unlock { k: key.to_string() }],
        )
        .await
    }

    async fn holder(&self, key: &str) -> StoreResult<Option<LockInfo>> {
        let now = now_ms();
        Ok(self.memory().locks.get(key).and_then(|(owner, exp)| {
            (*exp > now).then(|| LockInfo {
                owner: owner.clone(),
                ttl: Duration::from_millis(exp - now),
            })
        }))
    }
}

/// The thread that owns the log file.
struct Writer {
    shared: std::sync::Weak<Shared>,
    path: PathBuf,
    file: File,
    fsync: bool,
    bytes: u64,
    live_bytes: u64,
}

impl Writer {
    fn run(mut self, rx: std_mpsc::Receiver<WriteRequest>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            let result = self.write_batch(&batch);
            for request in batch {
                if let Some(done) = request.done {
                    let _ = done.send(result.clone());
                }
            }
            if result.is_ok() && self.bytes > COMPACT_MIN_BYTES.max(4 * self.live_bytes) {
                self.compact(&rx);
            }
        }
    }

    fn write_batch(&mut self, batch: &[WriteRequest]) -> StoreResult<()> {
        let total: usize = batch.iter().map(|r| r.line.len()).sum();
        let mut buffer = Vec::with_capacity(total);
        for request in batch {
            buffer.extend_from_slice(&request.line);
        }
        let written = self.file.write_all(&buffer).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Cut off whatever part of the batch reached the file, so that the next batch
            // does not follow half a line and the next start can replay the log. (The
            // records are in memory already; their callers get this error.)
            let _ = self.file.set_len(self.bytes);
            return Err(io_error("write the log", &self.path, e));
        }
        self.bytes += total as u64;
        Ok(())
    }

    /// Rewrites the log as a snapshot. Holding the memory lock stops new records from being
    /// applied; those already queued are in memory, so the snapshot covers them and their
    /// waiters are woken once it is on disk.
    fn compact(&mut self, rx: &std_mpsc::Receiver<WriteRequest>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut memory = shared.memory.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        memory.locks.retain(|_, (_, expires)| *expires > now);
        let queued: Vec<WriteRequest> = rx.try_iter().collect();
        let result = write_snapshot(&self.path, &memory.snapshot());
        drop(memory);
        let outcome = match result {
            Ok(file) => {
                self.live_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
                self.bytes = self.live_bytes;
                self.file = file;
                Ok(())
            }
            Err(e) => {
                // The old log is intact: append what was queued to it instead.
                tracing::warn!(error = %e, "store: compaction failed, keeping the old log");
                self.write_batch(&queued)
            }
        };
        for request in queued {
            if let Some(done) = request.done {
                let _ = done.send(outcome.clone());
            }
        }
    }
}

/// Rebuilds memory from the log. A last line without its newline is a write cut short by a
/// crash and is dropped; any other unreadable line is corruption and stops the start.
fn replay(path: &Path) -> StoreResult<Memory> {
    let mut memory = Memory::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(memory),
        Err(e) => return Err(io_error("open the log", path, e)),
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error("read the log", path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        let complete = line.ends_with(b"\n");
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => memory.apply(record),
            Err(_) if !complete => {
                tracing::warn!(line = number, "store: dropping a torn last line of the log");
                break;
            }
            Err(e) => {
                return Err(StoreError::Invalid(format!(
                    "{}: line {number} is corrupt ({e}); move the file away to start empty",
                    path.display()
                )));
            }
        }
    }
    Ok(memory)
}

/// Writes `records` to a new file beside `path`, syncs it and renames it over `path`.
/// Returns the new file, open for appending.
fn write_snapshot(path: &Path, records: &[Record]) -> StoreResult<File> {
    let tmp = path.with_extension("log.tmp");
    let mut buffer = Vec::new();
    for record in records {
        serde_json::to_writer(&mut buffer, record)
            .map_err(|e| StoreError::Invalid(format!("cannot encode a record: {e}")))?;
        buffer.push(b'\n');
    }
    let mut file = File::create(&tmp).map_err(|e| io_error("create", &tmp, e))?;
    file.write_all(&buffer)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error("replace", path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io_error("open", path, e))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("cannot {what} {}: {e}", path.display()))
}

fn lock_record(key: &str, owner: &str, expires: u64) -> Record {
    Record::Lock {
        k: key.to_string(),
        owner: owner.to_string(),
        exp: expires,
    }
}

/// Whether `owner` holds `key` at `now`.
fn held_by(memory: &Memory, key: &str, owner: &str, now: u64) -> bool {
    memory
        .locks
        .get(key)
        .is_some_and(|(o, exp)| o == owner && *exp > now)
}

/// A TTL in milliseconds, at least 1 (a lock that expires as it is taken is no lock), as
/// the Redis adapter does.
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, u64::MAX / 2)
}

/// Wall-clock Unix milliseconds: lock expiry must hold across restarts.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
