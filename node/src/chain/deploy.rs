//! Deploys the contract stack: a reliability registry with the market as its writer, the market,
//! and a round verifier for a shape's verifying key, approved by the governor (the deployer).

use alloy::primitives::{Address, U256};
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use fedproof_contracts::{ChunkedRoundVerifier, JobMarket, PoseidonT3, ReliabilityRegistry, RoundVerifier};
use fedproof_prover::export::calldata::{verifier_constructor_args, Word};
use serde::Serialize;

use super::client::{call_error, Chain, ChainError};

/// Moving-average weight of a new reliability observation: 0.2 (18 decimals).
const RELIABILITY_WEIGHT: u64 = 200_000_000_000_000_000;

/// Addresses of a deployed stack.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stack {
    /// The JobMarket.
    pub market: Address,
    /// The ReliabilityRegistry it writes.
    pub registry: Address,
    /// The approved round verifier.
    pub verifier: Address,
}

/// Deploys registry, market and a verifier for `vk`, with the caller as admin and governor.
pub async fn deploy_stack(chain: &Chain, vk: &VerifyingKey<Bn254>) -> Result<Stack, ChainError> {
    let (market, registry) = deploy_market(chain).await?;
    let verifier = deploy_verifier(chain, vk).await?;
    approve_verifier(chain, market, verifier).await?;
    Ok(Stack { market, registry, verifier })
}

/// Deploys registry and market, the market the registry's writer, with the caller as admin and
/// governor and no verifier approved yet; returns (market, registry).
pub async fn deploy_market(chain: &Chain) -> Result<(Address, Address), ChainError> {
    let provider = chain.provider.clone();
    let registry = ReliabilityRegistry::deploy(provider.clone(), chain.address, U256::from(RELIABILITY_WEIGHT))
        .await
        .map_err(|e| call_error("deploying ReliabilityRegistry", e))?;
    let market = JobMarket::deploy(provider.clone(), *registry.address(), chain.address)
        .await
        .map_err(|e| call_error("deploying JobMarket", e))?;
    let role = registry.WRITER_ROLE().call().await.map_err(|e| call_error("reading WRITER_ROLE", e))?;
    chain.send("granting the market WRITER_ROLE", registry.grantRole(role, *market.address())).await?;
    Ok((*market.address(), *registry.address()))
}

/// Deploys the generic round verifier with `vk` as its constructor arguments.
pub async fn deploy_verifier(chain: &Chain, vk: &VerifyingKey<Bn254>) -> Result<Address, ChainError> {
    let args = verifier_constructor_args(vk)
        .map_err(|e| ChainError::Call { what: "encoding the verifying key".into(), reason: e.to_string() })?;
    let w = |x: Word| U256::from_be_bytes(x.0);
    let verifier = RoundVerifier::deploy(
        chain.provider.clone(),
        args.alpha.map(w),
        args.beta.map(w),
        args.gamma.map(w),
        args.delta.map(w),
        args.ic.iter().copied().map(w).collect(),
    )
    .await
    .map_err(|e| call_error("deploying RoundVerifier", e))?;
    Ok(*verifier.address())
}

/// Deploys a chunked round shape's verifier (contracts/README.md, "Chunked rounds"): the generic
/// verifier with the final proof's key and with the chunk proof's, poseidon-solidity's PoseidonT3,
/// and the `ChunkedRoundVerifier` joining them for `chunks` chunks.
pub async fn deploy_chunked_verifier(
    chain: &Chain,
    final_vk: &VerifyingKey<Bn254>,
    chunk_vk: &VerifyingKey<Bn254>,
    chunks: usize,
) -> Result<Address, ChainError> {
    let final_verifier = deploy_verifier(chain, final_vk).await?;
    let chunk_verifier = deploy_verifier(chain, chunk_vk).await?;
    let poseidon =
        PoseidonT3::deploy(chain.provider.clone()).await.map_err(|e| call_error("deploying PoseidonT3", e))?;
    let verifier = ChunkedRoundVerifier::deploy(
        chain.provider.clone(),
        final_verifier,
        chunk_verifier,
        U256::from(chunks),
        *poseidon.address(),
    )
    .await
    .map_err(|e| call_error("deploying ChunkedRoundVerifier", e))?;
    Ok(*verifier.address())
}

/// The governor approves a verifier for new jobs.
pub async fn approve_verifier(chain: &Chain, market: Address, verifier: Address) -> Result<(), ChainError> {
    chain.send("approving the verifier", chain.market(market).setVerifierApproval(verifier, true)).await?;
    Ok(())
}
