//! `fedproof prover export`: the verifier contract, snarkjs files and a proof fixture of a seeded
//! synthetic round, for third parties and the contracts' tests.

use std::fs;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::Context;
use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use clap::Args;
use fedproof_prover::commitment;
use fedproof_prover::domain::{roster_hash, JobDomain};
use fedproof_prover::export::calldata::{verifier_constructor_args, SolidityCalldata};
use fedproof_prover::export::{field::to_decimal, snarkjs, solidity};
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::{PublicInputs, RoundOutput, RoundWitness};
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::rngs::OsRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::commands::args::{KeysArgs, OutputArgs, ShapeArgs};

/// Options of `fedproof prover export`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub(super) shape: ShapeArgs,
    #[command(flatten)]
    pub(super) keys: KeysArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    /// Output directory.
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Name of the Solidity verifier contract (and its file).
    #[arg(long, default_value = "RoundVerifier")]
    pub(super) contract: String,
    /// Planted malicious updates in the fixture round.
    #[arg(long, default_value_t = 1)]
    pub(super) malicious: usize,
    /// Seed of the fixture round and its proof randomness.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Job id of the fixture round.
    #[arg(long, default_value_t = 1)]
    pub(super) job: u64,
    /// Round number of the fixture round.
    #[arg(long, default_value_t = 0)]
    pub(super) round: u32,
    /// Slots that submitted a commitment but are declared unavailable (comma-separated): their
    /// commitment stays in the public inputs, their presence bit is 0.
    #[arg(long, value_delimiter = ',')]
    pub(super) unavailable: Vec<usize>,
    /// Start from the model that rounds 0..round-1 of the same seeded job produce (with the same
    /// --unavailable slots) instead of the seed's initial model, so that the fixtures of
    /// consecutive rounds chain as on chain: round r starts from the model rounds 0..r-1 left.
    #[arg(long)]
    pub(super) chained: bool,
    /// Cut the round into chunks of this many parameters: export the final proof's verifier
    /// (`--contract`), the chunk proof's (`--contract` + `Chunk`) and a fixture with every
    /// chunk's digest, path and proof (prover/src/chunked).
    #[arg(long)]
    pub(super) chunk: Option<usize>,
    /// With --chunk, prove only these chunks (comma-separated; default every chunk); the
    /// fixture's proof words of the others are 0. A settlement needs no chunk proof, so a gas
    /// fixture of a large round proves one.
    #[arg(long, value_delimiter = ',', requires = "chunk")]
    pub(super) proven_chunks: Vec<usize>,
    /// Chain id of the fixture's domain (forge's default chain is 31337).
    #[arg(long, default_value_t = 31337)]
    pub(super) chain_id: u64,
    /// Market address of the fixture's domain: where the forge tests deploy the JobMarket that
    /// settles fixture proofs (test/utils/MarketBase.sol's FIXTURE_MARKET).
    #[arg(long, default_value = FIXTURE_MARKET)]
    pub(super) market: Address,
    /// Slot owners of the fixture's domain, in slot order (default: the forge tests' trainers
    /// 0x…7000 + i for slot i).
    #[arg(long, value_delimiter = ',')]
    pub(super) roster: Vec<Address>,
}

/// Where the forge tests' market is (test/utils/MarketBase.sol's FIXTURE_MARKET): the address a
/// test contract at forge's default 0x7FA9…1496 gives the second contract it deploys (the registry
/// first, then the market).
pub const FIXTURE_MARKET: &str = "0x2e234DAe75C793f67A35089C9d99245E1C58470b";

/// Everything a contract test needs about the fixture round, as decimal strings.
#[derive(Serialize)]
pub(super) struct RoundFixture {
    pub(super) trainers: usize,
    pub(super) params: usize,
    pub(super) job_id: u64,
    pub(super) round: u32,
    pub(super) context: String,
    pub(super) chain_id: u64,
    pub(super) market: Address,
    pub(super) roster: Vec<Address>,
    pub(super) domain: String,
    /// Submission rank per slot (1 = first).
    pub(super) order: Vec<u16>,
    pub(super) aggregate_norm_sq: u64,
    /// C(w) of the model the round starts from (a test job's `initialModel`).
    pub(super) model_commitment: String,
    /// C(S), what the finalization passes as `newModel`.
    pub(super) aggregate_commitment: String,
    pub(super) update_commitments: Vec<String>,
    /// Slots that committed and are not declared unavailable.
    pub(super) presence: Vec<bool>,
    /// Slots that committed but are declared unavailable (the flags' first bits).
    pub(super) unavailable: Vec<bool>,
    pub(super) inliers: Vec<bool>,
    pub(super) scores: Vec<u64>,
    /// The flags words, one per 64 slots.
    pub(super) flags: Vec<String>,
    pub(super) public_inputs: Vec<String>,
    pub(super) proof: Vec<String>,
}

impl ExportArgs {
    /// Proves the fixture round and writes every file.
    pub fn run(self) -> anyhow::Result<()> {
        match self.chunk {
            Some(chunk_params) => super::chunked_fixture::export(&self, chunk_params),
            None => export(&self),
        }
    }
}

impl RoundFixture {
    /// The fixture of round `args.round` of the seeded job: its statement `public`, the
    /// reference's `output`, the model it starts from (`model`, its commitment) and `proof`.
    #[allow(clippy::too_many_arguments)] // the round's parts, each from the caller's own witness
    pub(super) fn proven(
        args: &ExportArgs,
        shape: Shape,
        public: &PublicInputs,
        output: RoundOutput,
        order: Vec<u16>,
        presence: Vec<bool>,
        model: Fr,
        proof: &Proof<Bn254>,
    ) -> Self {
        let inputs = public.to_vec();
        RoundFixture {
            trainers: shape.trainers,
            params: shape.params,
            job_id: args.job,
            round: args.round,
            context: to_decimal(&public.context),
            chain_id: args.chain_id,
            market: args.market,
            roster: roster(args, shape),
            domain: to_decimal(&public.domain),
            order,
            aggregate_norm_sq: output.aggregate_norm_sq,
            model_commitment: to_decimal(&model),
            aggregate_commitment: to_decimal(&public.aggregate),
            update_commitments: public.updates.iter().map(to_decimal).collect(),
            presence,
            unavailable: public.flags(shape.trainers).unavailable,
            inliers: output.inliers,
            scores: output.scores,
            flags: public.flags.iter().map(to_decimal).collect(),
            public_inputs: inputs.iter().map(to_decimal).collect(),
            proof: SolidityCalldata::new(proof, &inputs).proof_words().iter().map(|w| w.to_decimal()).collect(),
        }
    }
}

/// Proves the fixture round (checking the proof) and writes the files.
fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let (store, shape) = (args.keys.store(), args.shape.shape()?);
    anyhow::ensure!(args.malicious < shape.trainers, "--malicious must be below --trainers ({})", shape.trainers);
    anyhow::ensure!(
        args.roster.is_empty() || args.roster.len() == shape.trainers,
        "--roster names {} slot owners for {} slots",
        args.roster.len(),
        shape.trainers
    );
    if let Some(slot) = args.unavailable.iter().find(|&&s| s >= shape.trainers) {
        anyhow::bail!("--unavailable slot {slot} does not exist (slots are 0..{})", shape.trainers);
    }
    let keys = store.load_or_setup(shape, &mut OsRng)?;
    let mut model = None;
    if args.chained {
        for round in 0..args.round {
            model = Some(seeded_witness(shape, args, round, model)?.output.new_model);
        }
    }
    let witness = seeded_witness(shape, args, args.round, model)?;
    let starting_model = witness.input.model.clone();
    let inputs = witness.public.to_vec();
    let fixture_base = (witness.input.params, witness.input.presence(), witness.output.clone(), witness.public.clone());
    let order = witness.input.order.clone();
    let proof = snark::prove(&keys.pk, witness, &mut rand_chacha::ChaCha20Rng::seed_from_u64(args.seed))?;
    anyhow::ensure!(snark::verify_inputs(&keys.vk, &inputs, &proof)?, "the exported proof does not verify");

    let (params, presence, output, public) = fixture_base;
    let model_commitment = commitment::commit_model(params.job_id, params.round, &starting_model)?;
    let calldata = SolidityCalldata::new(&proof, &inputs);
    let fixture = RoundFixture::proven(args, shape, &public, output, order, presence, model_commitment, &proof);
    let out = &args.out;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write(out, &format!("{}.sol", args.contract), solidity::render_verifier(&keys.vk, &args.contract)?)?;
    write(out, "verifier_args.json", serde_json::to_string_pretty(&verifier_constructor_args(&keys.vk)?)?)?;
    write(out, "verification_key.json", snarkjs::verifying_key_to_json(&keys.vk)?)?;
    write(out, "proof.json", snarkjs::proof_to_json(&proof)?)?;
    write(out, "public.json", snarkjs::public_to_json(&inputs)?)?;
    write(out, "calldata.txt", calldata.to_snarkjs_string())?;
    write(out, "round.json", serde_json::to_string_pretty(&fixture)?)?;
    let summary = serde_json::json!({ "out": out, "contract": args.contract, "public_inputs": inputs.len() });
    args.output.print(&summary, || format!("fixture of round {} written to {}", args.round, out.display()))
}

/// The witness of round `round` of the seeded synthetic job (starting from `model` if given),
/// with the --unavailable slots' updates withheld but their commitments kept as submitted.
pub(super) fn seeded_witness(
    shape: Shape,
    args: &ExportArgs,
    round: u32,
    model: Option<Vec<i64>>,
) -> anyhow::Result<RoundWitness> {
    let mut input = synthetic(shape, args.malicious, args.seed).input;
    input.params.job_id = args.job;
    let roster: Vec<[u8; 20]> = roster(args, shape).iter().map(|a| a.0 .0).collect();
    input.domain = JobDomain {
        chain_id: args.chain_id,
        market: args.market.0 .0,
        job_id: args.job,
        roster_hash: roster_hash(&roster),
    }
    .value();
    input.params.round = round;
    if let Some(model) = model {
        input.model = model;
    }
    let submitted = input.update_commitments();
    for &slot in &args.unavailable {
        input.updates[slot] = None;
    }
    let unavailable: Vec<(usize, Fr)> = args.unavailable.iter().map(|&slot| (slot, submitted[slot])).collect();
    Ok(RoundWitness::with_unavailable(input, &unavailable)?)
}

/// The fixture's slot owners: --roster, or the forge tests' trainers 0x…7000 + i.
pub(super) fn roster(args: &ExportArgs, shape: Shape) -> Vec<Address> {
    if !args.roster.is_empty() {
        return args.roster.clone();
    }
    (0..shape.trainers).map(|i| Address::left_padding_from(&(0x7000u32 + i as u32).to_be_bytes())).collect()
}

pub(super) fn write(dir: &Path, name: &str, contents: String) -> anyhow::Result<()> {
    let path = dir.join(name);
    fs::write(&path, contents + "\n").with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
