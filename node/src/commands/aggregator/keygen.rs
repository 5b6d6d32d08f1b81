//! `fedproof aggregator keygen`: the age key trainers seal their updates to.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof_storage::sealed::AggregatorKey;

use crate::commands::args::OutputArgs;

/// Options of `aggregator keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the new age identity (never overwritten; readable by its owner only).
    #[arg(long, default_value = ".fedproof/aggregator.age")]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

impl KeygenArgs {
    /// Writes a new sealing key and prints its public half for `owner create-job --aggregator-recipient`.
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(dir) = self.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let key = AggregatorKey::generate();
        key.save(&self.out).context("writing the sealing key (an existing key is never overwritten)")?;
        let recipient = key.recipient();
        self.output.print(&serde_json::json!({ "recipient": recipient, "key_file": self.out }), || {
            format!("sealing key written to {}\nrecipient: {recipient}", self.out.display())
        })
    }
}
