//! `fedproof deploy`: the contract stack with a verifier for one shape's keys.

use std::path::PathBuf;

use clap::Args;
use fedproof::chain::deploy::deploy_stack;
use fedproof_prover::keys::KeyStore;
use fedproof_prover::shape::Shape;

use super::{print, ChainArgs};

/// Options of `fedproof deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Trainer slots of the verifier's shape.
    #[arg(long, default_value_t = 10)]
    trainers: usize,
    /// Model parameters of the verifier's shape.
    #[arg(long, default_value_t = 2410)]
    params: usize,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Deploys registry, market and verifier; the signer becomes admin and governor.
pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let shape = Shape::new(args.trainers, args.params)?;
    let chain = args.chain.connect().await?;
    let keys = KeyStore::at(args.keys).load_or_setup(shape, &mut rand::rngs::OsRng)?;
    let stack = deploy_stack(&chain, &keys.vk).await?;
    print(args.chain.json, &stack, || {
        format!("market   {}\nregistry {}\nverifier {} ({shape})", stack.market, stack.registry, stack.verifier)
    })
}
