//! `fedproof deploy`: the contract stack with a verifier for one shape's keys, or with
//! `--chunk D` a chunked verifier (the final proof's and the chunk proof's keys, K = ⌈d / D⌉).

use clap::Args;
use fedproof::chain::deploy::{approve_verifier, deploy_chunked_verifier, deploy_market, deploy_stack, Stack};
use fedproof_prover::chunked::Chunking;
use fedproof_prover::keys::Circuit;

use super::args::{ChainArgs, KeysArgs, OutputArgs, ShapeArgs};

/// Options of `fedproof deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    // The verifier's shape.
    #[command(flatten)]
    shape: ShapeArgs,
    /// Deploy a chunked verifier for rounds cut into chunks of this many parameters, so that
    /// jobs of this shape are proven chunk by chunk and settle on the final proof.
    #[arg(long)]
    chunk: Option<usize>,
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
        let store = self.keys.store();
        let rng = &mut rand::rngs::OsRng;
        let (stack, what) = match self.chunk {
            None => (deploy_stack(&chain, &store.load_or_setup(shape, rng)?.vk).await?, shape.to_string()),
            Some(chunk_params) => {
                let chunking = Chunking::for_count(shape.params, shape.params.div_ceil(chunk_params.max(1)))?;
                anyhow::ensure!(
                    chunking.chunk_params == chunk_params,
                    "{} parameters in chunks of {chunk_params} are not cut as a job's chunk count cuts them: use --chunk {}",
                    shape.params,
                    chunking.chunk_params
                );
                let chunks = chunking.count();
                let final_keys = store.load_or_setup(Circuit::Final { shape, chunks }, rng)?;
                let chunk_keys =
                    store.load_or_setup(Circuit::Chunk { trainers: shape.trainers, params: chunk_params }, rng)?;
                let (market, registry) = deploy_market(&chain).await?;
                let verifier = deploy_chunked_verifier(&chain, &final_keys.vk, &chunk_keys.vk, chunks).await?;
                approve_verifier(&chain, market, verifier).await?;
                (Stack { market, registry, verifier }, format!("{shape} in {chunks} chunks of {chunk_params}"))
            }
        };
        self.output.print(&stack, || {
            format!("market   {}\nregistry {}\nverifier {} ({what})", stack.market, stack.registry, stack.verifier)
        })
    }
}
