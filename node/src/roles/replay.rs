//! The model a round starts from. No proof carries it: round k's proof binds `C(S_k)`, the
//! commitment to the inliers' aggregate, and `w_{k+1} = clamp(w_k + γ_k·S_k)` is public
//! arithmetic (prover/README.md, section 4). So every role replays it from the initial model
//! (checked against the job's `initialModel`) and each round's published aggregate (checked
//! against its `C(S)` on chain), and a published model that differs is an error, not a model to
//! train on. The aggregator publishes both after proving a round ([`publish_outcome`]).

use std::sync::{Arc, Mutex};

use alloy::primitives::U256;
use anyhow::Context;
use fedproof_prover::chunked::aggregate;
use fedproof_storage::{AggregateBlob, ModelBlob, Storage};
use fedproof_web_api::format::slots;

use fedproof_contracts::JobMarket;

use crate::chain::words::to_u256;
use crate::roles::job::JobView;

/// The last model a [`JobView`] replayed and the `C(S)` it was replayed up to (its round's
/// previous round's), shared by the view's clones. The next replay continues from it, as long as
/// that round's `C(S)` on chain is still the one it was replayed from; without it a role would
/// hash R²/2 aggregates over a job of R rounds.
#[derive(Debug, Clone, Default)]
pub struct ReplayCache(Arc<Mutex<Option<(ModelBlob, U256)>>>);

impl ReplayCache {
    /// The cached model if it is of round `1..=round` and was replayed up to the `C(S)` that
    /// `finalized` still shows for its previous round.
    fn start(&self, round: u32, finalized: &[JobMarket::RoundFinalized]) -> Option<ModelBlob> {
        let cached = self.0.lock().ok()?.clone();
        let (model, word) = cached?;
        let previous_round = U256::from(model.round.checked_sub(1)?);
        let previous = finalized.iter().find(|ev| ev.round == previous_round)?;
        (model.round <= round && previous.newModel == word).then_some(model)
    }

    fn store(&self, model: &ModelBlob, word: U256) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((model.clone(), word));
        }
    }
}

/// The model of job `job`'s round `round` (> 0), whose on-chain model word `onchain` is round
/// `round - 1`'s `C(S)`; `None` while a round's aggregate is not published yet.
pub async fn replayed_model(
    job: &JobView,
    storage: &Storage,
    round: u32,
    onchain: U256,
) -> anyhow::Result<Option<ModelBlob>> {
    let layout = job.layout()?;
    let market = *job.market.address();
    let finalized: Vec<JobMarket::RoundFinalized> =
        job.finalized_events().await?.into_iter().map(|(ev, _)| ev).collect();
    let finalized_round = |k: u32| {
        finalized
            .iter()
            .find(|ev| ev.round == U256::from(k))
            .with_context(|| format!("round {k} of job {} is not finalized", job.id))
    };
    anyhow::ensure!(
        finalized_round(round - 1)?.newModel == onchain,
        "the model word given for job {} round {round} is not round {}'s C(S)",
        job.id,
        round - 1
    );
    let mut model = match job.replayed.start(round, &finalized) {
        Some(model) => model,
        None => {
            let initial = job.created_event().await?.params.initialModel;
            let Some(model) = job.initial_model(storage, initial).await? else { return Ok(None) };
            model
        }
    };
    let domain = job.domain().await?;
    let n = job.shape.trainers;
    for k in model.round..round {
        let ev = finalized_round(k)?;
        let Some(sums) = storage.published_aggregate(market, job.id, k).await? else { return Ok(None) };
        anyhow::ensure!(
            (sums.job_id, sums.round) == (job.id, k),
            "the aggregate published for job {} round {k} is labelled job {} round {}",
            job.id,
            sums.job_id,
            sums.round
        );
        anyhow::ensure!(
            sums.values.len() == job.shape.params,
            "the aggregate published for job {} round {k} has {} values, not {}",
            job.id,
            sums.values.len(),
            job.shape.params
        );
        let inliers = slots(&ev.inlierBits, n).iter().filter(|b| **b).count();
        let committed = layout
            .commit_aggregate(domain, k, n, inliers, &sums.values)
            .with_context(|| format!("the aggregate published for job {} round {k}", job.id))?;
        anyhow::ensure!(
            to_u256(&committed) == ev.newModel,
            "the aggregate published for job {} round {k} is not the C(S) its round finalized",
            job.id
        );
        model.values = aggregate::next_model(&job.round_params(k)?, &model.values, &sums.values, inliers)?;
        model.round = k + 1;
        job.replayed.store(&model, ev.newModel);
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

/// Publishes what a proven round `round` leaves: the inliers' aggregate `S` (`sums`, which
/// everyone replays the model from) and the model round `round + 1` starts from (a convenience
/// for readers, checked against the replay). Returns the aggregate's CID. Idempotent.
pub async fn publish_outcome(
    job: &JobView,
    storage: &Storage,
    round: u32,
    sums: Vec<i64>,
    next_model: Vec<i64>,
) -> anyhow::Result<cid::Cid> {
    let market = *job.market.address();
    let aggregate = AggregateBlob { job_id: job.id, round, values: sums };
    let cid = storage.publish_aggregate(market, &aggregate).await.context("publishing the round's aggregate")?;
    let model = ModelBlob { job_id: job.id, round: round + 1, values: next_model };
    storage.publish_model(market, &model).await.context("publishing the next model")?;
    Ok(cid)
}
