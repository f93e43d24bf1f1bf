//! Shared by the black-box tests: a real server started in this process on a free loopback
//! port, with manifests written to a temporary folder, and an HTTP client.
//!
//! The test-only handlers in [`steps`] are registered into the test binaries, never into
//! the `stepline` binary.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub mod binary;
pub mod steps;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use stepline_runtime::app::Settings;
use stepline_runtime::server::{RunningServer, ServerOptions};

/// A running server and the folders it uses.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base: String,
    pub client: reqwest::Client,
    pub manifests: PathBuf,
    pub data: PathBuf,
    _dir: tempfile::TempDir,
}

/// Builds the options of a test server: loopback, port 0, a short shutdown grace.
pub fn options(manifests: &Path, data: &Path) -> ServerOptions {
    ServerOptions {
        manifests: manifests.to_path_buf(),
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        settings: Settings {
            data_dir: data.to_path_buf(),
            max_body_bytes: 1024 * 1024,
            api_token: None,
            shutdown_grace: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            watch: false,
        },
        fsync: false,
        redis_url: None,
    }
}

fn no_hook(_: &std::sync::Arc<stepline_runtime::app::App>) -> anyhow::Result<()> {
    Ok(())
}

/// Writes the manifests (file name, content) into a fresh folder.
pub fn write_manifests(dir: &Path, manifests: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("manifest dir");
    for (name, text) in manifests {
        std::fs::write(dir.join(name), text).expect("write manifest");
    }
}

impl TestServer {
    /// Starts a server on the given manifests with default options.
    pub async fn start(manifests: &[(&str, &str)]) -> Self {
        Self::start_with(manifests, |_| {}).await
    }

    /// Starts a server after letting the test adjust the options.
    pub async fn start_with(
        manifests: &[(&str, &str)],
        adjust: impl FnOnce(&mut ServerOptions),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest_dir = dir.path().join("manifests");
        let data = dir.path().join("data");
        write_manifests(&manifest_dir, manifests);
        let mut opts = options(&manifest_dir, &data);
        adjust(&mut opts);
        let server = stepline_runtime::server::start(opts, no_hook)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.address());
        Self {
            server: Some(server),
            base,
            client: reqwest::Client::new(),
            manifests: manifest_dir,
            data,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    /// The app of the running server, to read its state directly.
    pub fn app(&self) -> std::sync::Arc<stepline_runtime::app::App> {
        self.server.as_ref().expect("running").app()
    }
}

/// Status and JSON body (Null when the body is not JSON).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `check` until it returns Some or `limit` passes.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The error code of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Id → content hash of every event `code`'s appointments in `source` map to inside
/// `window` (full content): what a calendar must hold after a sync.
pub async fn expected_events(
    source: &stepline::calendar::SnapshotSource,
    code: &str,
    window: stepline::calendar::SyncWindow,
) -> std::collections::BTreeMap<String, String> {
    use stepline::calendar::{CalendarSource, MappingOptions, map_termin};
    let appointments = source
        .appointments(code, window.from, window.to)
        .await
        .expect("sample");
    let options = MappingOptions {
        full_content: true,
        source_tz: source.time_zone(),
    };
    appointments
        .termine
        .iter()
        .map(|t| map_termin(code, t, &options))
        .filter(|e| window.touches(e.time.start_date(), e.last_date()))
        .map(|e| (e.id.to_string(), e.content_hash))
        .collect()
}
