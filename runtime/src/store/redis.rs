//! The shared store: state and locks in Redis, so that several `stepline` processes see the
//! same state and exclude each other with the same locks. The server uses it when
//! `REDIS_URL` is set (see `server::backend`); the event queue stays embedded.
//!
//! # Layout in Redis
//!
//! - State: one hash per group, `stepline:state:<group>`, field = key, value = the JSON text.
//! - Locks: one string per lock under exactly the key the caller names (the calendar sync's
//!   `calendar_sync:lock:SB` is that key in Redis), holding the owner token, with a TTL.
//!
//! # Lock lifecycle
//!
//! ```text
//!  acquire ── SET key token NX PX ttl ──► "OK": held ─┬─ renew: script ─ GET == token ?
//!     │                                               │    yes: PEXPIRE ttl ─► still held
//!     └─ nil: someone else holds it                   │    no:  0 ─► lost, stop writing
//!                                                     ├─ release: script ─ GET == token ?
//!                                                     │    yes: DEL ─► free;  no: 0
//!                                                     └─ nobody renews: Redis drops the key
//!                                                        after ttl ─► free
//! ```
//!
//! Taking the lock is one command, so the key can never exist without its expiry. Renewal
//! and release compare the token and act in one script, so an owner whose lock expired and
//! was taken by another can neither extend nor delete the new holder's lock. `holder` reads
//! the token and the time left in one script, so the two belong to the same lock.
//!
//! # When Redis is away
//!
//! Every operation is bounded by a timeout (2 s by default): connection attempts, answers,
//! and the operation as a whole. An operation that cannot reach Redis in time fails with
//! [`StoreError::Unavailable`], which API steps answer with 503 and event steps retry. The
//! connection is a cloneable [`ConnectionManager`]: after a lost connection the next
//! operation starts a reconnect (and, when the connection was refused, waits for it within
//! the same bound), so once Redis is back operations succeed again without any restart.
//!
//! At start, [`RedisStore::connect`] tries Redis once. If it cannot be reached, the server
//! starts anyway with a warning and answers 503 until Redis is reachable, so that a Redis
//! that starts later (or restarts) needs no restart of Stepline. If Redis answers but
//! refuses us (a wrong password, an unknown database), that is a configuration error that
//! waiting will not fix, and `connect` fails.
//!
//! Known limits: a command that reached Redis but whose answer timed out reports
//! `Unavailable` even though it took effect; for `acquire` this leaves the lock held until
//! its TTL runs out. If Redis starts rejecting the credentials after the start, the store
//! keeps answering [`StoreError::Invalid`] until Stepline is restarted with the right ones.
//! The URL's password is never logged nor put in an error message. The timeouts run on
//! tokio time, so tests that pause time must not talk to a real Redis through this store.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{
    Client, Cmd, ErrorKind, FromRedisValue, RedisError, RedisResult, Script, ScriptInvocation,
    ServerErrorKind, Value,
};
use async_trait::async_trait;

use super::{LockInfo, LockStore, StateStore, StoreError, StoreResult};

mod test_server;

pub use test_server::TestRedis;

/// How long a connection attempt, an answer, and a whole operation may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Prefix of the hash that holds one state group: `stepline:state:<group>`.
pub const STATE_PREFIX: &str = "stepline:state:";

/// Further connection attempts after a failed one, before the operation gives up (the next
/// operation starts a new round).
const RECONNECT_RETRIES: usize = 2;

/// Extends the lock if the caller's token still holds it. KEYS[1] = lock, ARGV = token, ms.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lock if the caller's token still holds it. KEYS[1] = lock, ARGV[1] = token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The holder's token and the milliseconds left, read together; nil when free.
const HOLDER: &str = r"
local owner = redis.call('GET', KEYS[1])
if not owner then
  return false
end
return {owner, redis.call('PTTL', KEYS[1])}
";

/// State and locks in Redis. Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    scripts: Arc<Scripts>,
    address: Arc<str>,
    timeout: Duration,
}

struct Scripts {
    renew: Script,
    release: Script,
    holder: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection's own Debug shows the URL's parts; the address is all we need.
        f.debug_struct("RedisStore")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStore {
    /// Opens the store at `url` (`redis://[:password@]host[:port][/db]`) with
    /// [`DEFAULT_TIMEOUT`].
    ///
    /// Fails with [`StoreError::Invalid`] if the URL is malformed or Redis refuses us. An
    /// unreachable Redis is not an error here: it is logged as a warning, and operations
    /// fail with [`StoreError::Unavailable`] until it is reachable.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`RedisStore::connect`] with another bound on connection attempts, answers and whole
    /// operations.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> StoreResult<Self> {
        // The client's errors do not repeat the URL, so the password stays out of them.
        let client = Client::open(url)
            .map_err(|e| StoreError::Invalid(format!("REDIS_URL is not usable: {e}")))?;
        let info = client.get_connection_info();
        let address = format!("{}/{}", info.addr(), info.redis_settings().db());

        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(400));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::Invalid(format!("cannot set up the Redis connection: {e}")))?;
        let store = Self {
            connection,
            scripts: Arc::new(Scripts {
                renew: Script::new(RENEW),
                release: Script::new(RELEASE),
                holder: Script::new(HOLDER),
            }),
            address: address.into(),
            timeout,
        };

        match store.ping().await {
            Ok(()) => tracing::debug!(address = %store.address, "redis reachable"),
            Err(StoreError::Unavailable(reason)) => tracing::warn!(
                address = %store.address,
                %reason,
                "redis is unreachable; state and lock operations fail (HTTP 503) until it is back"
            ),
            Err(StoreError::Invalid(reason)) => {
                return Err(StoreError::Invalid(format!(
                    "redis at {} refused us: {reason}",
                    store.address
                )));
            }
        }
        Ok(store)
    }

    /// Where the store is, as `host:port/db`, without credentials: for logs.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> StoreResult<()> {
        let _: Value = self.query(&::redis::cmd("PING")).await?;
        Ok(())
    }

    /// Sends one command.
    ///
    /// A refused connection is tried once more inside the bound: the refusal may be the
    /// outcome of an earlier connection attempt, made while Redis was down, and the second
    /// try waits for the reconnect that the first one started. Nothing was sent when a
    /// connection was refused, so the retry cannot apply a command twice.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> StoreResult<T> {
        let mut connection = self.connection.clone();
        self.bounded(async {
            match cmd.query_async(&mut connection).await {
                Err(e) if e.is_connection_refusal() => cmd.query_async(&mut connection).await,
                other => other,
            }
        })
        .await
    }

    /// Runs one script (loading it first if Redis does not know it yet), retrying a refused
    /// connection as [`Self::query`] does.
    async fn invoke<T: FromRedisValue>(&self, script: &ScriptInvocation<'_>) -> StoreResult<T> {
        let mut connection = self.connection.clone();
        self.bounded(async {
            match script.invoke_async(&mut connection).await {
                Err(e) if e.is_connection_refusal() => script.invoke_async(&mut connection).await,
                other => other,
            }
        })
        .await
    }

    /// Bounds an operation by the timeout and maps its error.
    async fn bounded<T>(&self, operation: impl Future<Output = RedisResult<T>>) -> StoreResult<T> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(result) => result.map_err(store_error),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

/// The hash that holds a state group.
fn state_key(group: &str) -> String {
    format!("{STATE_PREFIX}{group}")
}

fn decode(group: &str, key: &str, text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Invalid(format!(
            "state {group}/{key} in redis is not JSON ({e}); delete it or write it again"
        ))
    })
}

#[async_trait]
impl StateStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        RedisStore::ping(self).await
    }

    async fn get(&self, group: &str, key: &str) -> StoreResult<Option<serde_json::Value>> {
        let mut cmd = ::redis::cmd("HGET");
        cmd.arg(state_key(group)).arg(key);
        let text: Option<String> = self.query(&cmd).await?;
        text.map(|t| decode(group, key, &t)).transpose()
    }

    async fn set(&self, group: &str, key: &str, value: serde_json::Value) -> StoreResult<()> {
        let text = serde_json::to_string(&value)
            .map_err(|e| StoreError::Invalid(format!("cannot encode state {group}/{key}: {e}")))?;
        let mut cmd = ::redis::cmd("HSET");
        cmd.arg(state_key(group)).arg(key).arg(text);
        let _: i64 = self.query(&cmd).await?;
        Ok(())
    }

    async fn delete(&self, group: &str, key: &str) -> StoreResult<bool> {
        let mut cmd = ::redis::cmd("HDEL");
        cmd.arg(state_key(group)).arg(key);
        let removed: i64 = self.query(&cmd).await?;
        Ok(removed > 0)
    }

    async fn get_group(&self, group: &str) -> StoreResult<Vec<(String, serde_json::Value)>> {
        let mut cmd = ::redis::cmd("HGETALL");
        cmd.arg(state_key(group));
        // A BTreeMap gives the order by key that the contract asks for.
        let fields: BTreeMap<String, String> = self.query(&cmd).await?;
        fields
            .into_iter()
            .map(|(key, text)| {
                let value = decode(group, &key, &text)?;
                Ok((key, value))
            })
            .collect()
    }

    async fn clear(&self, group: &str) -> StoreResult<()> {
        let mut cmd = ::redis::cmd("DEL");
        cmd.arg(state_key(group));
        let _: i64 = self.query(&cmd).await?;
        Ok(())
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis rejects 0).
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i64::MAX as u64 / 2)
}

#[async_trait]
impl LockStore for RedisStore {
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(key).arg(owner).arg("NX").arg("PX").arg(ttl_ms(ttl));
        let answer: Value = self.query(&cmd).await?;
        match answer {
            Value::Okay => Ok(true),
            Value::SimpleString(s) if s == "OK" => Ok(true),
            Value::Nil => Ok(false),
            other => Err(StoreError::Invalid(format!(
                "unexpected answer to SET NX for lock {key}: {other:?}"
            ))),
        }
    }

    async fn renew(&self, key: &str, owner: &str, ttl: Duration) -> StoreResult<bool> {
        let mut invocation = self.scripts.renew.key(key);
        invocation.arg(owner).arg(ttl_ms(ttl));
        let renewed: i64 = self.invoke(&invocation).await?;
        Ok(renewed == 1)
    }

    async fn release(&self, key: &str, owner: &str) -> StoreResult<bool> {
        let mut invocation = self.scripts.release.key(key);
        invocation.arg(owner);
        let deleted: i64 = self.invoke(&invocation).await?;
        Ok(deleted == 1)
    }

    async fn holder(&self, key: &str) -> StoreResult<Option<LockInfo>> {
        let invocation = self.scripts.holder.key(key);
        let held: Option<(String, i64)> = self.invoke(&invocation).await?;
        let Some((owner, left_ms)) = held else {
            return Ok(None);
        };

        // PTTL is -1 for a key without expiry: nothing Stepline writes, and a lock that
        // would never free itself.
        let left_ms = u64::try_from(left_ms).map_err(|_| {
            StoreError::Invalid(format!(
                "lock {key} in redis has no expiry, so Stepline did not set it; delete it"
            ))
        })?;
        Ok(Some(LockInfo {
            owner,
            ttl: Duration::from_millis(left_ms),
        }))
    }
}

/// Unavailable for what waiting can fix (no connection, timeouts, a Redis still loading or
/// failing over), Invalid for the rest.
fn store_error(e: RedisError) -> StoreError {
    let transient = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        );
    if transient {
        StoreError::Unavailable(format!("redis is unreachable: {e}"))
    } else {
        StoreError::Invalid(format!("redis: {e}"))
    }
}

#[cfg(test)]
mod tests;
