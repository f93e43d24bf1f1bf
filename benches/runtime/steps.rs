//! The benchmark's own steps and manifests. They are registered only into the bench binary.
//!
//! The handlers do as little as a handler can: they count themselves in process-wide
//! atomics (never in the state store, whose writes would be measured too), and the arrival
//! handler notes how long after the client's send time it started.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use stepline_runtime::{Context, StepError, register_step};

/// The one clock of the benchmark: the client writes `sent_ns` from it and the handler
/// subtracts from it, so that both ends of a delay share the same origin.
static CLOCK: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Handler runs since the last [`reset`].
static HANDLED: AtomicU64 = AtomicU64::new(0);
/// The run count whose completion time is noted in [`FINISHED_NS`].
static TARGET: AtomicU64 = AtomicU64::new(u64::MAX);
static FINISHED_NS: AtomicU64 = AtomicU64::new(0);
/// Whether the arrival handler keeps its delays.
static RECORDING: AtomicBool = AtomicBool::new(false);
/// (request sequence number, send-to-handler-start nanoseconds).
static DELAYS: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// Nanoseconds on the benchmark's clock.
pub fn now_ns() -> u64 {
    u64::try_from(CLOCK.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Starts counting afresh, with no target. Only between runs: a handler still running
/// would be counted into the next one.
pub fn reset() {
    TARGET.store(u64::MAX, Ordering::SeqCst);
    HANDLED.store(0, Ordering::SeqCst);
    FINISHED_NS.store(0, Ordering::SeqCst);
    DELAYS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

/// From now on, the run numbered `target` notes when it finished. A caller that then sees
/// [`handled`] at or past `target` while [`finished_ns`] is still 0 has raced that run and
/// may take its own clock instead.
pub fn set_target(target: u64) {
    TARGET.store(target, Ordering::SeqCst);
}

/// Handler runs since the last reset.
pub fn handled() -> u64 {
    HANDLED.load(Ordering::SeqCst)
}

/// When the target run finished, on the benchmark's clock; 0 until it has.
pub fn finished_ns() -> u64 {
    FINISHED_NS.load(Ordering::SeqCst)
}

/// Turns keeping the arrival delays on or off.
pub fn record_delays(on: bool) {
    RECORDING.store(on, Ordering::SeqCst);
}

/// The delays kept so far, emptied.
pub fn take_delays() -> Vec<(u64, u64)> {
    std::mem::take(&mut *DELAYS.lock().unwrap_or_else(PoisonError::into_inner))
}

fn count_run() {
    let n = HANDLED.fetch_add(1, Ordering::SeqCst) + 1;
    if n == TARGET.load(Ordering::SeqCst) {
        FINISHED_NS.store(now_ns(), Ordering::SeqCst);
    }
}

/// The payload of the bus benchmark's events.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Tick {
    pub seq: u64,
}

async fn count_tick(tick: Tick, _ctx: Context) -> Result<(), StepError> {
    // Reads its input, as any handler would, and nothing more.
    std::hint::black_box(tick.seq);
    count_run();
    Ok(())
}
register_step!(event "bench_tick", input = Tick, count_tick);

/// The request body of the HTTP benchmarks, forwarded unchanged as the event payload.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arrival {
    /// The request's number within its run.
    pub seq: u64,
    /// When the client sent the request, on the benchmark's clock.
    pub sent_ns: u64,
}

async fn note_arrival(arrival: Arrival, _ctx: Context) -> Result<(), StepError> {
    let delay = now_ns().saturating_sub(arrival.sent_ns);
    if RECORDING.load(Ordering::Relaxed) {
        let mut delays = DELAYS.lock().unwrap_or_else(PoisonError::into_inner);
        delays.push((arrival.seq, delay));
    }
    count_run();
    Ok(())
}
register_step!(event "bench_arrival", input = Arrival, note_arrival);

/// The bus benchmark: one subscriber with default queue settings, and an API step that
/// declares the topic so that it has an emitter. The benchmark publishes directly and never
/// calls that step.
pub const TICK_MANIFESTS: &[(&str, &str)] = &[
    (
        "tick.yaml",
        "type: event\nname: Bench Tick\nhandler: bench_tick\nsubscribes: [bench.tick]\n",
    ),
    (
        "emitter.yaml",
        "type: api\nname: Bench Tick Intake\npath: /ticks\nmethod: POST\n\
         handler: stepline.forward\nemits: [bench.tick]\n",
    ),
];

/// The HTTP benchmarks: an API step that checks the body and forwards it as one event, and
/// its subscriber.
pub const ARRIVAL_MANIFESTS: &[(&str, &str)] = &[
    (
        "intake.yaml",
        "type: api
name: Bench Intake
path: /arrivals
method: POST
handler: stepline.forward
emits: [bench.arrival]
body:
  type: object
  required: [seq, sent_ns]
  additionalProperties: false
  properties:
    seq: {type: integer, minimum: 0}
    sent_ns: {type: integer, minimum: 0}
",
    ),
    (
        "arrival.yaml",
        "type: event\nname: Bench Arrival\nhandler: bench_arrival\nsubscribes: [bench.arrival]\n",
    ),
];

/// The topic of the bus benchmark.
pub const TICK_TOPIC: &str = "bench.tick";
/// The route of the HTTP benchmarks, on both servers.
pub const ARRIVAL_PATH: &str = "/arrivals";
