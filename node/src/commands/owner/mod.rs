//! `fedproof owner …`: post a job, follow it, download its model, recover what is left.

pub mod create_job;
pub mod download_model;
pub mod recover;
pub mod status;

use clap::Subcommand;

/// Owner commands.
#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Escrow a budget and post a job training the owner's model (a safetensors file) or the
    /// built-in 64-32-10 MLP. (Boxed: its options outweigh the other commands' by far.)
    CreateJob(Box<create_job::CreateJobArgs>),
    /// Print a job's state.
    Status(status::StatusArgs),
    /// Write the latest global model (checked against the chain) to a safetensors or JSON file.
    DownloadModel(download_model::DownloadModelArgs),
    /// Once the job has ended: record the rounds nobody recorded, recover the unallocated budget
    /// and withdraw it.
    Recover(recover::RecoverArgs),
}

impl OwnerCommand {
    /// Runs an owner command.
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            OwnerCommand::CreateJob(args) => args.run().await,
            OwnerCommand::Status(args) => args.run().await,
            OwnerCommand::DownloadModel(args) => args.run().await,
            OwnerCommand::Recover(args) => args.run().await,
        }
    }
}
