//! The live application: the current [`App`], its router and its event consumers, swapped
//! as a whole when the manifests change (`stepline serve --watch`).
//!
//! ```text
//!  manifests folder changed ─► load + validate the whole set ─► error: log it, keep the old set
//!        │ ok
//!        ▼
//!  build the new App (same stores, queue and services)
//!        ─► swap the router: new requests see the new routes at once
//!        ─► stop the old consumers and cron schedules from taking work; handlers already
//!           running finish on the old version, what they held but had not started is
//!           released to the new consumers with its attempt count
//!        ─► start consumers and schedules of the new set at once; pending events are fed
//!           to them, except those still running on the old set
//! ```
//!
//! The watcher polls the folder (names, sizes and modification times) twice a second:
//! simple, and the same on every file system, network mounts included.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::Request;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::app::{App, Backend, Settings};
use crate::manifest::ManifestSet;
use crate::registry::Registry;

/// How often the watcher looks at the manifests folder.
const POLL: Duration = Duration::from_millis(500);

/// Consumers and schedules of one manifest set.
struct Generation {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Generation {
    fn start(app: &Arc<App>) -> Self {
        let generation = Self {
            stop: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        crate::bus::dispatch::start(app, &generation.stop, &generation.tracker);
        crate::cron::start(app, &generation.stop, &generation.tracker);
        generation
    }

    /// Stops taking work; running handlers go on, and what was fed but not started is
    /// released to the next consumers.
    fn retire(&self) {
        self.stop.cancel();
        self.tracker.close();
    }
}

/// The application as it is now, and what is needed to build the next one.
pub struct Live {
    app: RwLock<Arc<App>>,
    router: RwLock<Router>,
    /// The running generation; `None` once stopped (a reload then starts nothing).
    generation: tokio::sync::Mutex<Option<Generation>>,
    /// Generations replaced by a reload whose handlers may still be running.
    retiring: tokio::sync::Mutex<Vec<Generation>>,
    manifests: PathBuf,
    registry: Registry,
    backend: Backend,
    settings: Settings,
}

impl Live {
    /// Starts the consumers and schedules of `app`.
    pub fn start(app: Arc<App>, manifests: PathBuf, backend: Backend) -> Arc<Self> {
        let generation = Generation::start(&app);
        Arc::new(Self {
            router: RwLock::new(crate::http::router(app.clone())),
            registry: app.registry.clone(),
            settings: app.settings.clone(),
            app: RwLock::new(app),
            generation: tokio::sync::Mutex::new(Some(generation)),
            retiring: tokio::sync::Mutex::new(Vec::new()),
            manifests,
            backend,
        })
    }

    /// The application now serving.
    pub fn app(&self) -> Arc<App> {
        self.app.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn current_router(&self) -> Router {
        self.router
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A router that hands every request to the router of the current set.
    pub fn router(self: &Arc<Self>) -> Router {
        let live = self.clone();
        Router::new().fallback_service(tower::service_fn(move |request: Request| {
            let router = live.current_router();
            async move { router.oneshot(request).await }
        }))
    }

    /// Loads the manifests again and, if the whole set is valid, switches to it. On error
    /// the previous set stays live and the error is returned.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let set = ManifestSet::load(&self.manifests, &self.registry)?;
        for warning in &set.warnings {
            tracing::warn!("{warning}");
        }
        let old = self.app();
        let app = App::build(
            set,
            self.registry.clone(),
            self.backend.clone(),
            self.settings.clone(),
        )?;
        app.inherit_services(&old);

        *self.router.write().unwrap_or_else(|p| p.into_inner()) = crate::http::router(app.clone());
        *self.app.write().unwrap_or_else(|p| p.into_inner()) = app.clone();

        // The old consumers stop taking work before the new ones start. A delivery still
        // running on the old set is "out" in the queue, so the new consumers skip it.
        let mut generation = self.generation.lock().await;
        let Some(previous) = generation.take() else {
            // Stopped meanwhile (shutdown): start nothing new.
            return Ok(());
        };
        previous.retire();
        let mut retiring = self.retiring.lock().await;
        retiring.retain(|g| !g.tracker.is_empty());
        retiring.push(previous);
        drop(retiring);
        *generation = Some(Generation::start(&app));
        tracing::info!(steps = app.steps.len(), "manifests reloaded");
        Ok(())
    }

    /// Stops consumers and schedules, waiting for running handlers (of this and of replaced
    /// manifest sets) at most the grace period; false if some were still running.
    pub async fn stop(&self) -> bool {
        // Same lock order as `reload`: the running generation, then the retiring ones.
        let mut current = self.generation.lock().await;
        let mut generations: Vec<Generation> = current.take().into_iter().collect();
        generations.extend(self.retiring.lock().await.drain(..));
        drop(current);
        for generation in &generations {
            generation.retire();
        }
        let all = futures::future::join_all(generations.iter().map(|g| g.tracker.wait()));
        tokio::time::timeout(self.settings.shutdown_grace, all)
            .await
            .is_ok()
    }

    /// Watches the manifests folder until `stop`, reloading on every change.
    pub async fn watch(self: Arc<Self>, stop: CancellationToken) {
        let mut seen = fingerprint(&self.manifests);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
            let now = fingerprint(&self.manifests);
            if now == seen {
                continue;
            }
            seen = now;
            tracing::info!(folder = %self.manifests.display(), "manifests changed; reloading");
            if let Err(e) = self.reload().await {
                tracing::error!("manifest change refused; the previous set stays live:\n{e:#}");
            }
        }
    }
}

/// Every file under `dir` with its size and modification time, sorted.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(path);
            } else {
                out.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}
