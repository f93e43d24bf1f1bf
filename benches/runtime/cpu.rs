//! Where this process's CPU time goes, by thread role: the server runtime, the store's writer
//! thread, the client runtime. Read from `/proc/self/task/*/schedstat` (nanoseconds on the
//! CPU, and how often the thread was switched in), so that a figure can say how much of the
//! machine each side used per request, and how often threads handed work to each other.

use std::collections::HashMap;

/// What one thread has used so far.
#[derive(Debug, Clone, Copy, Default)]
struct Used {
    ns: u64,
    /// Times the thread was switched onto a CPU.
    switches: u64,
}

/// What each thread of this process has used so far, by thread id.
pub struct Snapshot {
    threads: HashMap<u32, (String, Used)>,
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
            // `schedstat`: CPU ns, ns waiting for a CPU, times switched in.
            let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            let fields: Vec<u64> = schedstat
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            let used = Used {
                ns: fields.first().copied().unwrap_or(0),
                switches: fields.get(2).copied().unwrap_or(0),
            };
            threads.insert(tid, (comm.trim().to_string(), used));
        }
        Self { threads }
    }

    /// CPU used by each role since `earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Usage {
        let mut usage = Usage::default();
        for (tid, (comm, now)) in &self.threads {
            let before = earlier
                .threads
                .get(tid)
                .map_or(Used::default(), |(_, u)| *u);
            let used = now.ns.saturating_sub(before.ns);
            usage.switches += now.switches.saturating_sub(before.switches);
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
    /// Times any thread was switched in: each is a hand-over or a wake-up.
    pub switches: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.server_ns += other.server_ns;
        self.writer_ns += other.writer_ns;
        self.client_ns += other.client_ns;
        self.other_ns += other.other_ns;
        self.switches += other.switches;
    }

    /// `per request: CPU server 41.0 µs, store writer 6.0 µs, client 12.0 µs; 3.1 thread
    /// switches`; threads of no role (the main thread) count as server.
    pub fn per(&self, units: u64, unit: &str) -> String {
        let units = units.max(1) as f64;
        let us = |ns: u64| ns as f64 / units / 1e3;
        format!(
            "per {unit}: CPU server {:.1} µs, store writer {:.1} µs, client {:.1} µs; \
             {:.1} thread switches",
            us(self.server_ns + self.other_ns),
            us(self.writer_ns),
            us(self.client_ns),
            self.switches as f64 / units
        )
    }
}
