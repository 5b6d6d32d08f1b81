//! `fedproof deploy`: the contract stack with a verifier for one shape's keys.

use clap::Args;
use fedproof::chain::deploy::deploy_stack;

use super::args::{ChainArgs, KeysArgs, OutputArgs, ShapeArgs};

/// Options of `fedproof deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    // The verifier's shape.
    #[command(flatten)]
    shape: ShapeArgs,
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl DeployArgs {
    /// Deploys registry, market and verifier; the signer becomes admin and governor.
    pub async fn run(self) -> anyhow::Result<()> {
        let shape = self.shape.shape()?;
        let chain = self.chain.connect().await?;
        let keys = self.keys.store().load_or_setup(shape, &mut rand::rngs::OsRng)?;
        let stack = deploy_stack(&chain, &keys.vk).await?;
        self.output.print(&stack, || {
            format!("market   {}\nregistry {}\nverifier {} ({shape})", stack.market, stack.registry, stack.verifier)
        })
    }
}
