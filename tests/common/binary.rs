//! Running the real `stepline` binary: `serve` on a free port, read back from its log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `stepline serve` child process, killed when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
    /// The log lines before the `listening` line: what was configured at start.
    pub startup: Vec<String>,
    /// Every log line after the `listening` line.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `stepline serve` on port 0 with the given environment; returns once it listens.
pub fn serve(manifests: &Path, data: &Path, env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepline"));
    command
        .args(["serve", "--port", "0", "--manifests"])
        .arg(manifests)
        .arg("--data-dir")
        .arg(data)
        .env("STEPLINE_LOG", "info")
        .env_remove("REDIS_URL")
        .env_remove("STEPLINE_API_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn stepline");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let address = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("stepline exited before listening:\n{}", seen.join("\n"));
        };
        if let Some(rest) = line.split("address=").nth(1)
            && line.contains("listening")
        {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
        seen.push(line);
    };
    // Keep draining the log so the child never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
    Served {
        child,
        base: format!("http://{address}"),
        startup: seen,
        log,
    }
}
