//! Where this process's CPU time goes, by thread role: the server runtime, the store's writer
//! thread, the client runtime. Read from `/proc/self/task/*/schedstat` (nanoseconds on the
//! CPU), so that a figure can say how much of the machine each side used per request.

use std::collections::HashMap;

/// CPU nanoseconds used so far by each thread of this process, by thread id.
pub struct Snapshot {
    threads: HashMap<u32, (String, u64)>,
}

impl Snapshot {
    pub fn take() -> Self {
        let mut threads = HashMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Self { threads };
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let ns = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            threads.insert(tid, (comm.trim().to_string(), ns));
        }
        Self { threads }
    }

    /// CPU used by each role since `earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Usage {
        let mut usage = Usage::default();
        for (tid, (comm, ns)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, ns)| *ns);
            let used = ns.saturating_sub(before);
            // Thread names are cut to 15 bytes by the kernel.
            let slot = if comm.starts_with("bench-server") {
                &mut usage.server_ns
            } else if comm.starts_with("stepline-store") {
                &mut usage.writer_ns
            } else if comm.starts_with("bench-client") {
                &mut usage.client_ns
            } else {
                &mut usage.other_ns
            };
            *slot += used;
        }
        usage
    }
}

/// CPU nanoseconds per thread role over an interval.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub server_ns: u64,
    pub writer_ns: u64,
    pub client_ns: u64,
    pub other_ns: u64,
}

impl Usage {
    /// `CPU per request: server 41.0 µs, store writer 6.0 µs, client 12.0 µs`; threads of
    /// no role (the main thread) count as server.
    pub fn per(&self, units: u64, unit: &str) -> String {
        let us = |ns: u64| ns as f64 / units.max(1) as f64 / 1e3;
        format!(
            "CPU per {unit}: server {:.1} µs, store writer {:.1} µs, client {:.1} µs",
            us(self.server_ns + self.other_ns),
            us(self.writer_ns),
            us(self.client_ns)
        )
    }
}
