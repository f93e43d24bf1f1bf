//! State and locks, behind two traits, one module per adapter.
//!
//! - [`file`](mod@file): the embedded adapter. Everything lives in memory and in an append-only log
//!   under the data directory, replayed at start.
//! - [`redis`]: the shared adapter, when `REDIS_URL` is set: state and locks in Redis.
//!
//! Both honour the same contract, and the same tests run against both.

pub mod contract;
pub mod file;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

/// Why a store operation failed, and so what the caller does next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backing service cannot be reached; try again later (HTTP 503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data or the request is wrong; retrying will not help.
    #[error("store error: {0}")]
    Invalid(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Key-value state, grouped: a group is a namespace a step owns (`calendar_sync:runs`).
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    async fn get(&self, group: &str, key: &str) -> StoreResult<Option<Value>>;
    async fn set(&self, group: &str, key: &str, value: Value) -> StoreResult<()>;
    /// Removes the key; returns whether it was there.
    async fn delete(&self, group: &str, key: &str) -> StoreResult<bool>;
    /// Every key of the group with its value, sorted by key.
    async fn get_group(&self, group: &str) -> StoreResult<Vec<(String, Value)>>;
    /// Removes every key of the group.
    async fn clear(&self, group: &str) -> StoreResult<()>;
    /// Whether the store answers now (for `/_stepline/health`); in-process stores always do.
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// What is known of a held lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub owner: String,
    /// Time left before it expires by itself.
    pub ttl: Duration,
}

/// Mutual exclusion with expiry and an owner token.
///
/// ```text
///  acquire(key, token, ttl) ── true ──► work ──► renew(key, token, ttl) ... ──► release(key, token)
///        │                                             │ false: lost it, stop writing
///        └─ false: someone else holds it
/// ```
#[async_trait]
pub trait LockStore: Send + Sync + 'static {
    /// Takes the lock if nobody holds it (or the holder's TTL ran out).
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool>;
    /// Extends the lock if `owner` still holds it; false if it was lost.
    async fn renew(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool>;
    /// Frees the lock only if `owner` holds it; returns whether it did.
    async fn release(&self, key: &str, owner: &str) -> StoreResult<bool>;
    /// Who holds the lock now, if anyone.
    async fn holder(&self, key: &str) -> StoreResult<Option<LockInfo>>;
}
