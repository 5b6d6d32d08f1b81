//! The model a chunked job's round starts from. No proof carries it: round k's final proof
//! binds `C(S_k)`, the chunk proofs bind `S_k` to the updates, and `w_{k+1} = clamp(w_k + γ_k·S_k)`
//! is public arithmetic. So every role replays it from the initial model (checked against the
//! job's `initialModel`) and each round's published aggregate (checked against its `C(S)` on
//! chain), and a published model that differs is an error, not a model to train on.

use alloy::primitives::U256;
use anyhow::Context;
use fedproof_prover::chunked::aggregate;
use fedproof_storage::{ModelBlob, Storage};

use crate::chain::words::{to_u256, u64_to_bits};
use crate::roles::job::JobView;

/// The model of chunked job `job`'s round `round` (> 0), whose on-chain model word `onchain` is
/// round `round - 1`'s `C(S)`; `None` while a round's aggregate is not published yet.
pub async fn replayed_model(
    job: &JobView,
    storage: &Storage,
    round: u32,
    onchain: U256,
) -> anyhow::Result<Option<ModelBlob>> {
    let chunking = job.layout()?.chunking().with_context(|| format!("job {} is not chunked", job.id))?;
    let market = *job.market.address();
    let finalized = job.finalized_events().await?;
    let initial = job.created_event().await?.params.initialModel;
    let Some(mut model) = job.stored_model(storage, 0, initial).await? else { return Ok(None) };
    let domain = job.domain().await?;
    let n = job.shape.trainers;
    for k in 0..round {
        let (ev, _) = finalized
            .iter()
            .find(|(ev, _)| ev.round == U256::from(k))
            .with_context(|| format!("round {k} of job {} is not finalized", job.id))?;
        let Some(record) = storage.chunked_round(market, job.id, k).await? else { return Ok(None) };
        let sums = storage.aggregate(&record).await?;
        anyhow::ensure!(
            (sums.job_id, sums.round) == (job.id, k),
            "the aggregate published for job {} round {k} is labelled job {} round {}",
            job.id,
            sums.job_id,
            sums.round
        );
        // Inlier bit i of the flags word is bit 64 + i, the second limb.
        let inliers = u64_to_bits(ev.flags.as_limbs()[1], n).iter().filter(|b| **b).count();
        let committed = aggregate::commit(domain, k, chunking, n, inliers, &sums.values)
            .with_context(|| format!("the aggregate published for job {} round {k}", job.id))?;
        anyhow::ensure!(
            to_u256(&committed) == ev.newModel,
            "the aggregate published for job {} round {k} is not the C(S) its round finalized",
            job.id
        );
        model.values = aggregate::next_model(&job.round_params(k)?, &model.values, &sums.values, inliers)?;
        model.round = k + 1;
        if k + 1 == round {
            anyhow::ensure!(
                ev.newModel == onchain,
                "the model word given for job {} round {round} is not round {k}'s C(S)",
                job.id
            );
        }
    }
    if let Some(published) = storage.model(market, job.id, round).await? {
        anyhow::ensure!(
            published.values == model.values,
            "the model published for job {} round {round} is not clamp(w + γ·S) of the published aggregates",
            job.id
        );
    }
    Ok(Some(model))
}
