//! The speed figures of the runtime, in one run: `cargo bench --bench runtime`.
//!
//! ```text
//!  1 bus        100 tasks call App::publish (durable, fsync on) ─► file store ─► dispatcher
//!               ─► trivial handler; clock stops when the last of 50,000 has run
//!  2 HTTP       32 keep-alive connections, closed loop; a bare axum JSON route and an API
//!               step that emits one event (fsync on, and for reference off) take 3 turns
//!               each of 0.5 s warm-up + 2 s counted
//!  3 latency    1,000 requests/s open loop for 1 s warm-up + 10 s; the subscriber notes
//!               handler start minus the client's send time (written into the body)
//!  4 memory     `stepline serve` from the built binary, idle 2 s, VmRSS from /proc
//! ```
//!
//! The servers run in this process on their own tokio runtime (one worker per core, as
//! `stepline serve` has), the client on a second runtime, all on loopback. Store files go
//! under the target directory, on the same disk as the repository, never on a tmpfs.
//! Tracing is set up as `stepline serve` sets it up (`STEPLINE_LOG`, default `info`), so
//! its cost per request is part of the figures.
//!
//! `STEPLINE_BENCH_ONLY=bus,http,latency,memory` (any subset) runs only those parts, e.g.
//! under a profiler.

// A crate root looks for its modules beside itself; these live in `benches/runtime/`.
#[path = "runtime/client.rs"]
mod client;
#[path = "runtime/cpu.rs"]
mod cpu;
#[path = "runtime/machine.rs"]
mod machine;
#[path = "runtime/steps.rs"]
mod steps;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Json;
use axum::http::StatusCode;
use stepline_runtime::app::Settings;
use stepline_runtime::server::{RunningServer, ServerOptions};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use client::{ClosedLoop, OpenLoop, Target};
use machine::{Machine, Row, Table};
use steps::Arrival;

/// Events of the bus benchmark, and the tasks emitting them.
const EVENTS: u64 = 50_000;
const EMITTERS: u64 = 100;
/// The closed-loop HTTP load of one turn, the same for both servers.
const HTTP_LOAD: ClosedLoop = ClosedLoop {
    connections: 32,
    warmup: Duration::from_millis(500),
    measure: Duration::from_secs(2),
};
/// The open-loop load of the latency benchmark.
const PACED_LOAD: OpenLoop = OpenLoop {
    rate: 1_000,
    connections: 50,
    warmup: Duration::from_secs(1),
    measure: Duration::from_secs(10),
};
/// How long the spawned server idles before its memory is read.
const IDLE: Duration = Duration::from_secs(2);
/// A wait for handlers gives up when the count has not moved for this long.
const STALL: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    init_tracing();
    steps::now_ns(); // starts the benchmark's clock
    let machine = Machine::read();
    println!("{machine}");

    match run() {
        Ok(table) => {
            println!("\n{table}");
            println!(
                "{}",
                machine::disk_line().replace("disk:", "disk at the end:")
            );
            println!("{}", Machine::load_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The same logging `stepline serve` sets up: its cost per request belongs to the figures.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEPLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run() -> anyhow::Result<Table> {
    let servers = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let mut table = Table::default();
    let only = std::env::var("STEPLINE_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);

    if wanted("bus") {
        eprintln!("1/4 bus: {EVENTS} durable events from {EMITTERS} emitters");
        match bus_throughput(&servers) {
            Ok(rows) => table.extend(rows),
            Err(e) => table.push(Row::not_measured("events/s through the bus, durable", &e)),
        }
    }
    if wanted("http") {
        eprintln!("2/4 HTTP: bare axum and an API step that emits one event, in turns");
        match api_throughput(&servers, &clients) {
            Ok(rows) => table.extend(rows),
            Err(e) => table.push(Row::not_measured("API step req/s vs bare axum", &e)),
        }
    }
    if wanted("latency") {
        eprintln!("3/4 latency: {} requests/s, open loop", PACED_LOAD.rate);
        match arrival_latency(&servers, &clients) {
            Ok(rows) => table.extend(rows),
            Err(e) => table.push(Row::not_measured("p99 arrival to handler start", &e)),
        }
    }
    if wanted("memory") {
        eprintln!("4/4 memory: idle `stepline serve`");
        match machine::idle_rss(IDLE) {
            Ok(rows) => table.extend(rows),
            Err(e) => table.push(Row::not_measured("idle RSS of `stepline serve`", &e)),
        }
    }
    Ok(table)
}

/// A runtime server on fresh folders under the target directory.
struct Bench {
    server: RunningServer,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(manifests: &[(&str, &str)], fsync: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
        let manifest_dir = dir.path().join("manifests");
        std::fs::create_dir_all(&manifest_dir)?;
        for (name, text) in manifests {
            std::fs::write(manifest_dir.join(name), text)?;
        }
        let options = ServerOptions {
            manifests: manifest_dir,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: Settings {
                data_dir: dir.path().join("data"),
                ..Settings::default()
            },
            fsync,
            redis_url: None,
        };
        let server = stepline_runtime::server::start(options, |_| Ok(())).await?;
        let loaded = server.app().steps.len();
        if loaded != manifests.len() {
            bail!(
                "the server loaded {loaded} of the {} bench manifests; nothing to measure",
                manifests.len()
            );
        }
        Ok(Self { server, _dir: dir })
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.server.shutdown().await
    }
}

/// Waits until `target` handler runs have finished; returns when the last one did, on the
/// benchmark's clock. Gives up when the count stops moving.
async fn handled(target: u64) -> anyhow::Result<u64> {
    steps::set_target(target);
    let mut last = (steps::handled(), std::time::Instant::now());
    loop {
        let now = steps::handled();
        if now >= target {
            let finished = steps::finished_ns();
            return Ok(if finished == 0 {
                steps::now_ns()
            } else {
                finished
            });
        }
        if now != last.0 {
            last = (now, std::time::Instant::now());
        } else if last.1.elapsed() > STALL {
            bail!("handlers stalled at {now} of {target} runs");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Figure 1: durable events per second, from the first publish to the last handler run.
fn bus_throughput(servers: &Runtime) -> anyhow::Result<Vec<Row>> {
    servers.block_on(async {
        let bench = Bench::start(steps::TICK_MANIFESTS, true).await?;
        steps::reset();
        steps::set_target(EVENTS);
        let cpu_before = cpu::Snapshot::take();
        let start = steps::now_ns();

        let per_emitter = EVENTS / EMITTERS;
        let mut emitters = JoinSet::new();
        for e in 0..EMITTERS {
            let app = bench.server.app();
            emitters.spawn(async move {
                for i in 0..per_emitter {
                    let payload = serde_json::json!({ "seq": e * per_emitter + i });
                    app.publish(steps::TICK_TOPIC, payload, "bench-bus").await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(emitter) = emitters.join_next().await {
            emitter??;
        }
        let emitted = steps::now_ns() - start;
        let finished = handled(EVENTS).await? - start;
        let cpu = cpu::Snapshot::take().since(&cpu_before);
        bench.stop().await?;

        let per_second = |ns: u64| EVENTS as f64 / (ns as f64 / 1e9);
        Ok(vec![
            Row::at_least(
                "events/s through the bus, durable (fsync on), end to end",
                per_second(finished),
                20_000.0,
                "/s",
            )
            .with_note(format!(
                "{EVENTS} events, {EMITTERS} emitters, default concurrency 16; \
                 {:.2} s from first publish to last handler run",
                finished as f64 / 1e9
            )),
            Row::info(
                "  publish side only (all emits stored)",
                machine::number(per_second(emitted), "/s"),
            )
            .with_note(cpu.per(EVENTS, "event")),
        ])
    })
}

/// Figure 2: requests per second of an API step that emits one event, next to a bare axum
/// JSON route under the same load. The servers take turns, round by round, so that whatever
/// else the machine does weighs on all alike. The same step without fsync runs as a third
/// contender: the difference is what the disk costs.
fn api_throughput(servers: &Runtime, clients: &Runtime) -> anyhow::Result<Vec<Row>> {
    let (address, stop) = servers.block_on(bare_axum())?;
    let bare_target = Target {
        address,
        path: steps::ARRIVAL_PATH,
        success: 200,
    };
    let synced = servers.block_on(Bench::start(steps::ARRIVAL_MANIFESTS, true))?;
    let unsynced = servers.block_on(Bench::start(steps::ARRIVAL_MANIFESTS, false))?;
    steps::reset();
    let step_target = |bench: &Bench| Target {
        address: bench.server.address(),
        path: steps::ARRIVAL_PATH,
        success: 202,
    };
    let targets = [bare_target, step_target(&synced), step_target(&unsynced)];

    let mut turns: [Turns; 3] = Default::default();
    let mut accepted = 0;
    let mut backlog_ns = 0;
    let outcome = (|| {
        for _ in 0..HTTP_ROUNDS {
            for (target, turns) in targets.iter().zip(turns.iter_mut()) {
                let before = cpu::Snapshot::take();
                let run = clients.block_on(client::closed_loop(target, HTTP_LOAD))?;
                turns.add(run, cpu::Snapshot::take().since(&before));

                // Every accepted request is one event: the subscriber finishes them before
                // the next turn starts, and how long that took is shown.
                if target.success == 202 {
                    accepted += run.ok_total;
                    let load_ended = steps::now_ns();
                    let finished = servers.block_on(handled(accepted))?;
                    backlog_ns = backlog_ns.max(finished.saturating_sub(load_ended));
                }
            }
        }
        anyhow::Ok(())
    })();
    let _ = stop.send(());
    servers.block_on(synced.stop())?;
    servers.block_on(unsynced.stop())?;
    outcome?;
    let [bare, step, step_unsynced] = turns;
    let failed = [&bare, &step, &step_unsynced].map(|t| t.run.failed);
    if failed.iter().any(|&n| n > 0) {
        bail!("requests failed (axum, API step, API step without fsync: {failed:?})");
    }

    let ratio = |turns: &Turns| turns.run.per_second() / bare.run.per_second() * 100.0;
    let (low, high) = step.ratio_range(&bare);
    Ok(vec![
        Row::info(
            "bare axum JSON handler req/s",
            machine::number(bare.run.per_second(), "/s"),
        )
        .with_note(format!(
            "{} connections, keep-alive, closed loop; {HTTP_ROUNDS} turns of {:.0} s after \
             {:.1} s warm-up, taken in turn with the API steps; {}",
            HTTP_LOAD.connections,
            HTTP_LOAD.measure.as_secs_f64(),
            HTTP_LOAD.warmup.as_secs_f64(),
            bare.cpu.per(bare.run.ok_total, "request")
        )),
        Row::info(
            "API step that emits one event req/s",
            machine::number(step.run.per_second(), "/s"),
        )
        .with_note(format!(
            "stepline.forward, body schema checked, fsync on, subscriber running; {}",
            step.cpu.per(step.run.ok_total, "request")
        )),
        Row::at_least("  API step / bare axum", ratio(&step), 70.0, " %").with_note(format!(
            "per turn {low:.1} % to {high:.1} %; the subscriber's backlog after a turn \
             took at most {:.2} s",
            backlog_ns as f64 / 1e9
        )),
        Row::info(
            "  same step with fsync off (--no-fsync) / bare axum",
            format!(
                "{:.1} % ({})",
                ratio(&step_unsynced),
                machine::number(step_unsynced.run.per_second(), "/s")
            ),
        )
        .with_note(step_unsynced.cpu.per(step_unsynced.run.ok_total, "request")),
    ])
}

/// Rounds of the HTTP comparison.
const HTTP_ROUNDS: usize = 3;

/// One server's turns, added up.
#[derive(Default)]
struct Turns {
    run: client::Throughput,
    cpu: cpu::Usage,
    per_turn: Vec<f64>,
}

impl Turns {
    fn add(&mut self, run: client::Throughput, cpu: cpu::Usage) {
        self.per_turn.push(run.per_second());
        self.run.add(&run);
        self.cpu.add(&cpu);
    }

    /// The lowest and highest ratio of this server's turn to the other's, in percent.
    fn ratio_range(&self, other: &Turns) -> (f64, f64) {
        let ratios: Vec<f64> = self
            .per_turn
            .iter()
            .zip(&other.per_turn)
            .map(|(mine, theirs)| mine / theirs * 100.0)
            .collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        (low, high)
    }
}

/// A plain axum router with one POST route that parses the same JSON body and answers
/// JSON, on a free loopback port. Sending on the returned channel stops it.
async fn bare_axum() -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    async fn arrive(Json(arrival): Json<Arrival>) -> (StatusCode, Json<serde_json::Value>) {
        let body = serde_json::json!({ "seq": arrival.seq, "accepted": true });
        (StatusCode::OK, Json(body))
    }
    let router = axum::Router::new().route(steps::ARRIVAL_PATH, axum::routing::post(arrive));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok((address, stop))
}

/// Figure 3: p99 from the client's send time to the subscriber's handler start, at a fixed
/// offered rate.
fn arrival_latency(servers: &Runtime, clients: &Runtime) -> anyhow::Result<Vec<Row>> {
    let bench = servers.block_on(Bench::start(steps::ARRIVAL_MANIFESTS, true))?;
    steps::reset();
    steps::record_delays(true);
    let target = Target {
        address: bench.server.address(),
        path: steps::ARRIVAL_PATH,
        success: 202,
    };
    let run = clients.block_on(client::open_loop(&target, PACED_LOAD));
    let drained = servers.block_on(async {
        let drained = match &run {
            Ok(run) => handled(run.ok).await.map(|_| ()),
            Err(_) => Ok(()),
        };
        bench.stop().await?;
        drained
    });
    steps::record_delays(false);
    let run = run?;
    drained?;
    if run.failed > 0 {
        bail!("{} of {} requests failed", run.failed, run.sent);
    }

    let from = PACED_LOAD.warmup_requests();
    let mut delays: Vec<u64> = steps::take_delays()
        .into_iter()
        .filter(|(seq, _)| *seq >= from)
        .map(|(_, ns)| ns)
        .collect();
    let mut answers = run.answer_ns;
    let ms = |ns: u64| format!("{:.2} ms", ns as f64 / 1e6);
    let delay = Percentiles::of(&mut delays).context("no handler run was recorded")?;
    let answer = Percentiles::of(&mut answers).context("no answer was recorded")?;

    Ok(vec![
        Row::at_most(
            "p99 arrival to handler start",
            delay.p99 as f64 / 1e6,
            5.0,
            " ms",
        )
        .with_note(format!(
            "arrival = the client's send time, written into the body; {} requests/s \
                 for {:.0} s after {:.0} s warm-up, {} connections; {} measured",
            PACED_LOAD.rate,
            PACED_LOAD.measure.as_secs_f64(),
            PACED_LOAD.warmup.as_secs_f64(),
            PACED_LOAD.connections,
            delays.len()
        )),
        Row::info(
            "  arrival to handler start p50 / p90 / p99.9 / max",
            format!(
                "{} / {} / {} / {}",
                ms(delay.p50),
                ms(delay.p90),
                ms(delay.p999),
                ms(delay.max)
            ),
        ),
        Row::info(
            "  answer time at the client p50 / p99",
            format!("{} / {}", ms(answer.p50), ms(answer.p99)),
        )
        .with_note(format!(
            "the client left at most {} after a planned send time",
            ms(u64::try_from(run.max_lag.as_nanos()).unwrap_or(u64::MAX))
        )),
    ])
}

/// Nearest-rank percentiles of a sample, in its unit.
struct Percentiles {
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

impl Percentiles {
    fn of(sample: &mut [u64]) -> Option<Self> {
        if sample.is_empty() {
            return None;
        }
        sample.sort_unstable();
        let at = |p: f64| {
            let rank = (p * sample.len() as f64).ceil() as usize;
            sample[rank.clamp(1, sample.len()) - 1]
        };
        Some(Self {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: *sample.last()?,
        })
    }
}
