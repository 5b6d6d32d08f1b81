//! `fedproof prover export --chunk D`: the verifiers and a proof fixture of a seeded synthetic
//! chunked round, for the contracts' tests of chunked settlement and challenges: the final
//! proof's verifier and the chunk proof's, the final proof with its public inputs, and every
//! chunk's digest, path in the digest tree and proof.

use anyhow::Context;
use fedproof_prover::chunk::constraints::ChunkWitness;
use fedproof_prover::chunked::{self, tree};
use fedproof_prover::commitment;
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::export::{field::to_decimal, solidity};
use fedproof_prover::keys::Circuit;
use fedproof_prover::snark;
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::export::{seeded_witness, write, ExportArgs, RoundFixture};

/// The chunked round's fixture: `round.json`'s keys, where the public inputs and proof are the
/// final proof's, plus the chunks'.
#[derive(Serialize)]
struct ChunkedFixture {
    #[serde(flatten)]
    round: RoundFixture,
    chunk_params: usize,
    chunks: usize,
    depth: usize,
    digest: String,
    /// Chunk c's digest, its proof's one public input.
    chunk_digests: Vec<String>,
    /// Chunk c's `depth` sibling hashes, bottom first, at `[c * depth, (c + 1) * depth)`.
    chunk_paths: Vec<String>,
    /// Chunk c's proof words at `[8c, 8c + 8)` (0 for a chunk not in `--proven-chunks`).
    chunk_proofs: Vec<String>,
}

/// Proves every chunk and the final proof of the seeded round (checking each) and writes the
/// two verifiers and `round.json`.
pub fn export(args: &ExportArgs, chunk_params: usize) -> anyhow::Result<()> {
    let (store, shape) = (args.keys.store(), args.shape.shape()?);
    anyhow::ensure!(args.unavailable.is_empty() && !args.chained, "--chunk takes neither --unavailable nor --chained");
    let witness = seeded_witness(shape, args, args.round, None)?;
    let model = commitment::commit_model(witness.input.params.job_id, args.round, &witness.input.model)?;
    let round = chunked::split(witness.input, chunk_params)?;
    let (k, depth) = (round.chunking.count(), tree::depth(round.chunking.count()));
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed);

    let chunk_keys =
        store.load_or_setup(Circuit::Chunk { trainers: shape.trainers, params: chunk_params }, &mut OsRng)?;
    let (mut chunk_digests, mut chunk_paths, mut chunk_proofs) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(c) = args.proven_chunks.iter().find(|&&c| c >= k) {
        anyhow::bail!("--proven-chunks names chunk {c}, but the round has {k} chunks (0..{k})");
    }
    for (c, (input, public)) in round.chunks.iter().zip(&round.witness.chunks).enumerate() {
        let (digest, path) = chunked::opening(&round.witness.chunks, c).context("a chunk past the last")?;
        chunk_digests.push(to_decimal(&digest));
        chunk_paths.extend(path.iter().map(to_decimal));
        if !args.proven_chunks.is_empty() && !args.proven_chunks.contains(&c) {
            chunk_proofs.extend(std::iter::repeat_n("0".to_owned(), 8));
            continue;
        }
        let proof =
            snark::prove_chunk(&chunk_keys.pk, ChunkWitness { input: input.clone(), public: public.clone() }, &mut rng)
                .with_context(|| format!("proving chunk {c}"))?;
        anyhow::ensure!(
            snark::verify_inputs(&chunk_keys.vk, &public.to_vec(), &proof)?,
            "chunk {c}'s proof does not verify"
        );
        chunk_proofs.extend(SolidityCalldata::new(&proof, &[digest]).proof_words().iter().map(|w| w.to_decimal()));
    }

    let final_keys = store.load_or_setup(Circuit::Final { shape, chunks: k }, &mut OsRng)?;
    let public = round.witness.public.clone();
    let (inputs, order) = (public.to_vec(), round.witness.input.order.clone());
    let (output, presence) = (round.witness.output.clone(), round.witness.input.presence());
    let proof = snark::prove_final(&final_keys.pk, round.witness, &mut rng)?;
    anyhow::ensure!(snark::verify_inputs(&final_keys.vk, &inputs, &proof)?, "the final proof does not verify");

    let round_fixture = RoundFixture::proven(args, shape, &public, output, order, presence, model, &proof);
    let fixture = ChunkedFixture {
        round: round_fixture,
        chunk_params,
        chunks: k,
        depth,
        digest: to_decimal(&public.digest),
        chunk_digests,
        chunk_paths,
        chunk_proofs,
    };
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let chunk_contract = format!("{}Chunk", args.contract);
    write(out, &format!("{}.sol", args.contract), solidity::render_verifier(&final_keys.vk, &args.contract)?)?;
    write(out, &format!("{chunk_contract}.sol"), solidity::render_verifier(&chunk_keys.vk, &chunk_contract)?)?;
    write(out, "round.json", serde_json::to_string_pretty(&fixture)?)?;
    let summary = serde_json::json!({
        "out": out, "contract": args.contract, "chunk_contract": chunk_contract,
        "chunks": k, "public_inputs": inputs.len(),
    });
    args.output.print(&summary, || {
        format!("fixture of chunked round {} ({k} chunks) written to {}", args.round, out.display())
    })
}
