//! The speed figures of the runtime, in one run: `cargo bench --bench runtime`.
//!
//! ```text
//!  1 bus        100 tasks call App::publish (durable, fsync on) ─► file store ─► dispatcher
//!               ─► trivial handler; clock stops when the last of 50,000 has run
//!  2 HTTP       32 keep-alive connections, closed loop, 1 s warm-up + 5 s counted:
//!               first a bare axum JSON route, then an API step that emits one event
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
/// The closed-loop HTTP load, the same for both servers.
const HTTP_LOAD: ClosedLoop = ClosedLoop {
    connections: 32,
    warmup: Duration::from_secs(1),
    measure: Duration::from_secs(5),
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

    eprintln!("1/4 bus: {EVENTS} durable events from {EMITTERS} emitters");
    match bus_throughput(&servers) {
        Ok(rows) => table.extend(rows),
        Err(e) => table.push(Row::not_measured("events/s through the bus, durable", &e)),
    }
    eprintln!("2/4 HTTP: bare axum, then an API step that emits one event");
    match api_throughput(&servers, &clients) {
        Ok(rows) => table.extend(rows),
        Err(e) => table.push(Row::not_measured("API step req/s vs bare axum", &e)),
    }
    eprintln!("3/4 latency: {} requests/s, open loop", PACED_LOAD.rate);
    match arrival_latency(&servers, &clients) {
        Ok(rows) => table.extend(rows),
        Err(e) => table.push(Row::not_measured("p99 arrival to handler start", &e)),
    }
    eprintln!("4/4 memory: idle `stepline serve`");
    match machine::idle_rss(IDLE) {
        Ok(rows) => table.extend(rows),
        Err(e) => table.push(Row::not_measured("idle RSS of `stepline serve`", &e)),
    }
    Ok(table)
}

/// A runtime server on fresh folders under the target directory, fsync on.
struct Bench {
    server: RunningServer,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(manifests: &[(&str, &str)]) -> anyhow::Result<Self> {
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
            fsync: true,
            redis_url: None,
        };
        let server = stepline_runtime::server::start(options, |_| Ok(())).await?;
        let loaded = server.app.steps.len();
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
        let bench = Bench::start(steps::TICK_MANIFESTS).await?;
        steps::reset();
        steps::set_target(EVENTS);
        let cpu_before = cpu::Snapshot::take();
        let start = steps::now_ns();

        let per_emitter = EVENTS / EMITTERS;
        let mut emitters = JoinSet::new();
        for e in 0..EMITTERS {
            let app = bench.server.app.clone();
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
/// JSON route under the same load.
fn api_throughput(servers: &Runtime, clients: &Runtime) -> anyhow::Result<Vec<Row>> {
    let (address, stop) = servers.block_on(bare_axum())?;
    let target = Target {
        address,
        path: steps::ARRIVAL_PATH,
        success: 200,
    };
    let cpu_before = cpu::Snapshot::take();
    let bare = clients.block_on(client::closed_loop(&target, HTTP_LOAD));
    let bare_cpu = cpu::Snapshot::take().since(&cpu_before);
    let _ = stop.send(());
    let bare = bare?;

    let bench = servers.block_on(Bench::start(steps::ARRIVAL_MANIFESTS))?;
    steps::reset();
    let target = Target {
        address: bench.server.address(),
        path: steps::ARRIVAL_PATH,
        success: 202,
    };
    let cpu_before = cpu::Snapshot::take();
    let step = clients.block_on(client::closed_loop(&target, HTTP_LOAD))?;
    let step_cpu = cpu::Snapshot::take().since(&cpu_before);
    // Every accepted request is one event: let the subscriber catch up before going on.
    let load_ended = steps::now_ns();
    let backlog_done = servers.block_on(async {
        let drained = handled(step.ok_total).await;
        bench.stop().await?;
        drained
    });

    let load = format!(
        "{} connections, keep-alive, {:.0} s counted after {:.0} s warm-up",
        HTTP_LOAD.connections,
        HTTP_LOAD.measure.as_secs_f64(),
        HTTP_LOAD.warmup.as_secs_f64()
    );
    let ratio = step.per_second() / bare.per_second() * 100.0;
    let mut rows = vec![
        Row::info(
            "bare axum JSON handler req/s",
            machine::number(bare.per_second(), "/s"),
        )
        .with_note(format!(
            "{load}; {} failed; {}",
            bare.failed,
            bare_cpu.per(bare.ok_total, "request")
        )),
        Row::info(
            "API step that emits one event req/s",
            machine::number(step.per_second(), "/s"),
        )
        .with_note(format!(
            "stepline.forward, body schema checked, fsync on, subscriber running; \
             {} failed; {}",
            step.failed,
            step_cpu.per(step.ok_total, "request")
        )),
        Row::at_least("  API step / bare axum", ratio, 70.0, " %"),
    ];
    if step.failed > 0 || bare.failed > 0 {
        bail!(
            "requests failed (axum {}, API step {}): the figures are not meaningful",
            bare.failed,
            step.failed
        );
    }
    match backlog_done {
        Ok(finished) => rows.push(Row::info(
            "  subscriber backlog after the load",
            format!("{:.2} s", finished.saturating_sub(load_ended) as f64 / 1e9),
        )),
        Err(e) => rows.push(Row::not_measured("  subscriber backlog after the load", &e)),
    }
    Ok(rows)
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
    let bench = servers.block_on(Bench::start(steps::ARRIVAL_MANIFESTS))?;
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
