//! Turns raw logs of JobMarket and ReliabilityRegistry into the facts the database stores,
//! fetching what a log does not carry (the proof from the `finalizeRound` calldata, the domain,
//! the registry records after a batch) and pairing a chunked round's H with its round.

use super::{Chain, IndexerError};
use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEventInterface};
use fedproof_contracts::{JobMarket, ReliabilityRegistry};

/// Where a log sits in the chain.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Block number.
    pub block: u64,
    /// Transaction hash.
    pub tx: B256,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// A registry record read at the block of its update.
#[derive(Debug, Clone)]
pub struct SourceUpdate {
    /// Source id.
    pub id: B256,
    /// The observation folded in (1e18).
    pub observation: U256,
    /// Score after it (1e18).
    pub score: u64,
    /// Observations folded in so far.
    pub observations: u64,
    /// Timestamp of the record's last update.
    pub last_update: u64,
}

/// What `finalizeRound`'s calldata adds to `RoundFinalized`.
#[derive(Debug, Clone)]
pub struct Finalization {
    /// The Groth16 proof as 8 words.
    pub proof: [U256; 8],
    /// The job's domain public input (`JobMarket.domain` as of the finalization's block).
    pub domain: U256,
}

/// A finalized round: its `RoundFinalized` log and what the index adds to it.
#[derive(Debug, Clone)]
pub struct Finalized {
    /// The event (bitmaps as uint256: every slot of a job of up to 256).
    pub event: JobMarket::RoundFinalized,
    /// From the `finalizeRound` calldata; `None` for a finalization relayed through another
    /// contract.
    pub finalization: Option<Finalization>,
    /// H, the chunk digest root of a chunked round, from the `ChunkedRoundFinalized` its
    /// transaction logged (see [`attach_digests`]); `None` for a round proven whole.
    pub digest: Option<U256>,
}

/// One decoded event, ready to store.
#[derive(Debug, Clone)]
pub enum Event {
    /// A JobMarket event other than `RoundFinalized`.
    Market(Box<JobMarket::JobMarketEvents>),
    /// A finalized round.
    Finalized(Box<Finalized>),
    /// Registry records written by one event, and the (job, round) they observe when the market
    /// wrote them (its `ReliabilityRecorded` in the same transaction).
    Reliability(Vec<SourceUpdate>, Option<(u64, u64)>),
}

/// Decodes a log emitted by `market` or `registry`; `None` for events the index does not keep.
pub async fn decode(chain: &Chain, log: &Log) -> Result<Option<Event>, IndexerError> {
    let topics = log.topics();
    let data = &log.data().data;
    if log.address() == chain.market {
        let Ok(event) = JobMarket::JobMarketEvents::decode_raw_log(topics, data) else {
            return Ok(None);
        };
        return Ok(Some(match event {
            JobMarket::JobMarketEvents::RoundFinalized(event) => {
                let finalization = finalization(chain, log).await?;
                Event::Finalized(Box::new(Finalized { event, finalization, digest: None }))
            }
            other => Event::Market(Box::new(other)),
        }));
    }
    if log.address() == chain.registry {
        let block = log.block_number.ok_or(IndexerError::Pending)?;
        let registry = ReliabilityRegistry::new(chain.registry, &chain.provider);
        let updates = match ReliabilityRegistry::ReliabilityRegistryEvents::decode_raw_log(topics, data) {
            Ok(ReliabilityRegistry::ReliabilityRegistryEvents::EvidenceRecorded(e)) if e.token.is_zero() => {
                // The market's value-weighted evidence in ETH: the score is the weighted mean.
                let records = registry.evidenceBatch(e.ids.clone(), e.token).block(block.into()).call().await?;
                let stamp = block_time(chain, block).await?;
                e.ids
                    .into_iter()
                    .zip(e.observations)
                    .zip(records)
                    .map(|((id, observation), r)| SourceUpdate {
                        id,
                        observation,
                        score: weighted_mean(r.weightedSum, r.weight),
                        observations: u64::from(r.observations),
                        last_update: stamp,
                    })
                    .collect()
            }
            Ok(ReliabilityRegistry::ReliabilityRegistryEvents::ReliabilityUpdated(e)) => {
                moving_average(&registry, block, vec![e.id], vec![e.observation]).await?
            }
            Ok(ReliabilityRegistry::ReliabilityRegistryEvents::ReliabilityBatchUpdated(e)) => {
                moving_average(&registry, block, e.ids, e.observations).await?
            }
            _ => return Ok(None),
        };
        let observed = recorded_round(chain, log).await?;
        return Ok(Some(Event::Reliability(updates, observed)));
    }
    Ok(None)
}

/// The (job, round) whose reliability the market recorded in the transaction of `log` (a round's
/// first claim or `recordReliability` emits `ReliabilityRecorded` after the registry's event).
async fn recorded_round(chain: &Chain, log: &Log) -> Result<Option<(u64, u64)>, IndexerError> {
    let hash = log.transaction_hash.ok_or(IndexerError::Pending)?;
    let Some(receipt) = chain.provider.get_transaction_receipt(hash).await? else {
        return Ok(None);
    };
    Ok(receipt.inner.logs().iter().filter(|l| l.address() == chain.market).find_map(|l| {
        let e = l.log_decode::<JobMarket::ReliabilityRecorded>().ok()?.inner.data;
        Some((e.jobId.try_into().ok()?, e.round.try_into().ok()?))
    }))
}

/// The registry's unweighted moving-average records after a direct write (not the market's).
async fn moving_average(
    registry: &ReliabilityRegistry::ReliabilityRegistryInstance<&alloy::providers::DynProvider>,
    block: u64,
    ids: Vec<B256>,
    observations: Vec<U256>,
) -> Result<Vec<SourceUpdate>, IndexerError> {
    // The batch event carries no scores; the records as of that block hold them.
    let records = registry.getBatch(ids.clone()).block(block.into()).call().await?;
    Ok(ids
        .into_iter()
        .zip(observations)
        .zip(records)
        .map(|((id, observation), r)| SourceUpdate {
            id,
            observation,
            score: r.score,
            observations: r.observations,
            last_update: r.lastUpdate,
        })
        .collect())
}

/// `weightedSum · 1e18 / weight` (1e18 fixed point; 0 without weight), as the registry's
/// `weightedMean`.
fn weighted_mean(weighted_sum: alloy::primitives::aliases::U112, weight: alloy::primitives::aliases::U112) -> u64 {
    if weight.is_zero() {
        return 0;
    }
    let mean = U256::from(weighted_sum) * U256::from(1_000_000_000_000_000_000u64) / U256::from(weight);
    mean.saturating_to::<u64>()
}

/// A block's timestamp.
async fn block_time(chain: &Chain, block: u64) -> Result<u64, IndexerError> {
    let b = chain.provider.get_block_by_number(block.into()).await?;
    Ok(b.map_or(0, |b| b.header.timestamp))
}

/// Reads the proof from the transaction that emitted `RoundFinalized`, and the job's domain as of
/// its block.
/// A finalization relayed through another contract has no direct calldata: the round is still
/// indexed, without its proof.
async fn finalization(chain: &Chain, log: &Log) -> Result<Option<Finalization>, IndexerError> {
    let hash = log.transaction_hash.ok_or(IndexerError::Pending)?;
    let Some(tx) = chain.provider.get_transaction_by_hash(hash).await? else {
        return Ok(None);
    };
    let input = alloy::consensus::Transaction::input(&tx);
    let Ok(call) = JobMarket::finalizeRoundCall::abi_decode(input) else {
        tracing::warn!(%hash, "RoundFinalized from a transaction that is not a direct finalizeRound call");
        return Ok(None);
    };
    let block = log.block_number.ok_or(IndexerError::Pending)?;
    let market = JobMarket::new(chain.market, &chain.provider);
    let domain = market.domain(call.jobId).block(block.into()).call().await?;
    Ok(Some(Finalization { proof: call.f.proof, domain }))
}

/// Gives each finalized round of a chunked job its H: JobMarket logs `ChunkedRoundFinalized(job,
/// round, digest)` right before `RoundFinalized` in the same transaction (so in the same block,
/// hence in the same indexed range), and the round's row is written from the latter.
pub fn attach_digests(events: &mut [(Position, Event)]) {
    let digests: Vec<(B256, U256, U256, U256)> = events
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Market(m) => match m.as_ref() {
                JobMarket::JobMarketEvents::ChunkedRoundFinalized(c) => Some((at.tx, c.jobId, c.round, c.digest)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for (at, e) in events.iter_mut() {
        if let Event::Finalized(f) = e {
            let (job, round) = (f.event.jobId, f.event.round);
            f.digest = digests.iter().find(|d| d.0 == at.tx && d.1 == job && d.2 == round).map(|d| d.3);
        }
    }
}

/// The position of a mined log.
pub fn position(log: &Log) -> Result<Position, IndexerError> {
    Ok(Position {
        block: log.block_number.ok_or(IndexerError::Pending)?,
        tx: log.transaction_hash.ok_or(IndexerError::Pending)?,
        log_index: log.log_index.ok_or(IndexerError::Pending)?,
    })
}
