//! What the figures were measured on, the idle-memory figure of a real `stepline serve`
//! process, and the table the run ends with.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The machine, read from `/proc`.
pub struct Machine {
    cores: usize,
    cpu: String,
    kernel: String,
    memory: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let memory = proc_field("/proc/meminfo", "MemTotal")
            .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        Self {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            kernel,
            memory,
        }
    }

    /// The load average now: other work on the machine skews every figure.
    pub fn load_line() -> String {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let fields: Vec<&str> = load.split_whitespace().take(3).collect();
        format!("load average at the end (1/5/15 min): {}", fields.join(" "))
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stepline runtime benchmark (cargo bench --bench runtime)"
        )?;
        writeln!(f, "cores (nproc): {}", self.cores)?;
        writeln!(f, "CPU: {}", self.cpu)?;
        writeln!(f, "memory: {}, kernel: {}", self.memory, self.kernel)?;
        writeln!(f, "store files under: {}", env!("CARGO_TARGET_TMPDIR"))?;
        writeln!(f, "{}", disk_line())?;
        let load = Self::load_line().replace("at the end", "at the start");
        write!(f, "{load}")
    }
}

/// How long a small append and its `fdatasync` take where the store files go: the floor
/// under every durable figure, and the first thing to compare between two runs.
pub fn disk_line() -> String {
    match fdatasync_probe(200) {
        Ok((p50, p99)) => format!(
            "disk: 300-byte append + fdatasync p50 {:.2} ms, p99 {:.2} ms (200 samples)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        Err(e) => format!("disk: fdatasync probe failed: {e}"),
    }
}

fn fdatasync_probe(samples: usize) -> std::io::Result<(Duration, Duration)> {
    use std::io::Write as _;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let mut file = std::fs::File::create(dir.path().join("probe.log"))?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        file.write_all(&[b'x'; 300])?;
        let start = Instant::now();
        file.sync_data()?;
        times.push(start.elapsed());
    }
    times.sort_unstable();
    Ok((times[samples / 2], times[samples * 99 / 100]))
}

/// A field of a `/proc` file given in kB, e.g. `VmRSS` of `/proc/<pid>/status`.
fn proc_field(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// A spawned server, stopped however the benchmark leaves it.
struct Spawned(Child);

impl Spawned {
    /// SIGTERM and a few seconds to drain, then SIGKILL.
    fn stop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(Some(_))) {
            self.stop();
        }
    }
}

/// Figure 4: VmRSS of `stepline serve` on the repository's manifests, idle for `idle` after
/// it logged that it listens.
pub fn idle_rss(idle: Duration) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepline"));
    command
        .arg("serve")
        .args(["--host", "127.0.0.1", "--port", "0", "--manifests"])
        .arg(&manifests)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("STEPLINE_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("STEPLINE_API_TOKEN")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut server = Spawned(command.spawn().context("cannot start `stepline serve`")?);

    // The log goes to stderr; read it on a thread until the server exits, so the pipe
    // never fills, and pass on the line that says it listens.
    let stderr = server.0.stderr.take().context("no stderr")?;
    let (listening, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut last = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("listening") {
                let _ = listening.send(Ok(line.clone()));
            }
            last = line;
        }
        let _ = listening.send(Err(last));
    });
    let line = match heard.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(line)) => line,
        Ok(Err(last)) => bail!("`stepline serve` exited before listening: {last}"),
        Err(_) => bail!("`stepline serve` did not listen within 30 s"),
    };

    std::thread::sleep(idle);
    let status = format!("/proc/{}/status", server.0.id());
    let rss = proc_field(&status, "VmRSS").context("no VmRSS")?;
    let hwm = proc_field(&status, "VmHWM").unwrap_or(rss);
    let threads = proc_field(&status, "Threads").unwrap_or(0);
    server.stop();

    let steps = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("steps="))
        .unwrap_or("?");
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(vec![
        Row::at_most("idle RSS of `stepline serve`", mib(rss), 30.0, " MiB").with_note(format!(
            "{} steps from {}, idle {:.0} s after listening; peak (VmHWM) {:.1} MiB, \
             {threads} threads",
            steps,
            manifests.display(),
            idle.as_secs_f64(),
            mib(hwm)
        )),
    ])
}

/// One line of the result table.
pub struct Row {
    figure: String,
    measured: String,
    target: String,
    result: &'static str,
    note: Option<String>,
}

impl Row {
    /// A figure that must reach `target`.
    pub fn at_least(figure: &str, value: f64, target: f64, unit: &str) -> Self {
        Self::judged(figure, value, target, unit, ">=", value >= target)
    }

    /// A figure that must stay within `target`.
    pub fn at_most(figure: &str, value: f64, target: f64, unit: &str) -> Self {
        Self::judged(figure, value, target, unit, "<=", value <= target)
    }

    fn judged(figure: &str, value: f64, target: f64, unit: &str, op: &str, met: bool) -> Self {
        Self {
            figure: figure.into(),
            measured: number(value, unit),
            target: format!("{op} {}", number(target, unit)),
            result: if met { "PASS" } else { "MISS" },
            note: None,
        }
    }

    /// A figure shown without a target.
    pub fn info(figure: &str, measured: String) -> Self {
        Self {
            figure: figure.into(),
            measured,
            target: String::new(),
            result: "",
            note: None,
        }
    }

    /// A figure the run could not produce, with the reason.
    pub fn not_measured(figure: &str, error: &anyhow::Error) -> Self {
        Self {
            figure: figure.into(),
            measured: "-".into(),
            target: String::new(),
            result: "MISS",
            note: Some(format!("not measured: {error:#}").replace('\n', " ")),
        }
    }

    pub fn with_note(mut self, note: String) -> Self {
        self.note = Some(note);
        self
    }
}

/// `12345.6, "/s"` → `12,346/s`; other units keep one or two decimals.
pub fn number(value: f64, unit: &str) -> String {
    match unit {
        "/s" => {
            let digits = format!("{:.0}", value.max(0.0));
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            format!("{grouped}/s")
        }
        " ms" => format!("{value:.2}{unit}"),
        _ => format!("{value:.1}{unit}"),
    }
}

/// The result table.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn extend(&mut self, rows: Vec<Row>) {
        self.rows.extend(rows);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["FIGURE", "MEASURED", "TARGET", "RESULT"];
        let cells = |r: &Row| [r.figure.clone(), r.measured.clone(), r.target.clone()];
        let mut widths = header.map(str::len);
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(cells(row)) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let [w0, w1, w2, _] = widths;
        writeln!(
            f,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            header[0], header[1], header[2], header[3]
        )?;
        for row in &self.rows {
            let line = format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                row.figure, row.measured, row.target, row.result
            );
            writeln!(f, "{}", line.trim_end())?;
            if let Some(note) = &row.note {
                writeln!(f, "      ({note})")?;
            }
        }
        Ok(())
    }
}
