//! `fedproof demo`: a whole marketplace on a local anvil (see [`fedproof::demo`]); prints its
//! report, optionally writes it, then optionally serves the job's dashboard.

use clap::Args;
use fedproof::demo::{self, DemoConfig};

use super::args::{AnvilArgs, KeysArgs, OutputArgs, ReportArgs};

/// Options of `fedproof demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Trainers.
    #[arg(long, default_value_t = 10)]
    trainers: usize,
    /// Malicious trainers (the last slots; attacks: sign flip, noise, free ride, label flip, Sybil).
    #[arg(long, default_value_t = 3)]
    malicious: usize,
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Krum threshold τ: updates whose Krum score exceeds τ × the median score are outliers. The
    /// non-IID split makes honest updates spread widely, so a tight τ flags honest trainers.
    #[arg(long, default_value_t = 3.0)]
    tau: f64,
    /// Dirichlet α of the non-IID split.
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    /// Seed of data split, initial model and training.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    keys: KeysArgs,
    /// After the demo, keep the chain up and serve the REST API and dashboard on this address
    /// (e.g. 127.0.0.1:8080) until interrupted.
    #[arg(long)]
    serve: Option<std::net::SocketAddr>,
    #[command(flatten)]
    anvil: AnvilArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

impl DemoArgs {
    /// Runs the demo, prints and writes its report; fails if the audit did.
    pub async fn run(self) -> anyhow::Result<()> {
        let config = DemoConfig {
            trainers: self.trainers,
            malicious: self.malicious,
            rounds: self.rounds,
            tau: self.tau,
            alpha: self.alpha,
            seed: self.seed,
            keys: self.keys.keys,
            anvil: self.anvil.anvil,
        };
        let finished = demo::run(&config).await?;
        let report = &finished.report;
        self.output.print(report, || report.table())?;
        self.report.write(report)?;
        anyhow::ensure!(report.audit_ok, "the audit of the demo job failed");
        match self.serve {
            Some(listen) => finished.serve(listen).await,
            None => Ok(()),
        }
    }
}
