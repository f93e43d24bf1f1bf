//! The load client: keep-alive HTTP/1.1 connections on hyper's connection API, driven either
//! closed-loop (each connection sends its next request when the last one is answered) or
//! open-loop (each request has a fixed send time, whatever the answers do).
//!
//! It is deliberately thin: on a 2-core machine the client shares the CPU with the server,
//! and every microsecond it spends per request narrows the gap between the servers compared.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::steps::{Arrival, now_ns};

/// Where the requests go and the status that counts as success.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: SocketAddr,
    pub path: &'static str,
    pub success: u16,
}

/// One keep-alive connection.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("cannot connect to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: address.to_string(),
        })
    }

    /// Posts request `seq` with the send time written into the body; returns the status.
    async fn post_arrival(&mut self, path: &str, seq: u64) -> anyhow::Result<u16> {
        self.sender.ready().await?;
        let arrival = Arrival {
            seq,
            sent_ns: now_ns(),
        };
        let body = Bytes::from(serde_json::to_vec(&arrival)?);
        let request = hyper::Request::post(path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        Ok(status)
    }
}

async fn open_all(address: SocketAddr, count: usize) -> anyhow::Result<Vec<Connection>> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(Connection::open(address).await?);
    }
    Ok(connections)
}

/// A closed-loop load: `connections` clients, each sending as fast as it is answered.
#[derive(Debug, Clone, Copy)]
pub struct ClosedLoop {
    pub connections: usize,
    /// Answers in this first stretch are not counted.
    pub warmup: Duration,
    pub measure: Duration,
}

/// What a closed-loop run achieved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Throughput {
    /// Successful answers within the measured window.
    pub ok: u64,
    /// Other answers and transport errors within the window.
    pub failed: u64,
    /// Successful answers over the whole run, warm-up included.
    pub ok_total: u64,
    pub seconds: f64,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// Adds another run, as if the two had been one longer run.
    pub fn add(&mut self, other: &Throughput) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.ok_total += other.ok_total;
        self.seconds += other.seconds;
    }
}

/// Runs a closed-loop load against `target`.
pub async fn closed_loop(target: &Target, load: ClosedLoop) -> anyhow::Result<Throughput> {
    let connections = open_all(target.address, load.connections).await?;
    let start = Instant::now();
    let counted_from = start + load.warmup;
    let end = counted_from + load.measure;

    let mut workers = JoinSet::new();
    for (k, mut connection) in connections.into_iter().enumerate() {
        let target = target.clone();
        workers.spawn(async move {
            let mut run = Throughput::default();
            let mut seq = k as u64 * 1_000_000_000;
            while Instant::now() < end {
                seq += 1;
                let outcome = connection.post_arrival(target.path, seq).await;
                let now = Instant::now();
                let counted = now >= counted_from && now < end;
                let ok = matches!(outcome, Ok(status) if status == target.success);
                run.ok_total += u64::from(ok);
                if counted {
                    run.ok += u64::from(ok);
                    run.failed += u64::from(!ok);
                }
                if outcome.is_err() {
                    break;
                }
            }
            run
        });
    }

    let mut total = Throughput {
        seconds: load.measure.as_secs_f64(),
        ..Throughput::default()
    };
    while let Some(run) = workers.join_next().await {
        let run = run?;
        total.ok += run.ok;
        total.failed += run.failed;
        total.ok_total += run.ok_total;
    }
    Ok(total)
}

/// An open-loop load: `rate` requests per second spread over `connections`, request `i`
/// sent at `start + i / rate`.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    pub rate: u32,
    pub connections: usize,
    /// Requests in this first stretch are sent but not measured.
    pub warmup: Duration,
    pub measure: Duration,
}

impl OpenLoop {
    /// Requests numbered below this belong to the warm-up.
    pub fn warmup_requests(&self) -> u64 {
        (self.warmup.as_secs_f64() * f64::from(self.rate)) as u64
    }

    fn total_requests(&self) -> u64 {
        ((self.warmup + self.measure).as_secs_f64() * f64::from(self.rate)) as u64
    }
}

/// What an open-loop run did.
#[derive(Debug, Clone, Default)]
pub struct PacedRun {
    pub sent: u64,
    /// Successful answers, warm-up included: one event each.
    pub ok: u64,
    pub failed: u64,
    /// The latest a request left after its planned send time: shows whether the client
    /// kept the pace.
    pub max_lag: Duration,
    /// Answer times in nanoseconds of the measured requests, as the client saw them.
    pub answer_ns: Vec<u64>,
}

/// Runs an open-loop load against `target`.
pub async fn open_loop(target: &Target, load: OpenLoop) -> anyhow::Result<PacedRun> {
    let connections = open_all(target.address, load.connections).await?;
    let interval = Duration::from_secs(1) / load.rate;
    let total = load.total_requests();
    let measured_from = load.warmup_requests();
    let start = tokio::time::Instant::now() + Duration::from_millis(20);

    let mut workers = JoinSet::new();
    for (k, mut connection) in connections.into_iter().enumerate() {
        let target = target.clone();
        workers.spawn(async move {
            let mut run = PacedRun::default();
            for seq in (k as u64..total).step_by(load.connections) {
                let planned = start + interval * u32::try_from(seq).unwrap_or(u32::MAX);
                tokio::time::sleep_until(planned).await;
                run.max_lag = run.max_lag.max(planned.elapsed());
                let sent = now_ns();
                let outcome = connection.post_arrival(target.path, seq).await;
                run.sent += 1;
                if matches!(outcome, Ok(status) if status == target.success) {
                    run.ok += 1;
                } else {
                    run.failed += 1;
                }
                if seq >= measured_from {
                    run.answer_ns.push(now_ns() - sent);
                }
                if outcome.is_err() {
                    break;
                }
            }
            run
        });
    }

    let mut all = PacedRun::default();
    while let Some(run) = workers.join_next().await {
        let run = run?;
        all.sent += run.sent;
        all.ok += run.ok;
        all.failed += run.failed;
        all.max_lag = all.max_lag.max(run.max_lag);
        all.answer_ns.extend(run.answer_ns);
    }
    Ok(all)
}
