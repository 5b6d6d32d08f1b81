//! The read load: connections that GET job 1's page back to back, either a fixed number of
//! requests (the idle figures) or until told to stop (the figures under the upload load).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedproof::progress;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::task::JoinHandle;

/// Rate and latency of the reads.
#[derive(Serialize)]
pub struct ReadFigures {
    /// The endpoint read.
    pub endpoint: String,
    /// Requests answered (successfully or not).
    pub requests: usize,
    /// Connections reading at once.
    pub concurrency: usize,
    /// Requests that failed or were not answered 2xx.
    pub errors: usize,
    /// Wall time of the measurement.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
}

/// Reads running in the background until [`ReadLoad::stop`].
pub struct ReadLoad {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<(Vec<Duration>, usize)>>,
    clock: Instant,
    concurrency: usize,
}

/// A client with warm connections to `addr`, and job 1's page there.
async fn warm_client(addr: SocketAddr, concurrency: usize) -> anyhow::Result<(reqwest::Client, Arc<String>)> {
    let url = Arc::new(format!("http://{addr}/api/jobs/1"));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let warm: Vec<_> = (0..concurrency).map(|_| client.get(url.as_str()).send()).collect();
    for r in futures::future::join_all(warm).await {
        r?.bytes().await?;
    }
    Ok((client, url))
}

/// Fires `requests` GETs of job 1's page over `concurrency` connections: rate and latency.
pub async fn measure_reads(addr: SocketAddr, requests: usize, concurrency: usize) -> anyhow::Result<ReadFigures> {
    let (client, url) = warm_client(addr, concurrency).await?;
    let bar = progress::bar(requests as u64, "requests");
    let per_task = requests.div_ceil(concurrency.max(1));
    let never = Arc::new(AtomicBool::new(false));
    let clock = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(get_until(client.clone(), url.clone(), per_task, never.clone(), bar.clone())))
        .collect();
    let figures = collect(tasks, clock, concurrency).await;
    bar.finish_and_clear();
    figures
}

impl ReadLoad {
    /// Starts `concurrency` connections reading job 1's page back to back.
    pub async fn start(addr: SocketAddr, concurrency: usize) -> anyhow::Result<Self> {
        let (client, url) = warm_client(addr, concurrency).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Instant::now();
        let tasks = (0..concurrency)
            .map(|_| {
                tokio::spawn(get_until(client.clone(), url.clone(), usize::MAX, stop.clone(), ProgressBar::hidden()))
            })
            .collect();
        Ok(ReadLoad { stop, tasks, clock, concurrency })
    }

    /// Stops the reads (each connection finishes its request in flight): their figures since
    /// [`ReadLoad::start`].
    pub async fn stop(self) -> anyhow::Result<ReadFigures> {
        self.stop.store(true, Ordering::Relaxed);
        collect(self.tasks, self.clock, self.concurrency).await
    }
}

/// Joins the reading tasks and computes the figures over what they measured.
async fn collect(
    tasks: Vec<JoinHandle<(Vec<Duration>, usize)>>,
    clock: Instant,
    concurrency: usize,
) -> anyhow::Result<ReadFigures> {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    let seconds = clock.elapsed().as_secs_f64();
    latencies.sort();
    Ok(ReadFigures {
        endpoint: "GET /api/jobs/{id}".into(),
        requests: latencies.len(),
        concurrency,
        errors,
        seconds,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
    })
}

/// The `p` quantile of sorted latencies, in milliseconds (0 for none).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// One connection's share of the reads: up to `count` requests, fewer once `stop` is set; each
/// request's latency, and how many failed.
async fn get_until(
    client: reqwest::Client,
    url: Arc<String>,
    count: usize,
    stop: Arc<AtomicBool>,
    bar: ProgressBar,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(count.min(1 << 16));
    let mut errors = 0usize;
    while latencies.len() < count && !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        match client.get(url.as_str()).send().await {
            Ok(r) if r.status().is_success() => {
                if r.bytes().await.is_err() {
                    errors += 1;
                }
            }
            _ => errors += 1,
        }
        latencies.push(start.elapsed());
        bar.inc(1);
    }
    (latencies, errors)
}
