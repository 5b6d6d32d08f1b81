//! The aggregator's side of a chunked round: prove every chunk and the final proof, publish the
//! round's record (the aggregate `S`, every chunk's digest and proof) and the next model, build
//! the finalization that carries `C(S)` and `H`, and answer a challenged chunk from the record.

use std::sync::Arc;

use alloy::primitives::U256;
use anyhow::Context;
use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use fedproof_contracts::JobMarket;
use fedproof_prover::chunk::ChunkPublic;
use fedproof_prover::chunked::{self, aggregate, tree, ChunkedRound, Chunking, FinalWitness};
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::keys::Keys;
use fedproof_prover::round::public_inputs::pack_scores;
use fedproof_prover::round::RoundInput;
use fedproof_prover::snark;
use fedproof_storage::{ChunkedRoundBlob, Storage};
use fedproof_web_api::format::bitmap;

use crate::chain::words::{from_word, to_fr, to_u256};
use crate::proving::task::FinalTask;
use crate::proving::{Prover, Task};
use crate::roles::job::JobView;
use crate::roles::replay::publish_outcome;

/// Who proves a chunked job's chunks (the final proof is proven with the aggregator's
/// `Settings::keys` and `Settings::prover`).
#[derive(Clone)]
pub struct ChunkProving {
    /// The chunk circuit's keys.
    pub keys: Arc<Keys>,
    /// This process, or prover workers with the chunk circuit's key.
    pub prover: Prover,
}

/// A proven chunked round, ready to publish and finalize.
pub struct ProvenRound {
    /// The round, split.
    pub round: ChunkedRound,
    /// Each chunk's proof, in chunk order.
    pub chunk_proofs: Vec<Proof<Bn254>>,
    /// The final proof.
    pub proof: Proof<Bn254>,
    /// Seconds of proving, summed over the chunks and the final proof.
    pub prove_seconds: f64,
}

/// Splits the round, proves every chunk with `chunks` and the final proof with `final_keys` and
/// `final_prover`, and checks every proof off-chain before anything is published.
pub async fn prove(
    storage: &Storage,
    chunking: Chunking,
    input: RoundInput,
    unavailable: &[(usize, U256)],
    chunks: &ChunkProving,
    (final_keys, final_prover): (&Arc<Keys>, &Prover),
) -> anyhow::Result<ProvenRound> {
    let patched: Vec<(usize, Fr)> = unavailable.iter().map(|(s, c)| (*s, to_fr(*c))).collect();
    let round = chunked::split_with_unavailable(input.clone(), chunking.chunk_params, &patched)
        .context("splitting the round into chunks")?;
    let tasks: Vec<Task> = round.chunks.iter().cloned().map(Task::Chunk).collect();
    let proven = chunks.prover.prove_tasks(&chunks.keys, storage, &tasks).await?;
    let mut prove_seconds = 0.0;
    let mut chunk_proofs = Vec::with_capacity(proven.len());
    for (c, (proof, seconds)) in proven.into_iter().enumerate() {
        let public = round.witness.chunks[c].to_vec();
        anyhow::ensure!(snark::verify_inputs(&chunks.keys.vk, &public, &proof)?, "chunk {c}'s proof does not verify");
        prove_seconds += seconds;
        chunk_proofs.push(proof);
    }
    let task = Task::Final(FinalTask { input, chunk_params: chunking.chunk_params, unavailable: unavailable.to_vec() });
    let (proof, seconds) = final_prover.prove_tasks(final_keys, storage, &[task]).await?.remove(0);
    let public = round.witness.public.to_vec();
    anyhow::ensure!(snark::verify_inputs(&final_keys.vk, &public, &proof)?, "the final proof does not verify");
    Ok(ProvenRound { round, chunk_proofs, proof, prove_seconds: prove_seconds + seconds })
}

/// Publishes a proven round: its aggregate `S` and the next model ([`publish_outcome`]), then
/// its record (digests and proofs). Idempotent, so a restarted aggregator publishes the same blobs.
pub async fn publish(job: &JobView, storage: &Storage, proven: &ProvenRound) -> anyhow::Result<()> {
    let w = &proven.round.witness;
    let round = w.input.params.round;
    let sums = aggregate::sums(w.input.shape.params, &w.input.updates, &w.output.inliers);
    let cid = publish_outcome(job, storage, round, sums, w.output.new_model.clone()).await?;
    let record = ChunkedRoundBlob {
        job_id: job.id,
        round,
        aggregate: cid.to_string(),
        digests: w.chunks.iter().map(|c| word(&to_u256(&c.digest()))).collect(),
        proofs: w
            .chunks
            .iter()
            .zip(&proven.chunk_proofs)
            .map(|(c, proof)| proof_words(proof, c.digest()).iter().map(word).collect())
            .collect(),
    };
    storage.publish_chunked_round(*job.market.address(), &record).await.context("publishing the round's record")?;
    Ok(())
}

/// The finalization of a chunked round from its final proof's witness and proof, with the slots
/// declared unavailable as `unavailable_bits`.
pub fn finalization(witness: &FinalWitness, proof: &Proof<Bn254>, unavailable_bits: U256) -> JobMarket::Finalization {
    let public = &witness.public;
    let words = SolidityCalldata::new(proof, &public.to_vec()).proof_words();
    JobMarket::Finalization {
        newModel: to_u256(&public.aggregate),
        digest: to_u256(&public.digest),
        inlierBits: bitmap(witness.output.inliers.iter().copied()),
        unavailableBits: unavailable_bits,
        aggregateNormSq: u128::from(witness.output.aggregate_norm_sq),
        scoreWords: pack_scores(&witness.output.scores).iter().map(to_u256).collect(),
        proof: words.map(|w| from_word(&w)),
    }
}

/// A chunk proof as the eight words `answerChunk` takes.
pub fn proof_words(proof: &Proof<Bn254>, digest: Fr) -> [U256; 8] {
    SolidityCalldata::new(proof, &[digest]).proof_words().map(|w| from_word(&w))
}

/// The answer to a challenge of chunk `index` of a round whose chunk digests are `leaves`
/// (`None` past the last chunk): the round's H, the chunk's digest, its path and its proof.
pub fn answer(leaves: &[Fr], index: usize, finalized_at: u64, proof: [U256; 8]) -> Option<JobMarket::ChunkAnswer> {
    let digest = *leaves.get(index)?;
    Some(JobMarket::ChunkAnswer {
        digest: to_u256(&tree::root(leaves)),
        finalizedAt: alloy::primitives::Uint::<40, 1>::from(finalized_at),
        chunkDigest: to_u256(&digest),
        siblings: tree::path(leaves, index).iter().map(to_u256).collect(),
        proof,
    })
}

/// `H` of the round whose chunks are `chunks`, as `challengeChunk` and `refuteRound` take it.
pub fn digest_word(chunks: &[ChunkPublic]) -> U256 {
    to_u256(&chunked::digest(chunks))
}

/// What a chunked round's record says, parsed: every chunk's digest and proof words.
#[derive(Debug, Clone)]
pub struct Published {
    /// The digests, in chunk order.
    pub digests: Vec<Fr>,
    /// The proofs as `answerChunk` takes them, in chunk order.
    pub proofs: Vec<[U256; 8]>,
}

impl Published {
    /// Parses a record; an error names the field that is not a word.
    pub fn parse(record: &ChunkedRoundBlob) -> anyhow::Result<Self> {
        let parse = |text: &String, what: &str| -> anyhow::Result<U256> {
            text.parse::<U256>().with_context(|| {
                format!("the record of job {} round {}: {what} {text:?} is not a word", record.job_id, record.round)
            })
        };
        let digests = record.digests.iter().map(|d| parse(d, "digest").map(to_fr)).collect::<anyhow::Result<_>>()?;
        let proofs = record
            .proofs
            .iter()
            .enumerate()
            .map(|(c, words)| {
                let words: Vec<U256> = words.iter().map(|w| parse(w, "proof word")).collect::<anyhow::Result<_>>()?;
                <[U256; 8]>::try_from(words).map_err(|w| {
                    anyhow::anyhow!(
                        "the record of job {} round {}: chunk {c}'s proof has {} words, not 8",
                        record.job_id,
                        record.round,
                        w.len()
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Published { digests, proofs })
    }
}

fn word(value: &U256) -> String {
    fedproof_web_api::format::word(value)
}
