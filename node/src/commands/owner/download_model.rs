//! `fedproof owner download-model`: the latest global model, checked against the chain, as a
//! safetensors file of the job's tensors (or the JSON model blob), and its accuracy on the
//! owner's held-out test set.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::roles::owner::latest_model;
use fedproof::training::data::{load_csv, Dataset};
use fedproof::training::federated::FixedPointConfig;
use fedproof::training::mlp::Mlp;
use fedproof::training::model_file::write_model;

use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `owner download-model`.
#[derive(Args, Debug)]
pub struct DownloadModelArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Output file: a `.safetensors` name gets the job's model tensors (float, decoded from the
    /// model encoding); any other name the model blob as JSON (integers in the model encoding).
    #[arg(long)]
    out: PathBuf,
    /// The owner's held-out test set (CSV, as `data split` writes it): also report the model's
    /// accuracy on it.
    #[arg(long)]
    test_data: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

impl DownloadModelArgs {
    /// Writes the model to `--out` and prints its round (and accuracy).
    pub async fn run(self) -> anyhow::Result<()> {
        let test = self.test_data.as_deref().map(load_csv).transpose()?;
        let (job, storage) = self.job.open().await?;
        let model = latest_model(&job, &storage).await?;
        let out = &self.out;
        let bytes = if out.extension().is_some_and(|e| e == "safetensors") {
            write_model(&job.spec, &model.values)?
        } else {
            serde_json::to_vec(&model)?
        };
        std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
        let accuracy = test.as_ref().map(|test| accuracy(&model.values, test)).transpose()?;
        let summary =
            serde_json::json!({ "job_id": model.job_id, "round": model.round, "out": out, "accuracy": accuracy });
        self.output.print(&summary, || {
            let mut line = format!("model of round {} written to {}", model.round, out.display());
            if let Some(acc) = accuracy {
                line += &format!(" (held-out accuracy {:.2} %)", 100.0 * acc);
            }
            line
        })
    }
}

/// Accuracy on `test` of a digits MLP in the model encoding.
fn accuracy(values: &[i64], test: &Dataset) -> anyhow::Result<f64> {
    let weights = FixedPointConfig::default().model().decode(values);
    Ok(Mlp::from_flat(&weights).context("the job's model is not the digits MLP")?.accuracy(test))
}
