//! `fedproof bench api`: the REST API and the update intake under load. Spawns anvil, deploys
//! the contracts, creates `--jobs` one-round jobs of the demo shape (10 trainers × 2,410
//! parameters, 1,000 slots for 100 jobs) each committed on-chain, serves them in-process on
//! loopback (SQLite), then measures
//! - reads alone: `GET /api/jobs/{id}` over concurrent connections (rate, p50, p99);
//! - the intake: every slot's sealed update sent at once, refusals retried after their
//!   `Retry-After` (accepted, stored, receipts verified, refusals, errors, lost, p50/p99);
//! - the same reads while the uploads run;
//! - the process's peak memory (server, clients and load generator together).

mod chain;
mod reads;
mod service;
mod uploads;

use std::time::Instant;

use clap::Args;
use fedproof::progress;
use fedproof_web_api::http::Limits;
use serde::Serialize;

use crate::commands::args::{AnvilArgs, OutputArgs, ReportArgs};
use chain::{BenchChain, SLOTS};
use reads::{measure_reads, ReadFigures, ReadLoad};
use service::Service;
use uploads::UploadFigures;

/// Options of `fedproof bench api`.
#[derive(Args)]
pub struct ApiArgs {
    /// Read requests to send with nothing else running.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent read connections (idle and under the upload load).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Jobs of the upload phase, 10 trainer slots each: uploads = 10 × jobs, all sent at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    jobs: u64,
    /// The intake's limit on uploads handled at once (`fedproof serve`'s default when absent).
    #[arg(long)]
    max_concurrent_uploads: Option<usize>,
    #[command(flatten)]
    anvil: AnvilArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// The benchmark's JSON document.
#[derive(Serialize)]
struct Figures {
    /// CPUs this process could use (server, load generator and anvil share them).
    cores: usize,
    /// Seconds to deploy, create the jobs, join and commit every update (not measured load).
    setup_seconds: f64,
    /// Reads with nothing else running.
    read: ReadFigures,
    /// The uploads, all sent at once.
    intake: UploadFigures,
    /// The same reads while the uploads ran.
    read_under_upload: ReadFigures,
    /// Peak resident memory of the bench's process (`VmHWM`): the server, the bench's upload and
    /// read clients and its setup together (anvil is another process, not counted).
    peak_rss_bytes_server_and_clients: Option<u64>,
}

impl ApiArgs {
    /// Runs the benchmark and prints (and writes) its figures.
    pub fn run(self) -> anyhow::Result<()> {
        let figures = crate::commands::block_on(self.measure())?;
        self.output.print(&figures, || figures.text())?;
        self.report.write(&figures)
    }

    /// The intake's limits: the server's defaults, with `--max-concurrent-uploads`.
    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits { concurrent_uploads: self.max_concurrent_uploads.unwrap_or(defaults.concurrent_uploads), ..defaults }
    }

    /// Deploys and serves, then measures reads, the intake and the reads under it.
    async fn measure(&self) -> anyhow::Result<Figures> {
        let setup = Instant::now();
        let bar = progress::spinner("deploying contracts on anvil");
        let net = BenchChain::start(&self.anvil.anvil, self.jobs as usize).await?;
        let limits = self.limits();
        let concurrent_uploads_limit = limits.concurrent_uploads;
        let service = Service::start(&net, limits).await?;
        bar.finish_and_clear();
        let bar = progress::bar(self.jobs * (2 + 2 * SLOTS as u64), "setup transactions");
        bar.set_message("jobs, bonds, joins");
        net.create_jobs(&service.storage, &service.recipient, &bar).await?;
        bar.set_message("sealed updates committed");
        let prepared = net.commit_updates(&service.recipient, &bar).await?;
        service.caught_up(&net).await?;
        bar.finish_and_clear();
        let setup_seconds = setup.elapsed().as_secs_f64();

        let addr = service.server.addr;
        let read = measure_reads(addr, self.requests, self.concurrency).await?;
        let load = ReadLoad::start(addr, self.concurrency).await?;
        let bar = progress::bar(prepared.len() as u64, "uploads");
        let (outcomes, seconds) = uploads::fire(addr, &prepared, &bar).await;
        let read_under_upload = load.stop().await?;
        bar.finish_and_clear();
        let aggregator = net.aggregator().address();
        let mut intake = uploads::figures(outcomes, seconds, &prepared, &net.market, aggregator, &service).await?;
        intake.concurrent_uploads_limit = concurrent_uploads_limit;
        service.server.shutdown().await;
        Ok(Figures {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            setup_seconds,
            read,
            intake,
            read_under_upload,
            peak_rss_bytes_server_and_clients: super::peak_rss_bytes(),
        })
    }
}

impl Figures {
    /// The figures as a few lines of text.
    fn text(&self) -> String {
        let reads = |r: &ReadFigures| {
            format!(
                "{} requests, {} concurrent, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                r.requests, r.concurrency, r.requests_per_second, r.p50_ms, r.p99_ms, r.errors
            )
        };
        let i = &self.intake;
        let rss = self.peak_rss_bytes_server_and_clients.map_or("?".into(), |b| format!("{:.0} MB", b as f64 / 1e6));
        format!(
            "{} reads: {}\n\
             intake: {} uploads at once (limit {} at a time): {} accepted, {} receipts verified, {} stored, \
             {} lost; {} refused 429, {} refused 503, {} retries, {} 5xx, {} other errors; \
             p50 {:.0} ms, p99 {:.0} ms, {:.1} s ({:.0} uploads/s)\n\
             reads during the uploads: {}\n\
             peak RSS (server and clients, one process): {rss}; setup {:.0} s on {} cores",
            self.read.endpoint,
            reads(&self.read),
            i.uploads,
            i.concurrent_uploads_limit,
            i.accepted,
            i.receipts_verified,
            i.stored,
            i.lost,
            i.refused_429,
            i.refused_503,
            i.retries,
            i.server_errors_5xx,
            i.other_errors,
            i.p50_ms,
            i.p99_ms,
            i.seconds,
            i.accepted_per_second,
            reads(&self.read_under_upload),
            self.setup_seconds,
            self.cores,
        )
    }
}
