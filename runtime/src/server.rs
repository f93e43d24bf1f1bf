//! Starting and stopping a server: what `stepline serve` does, callable from tests.
//!
//! ```text
//!  start: manifests ─► backend (embedded or Redis) ─► App ─► start hook
//!         ─► bus consumers + cron schedulers (crate::live) ─► listen ─► serve
//!         ─► with `watch`: reload when the manifests change
//!  shutdown: stop accepting ─► stop consumers and schedulers ─► wait for running handlers
//!            (at most the grace period) ─► pending deliveries stay in the store
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Backend, Settings};
use crate::bus::embedded::EmbeddedQueue;
use crate::http::listener::TimeoutListener;
use crate::live::Live;
use crate::manifest::ManifestSet;
use crate::registry::Registry;
use crate::store::file::FileStore;
use crate::store::redis::RedisStore;

/// Called once the application is built, before the server listens: the application logs
/// its configuration and may refuse to start.
pub type StartHook = fn(&Arc<App>) -> anyhow::Result<()>;

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub manifests: PathBuf,
    /// Port 0 picks a free one; see [`RunningServer::address`].
    pub address: SocketAddr,
    pub settings: Settings,
    /// Sync the embedded store's log to disk after each batch.
    pub fsync: bool,
    /// State and locks in Redis instead of the embedded store.
    pub redis_url: Option<String>,
}

/// A server that is listening.
pub struct RunningServer {
    live: Arc<Live>,
    address: SocketAddr,
    stop: CancellationToken,
    serving: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The application serving now (a reload replaces it).
    pub fn app(&self) -> Arc<App> {
        self.live.app()
    }

    /// The live application, to reload it by hand.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// Stops accepting, lets running handlers finish within the grace period, and returns.
    /// Deliveries not yet handled stay pending for the next start.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        // Requests in flight and event handlers drain together, within the same grace.
        let grace = self.live.app().settings.shutdown_grace;
        let mut serving = self.serving;
        let (served, drained) =
            tokio::join!(tokio::time::timeout(grace, &mut serving), self.live.stop());
        if drained && served.is_ok() {
            tracing::info!("drained");
        } else {
            tracing::warn!("shutdown grace ran out; unfinished deliveries stay pending");
        }
        match served {
            Ok(result) => result
                .context("the server task failed")?
                .context("the server failed"),
            Err(_) => {
                serving.abort();
                Ok(())
            }
        }
    }
}

/// Loads the manifests, opens the stores, starts consumers and schedulers, and listens.
pub async fn start(options: ServerOptions, on_start: StartHook) -> anyhow::Result<RunningServer> {
    let registry = Registry::collect();
    let set = ManifestSet::load(&options.manifests, &registry)?;
    for warning in &set.warnings {
        tracing::warn!("{warning}");
    }
    let backend = backend(&options).await?;
    let app = App::build(set, registry, backend.clone(), options.settings.clone())?;
    on_start(&app)?;
    let live = Live::start(app.clone(), options.manifests.clone(), backend);

    let listener = tokio::net::TcpListener::bind(options.address)
        .await
        .with_context(|| format!("cannot listen on {}", options.address))?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() && app.settings.api_token.is_none() {
        tracing::warn!(
            %address,
            "listening beyond loopback without STEPLINE_API_TOKEN: anyone who reaches this \
             address can call every step"
        );
    }
    let auth = if app.settings.api_token.is_some() {
        "bearer token required"
    } else {
        "off"
    };
    tracing::info!(%address, steps = app.steps.len(), backend = %app.backend, auth, watch = app.settings.watch, "listening");

    let stop = CancellationToken::new();
    if app.settings.watch {
        tokio::spawn(live.clone().watch(stop.clone()));
    }
    let router = live.router();
    let stopped = stop.clone();
    let read_timeout = app.settings.read_timeout;
    let serving = tokio::spawn(async move {
        let listener = TimeoutListener::new(listener, read_timeout);
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await
    });
    Ok(RunningServer {
        live,
        address,
        stop,
        serving,
    })
}

/// The embedded store always holds the event queue; with a Redis URL, state and locks live
/// in Redis instead, shared by every process that uses it. Events are still delivered by the
/// process that emitted them: a Redis Streams bus is not built yet.
async fn backend(options: &ServerOptions) -> anyhow::Result<Backend> {
    let dir = &options.settings.data_dir;
    let store = FileStore::open(dir, options.fsync)?;
    let queue = Arc::new(EmbeddedQueue::new(store.clone()));

    let Some(url) = &options.redis_url else {
        let description = format!("embedded ({})", store.path().display());
        let store = Arc::new(store);
        return Ok(Backend {
            state: store.clone(),
            locks: store,
            queue,
            description,
        });
    };

    // The description names host, port and database only: never the URL's password.
    let redis = RedisStore::connect(url)
        .await
        .context("cannot use the Redis of REDIS_URL")?;
    let description = format!(
        "redis (state, locks) at {} + embedded queue ({})",
        redis.address(),
        store.path().display()
    );
    let redis = Arc::new(redis);
    Ok(Backend {
        state: redis.clone(),
        locks: redis,
        queue,
        description,
    })
}
