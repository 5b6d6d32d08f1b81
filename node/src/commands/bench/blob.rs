//! `fedproof bench blob`: what one update blob of a big model costs each side, phase by phase.
//! The trainer encodes (safetensors), commits (Poseidon) and seals (age) a seeded update; the
//! aggregator (and the intake, and an auditor) reads it back from a blob store on disk (CID
//! checked), opens it, decodes it and checks it against the commitment (`check_update`, which
//! recommits). Issue target: reading, decoding and committing a 1M-parameter update ≤ 1 s.

use std::time::Instant;

use anyhow::Context;
use ark_bn254::Fr;
use clap::Args;
use fedproof_prover::commitment::commit_update;
use fedproof_prover::export::field::to_word;
use fedproof_storage::sealed::{self, AggregatorKey};
use fedproof_storage::{blob_ref_of, check_update, SlotCommitment, Storage, UpdateBlob};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::commands::args::{OutputArgs, ReportArgs};

/// Target of the read path (read + open + decode + check), in seconds.
const READ_TARGET_SECONDS: f64 = 1.0;

/// Options of `fedproof bench blob`.
#[derive(Args)]
pub struct BlobArgs {
    /// Parameters of the update.
    #[arg(long, default_value_t = 1_000_000)]
    params: usize,
    /// Times each phase runs; the report gives the median.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Seed of the update's values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Median seconds of each phase.
#[derive(Debug, Default, Clone, Serialize)]
struct Phases {
    /// Trainer: the update into blob bytes (safetensors).
    encode: f64,
    /// Trainer: the Poseidon commitment it submits on-chain.
    commit: f64,
    /// Trainer: sealing the blob to the aggregator (age X25519).
    seal: f64,
    /// Aggregator: fetching the sealed blob from the store, its CID checked.
    read: f64,
    /// Aggregator: opening the seal.
    open: f64,
    /// Aggregator: the blob bytes into values.
    decode: f64,
    /// Aggregator: `check_update` (job, round, slot, length, range and the recomputed commitment).
    check: f64,
}

/// The benchmark's report.
#[derive(Debug, Serialize)]
struct BlobReport {
    params: usize,
    repeats: usize,
    /// Plaintext blob bytes (safetensors), sealed bytes, and what a JSON integer array took.
    blob_bytes: usize,
    sealed_bytes: usize,
    json_bytes: usize,
    phases: Phases,
    /// encode + commit + seal.
    trainer_seconds: f64,
    /// read + open + decode + check.
    read_path_seconds: f64,
    read_path_target_seconds: f64,
    read_path_target_met: bool,
}

impl BlobArgs {
    /// Runs the benchmark and prints (and writes) its report.
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(self.params > 0, "--params must be at least 1");
        anyhow::ensure!(self.repeats > 0, "--repeats must be at least 1");
        let report = crate::commands::block_on(self.measure())?;
        self.output.print(&report, || table(&report))?;
        self.report.write(&report)
    }

    async fn measure(&self) -> anyhow::Result<BlobReport> {
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed);
        let values: Vec<i64> = (0..self.params).map(|_| rng.gen_range(-128..=127)).collect();
        let update = UpdateBlob { job_id: 1, round: 3, slot: 5, values };
        let domain = Fr::from(self.seed);
        let key = AggregatorKey::generate();
        let dir = tempfile::tempdir()?;
        let storage = Storage::open(dir.path().to_str().context("temp dir path is not UTF-8")?)?;

        let mut runs = Vec::with_capacity(self.repeats);
        let mut sizes = (0, 0);
        for _ in 0..self.repeats {
            let (phases, blob_bytes, sealed_bytes) = one_run(&update, domain, &key, &storage).await?;
            runs.push(phases);
            sizes = (blob_bytes, sealed_bytes);
        }
        let phases = median(&runs);
        let trainer_seconds = phases.encode + phases.commit + phases.seal;
        let read_path_seconds = phases.read + phases.open + phases.decode + phases.check;
        Ok(BlobReport {
            params: self.params,
            repeats: self.repeats,
            blob_bytes: sizes.0,
            sealed_bytes: sizes.1,
            json_bytes: serde_json::to_vec(&update.values)?.len(),
            phases,
            trainer_seconds,
            read_path_seconds,
            read_path_target_seconds: READ_TARGET_SECONDS,
            read_path_target_met: read_path_seconds <= READ_TARGET_SECONDS,
        })
    }
}

/// One pass of both sides; returns the phases and the plaintext and sealed sizes.
async fn one_run(
    update: &UpdateBlob,
    domain: Fr,
    key: &AggregatorKey,
    storage: &Storage,
) -> anyhow::Result<(Phases, usize, usize)> {
    let mut phases = Phases::default();
    let bytes = timed(&mut phases.encode, || update.encode());
    let commitment =
        timed(&mut phases.commit, || commit_update(domain, update.round, update.slot as usize, &update.values))?;
    let sealed = timed(&mut phases.seal, || sealed::seal(&key.recipient(), &bytes))?;
    let (blob_bytes, sealed_bytes) = (bytes.len(), sealed.len());
    let blob_ref = blob_ref_of(&sealed);
    let cid = storage.put_sealed(sealed).await?;

    let start = Instant::now();
    let fetched = storage.blobs().get(&cid).await?;
    phases.read = start.elapsed().as_secs_f64();
    let plain = timed(&mut phases.open, || sealed::open(key, &fetched))?;
    let decoded = timed(&mut phases.decode, || UpdateBlob::decode(&plain))?;
    let expected = SlotCommitment {
        job_id: update.job_id,
        domain: to_word(&domain).into(),
        round: update.round,
        slot: update.slot,
        params: update.values.len(),
        chunks: 0,
        commitment: to_word(&commitment).into(),
    };
    timed(&mut phases.check, || check_update(&decoded, &expected))?;
    anyhow::ensure!(blob_ref.as_slice() == cid.hash().digest(), "the stored blob's CID is not its blobRef");
    Ok((phases, blob_bytes, sealed_bytes))
}

/// Runs `f`, adding its wall time in seconds to `seconds`.
fn timed<T>(seconds: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    *seconds += start.elapsed().as_secs_f64();
    out
}

/// The per-phase median of the runs.
fn median(runs: &[Phases]) -> Phases {
    let of = |get: fn(&Phases) -> f64| {
        let mut xs: Vec<f64> = runs.iter().map(get).collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    Phases {
        encode: of(|p| p.encode),
        commit: of(|p| p.commit),
        seal: of(|p| p.seal),
        read: of(|p| p.read),
        open: of(|p| p.open),
        decode: of(|p| p.decode),
        check: of(|p| p.check),
    }
}

fn table(r: &BlobReport) -> String {
    let ms = |s: f64| format!("{:>9.1} ms", s * 1e3);
    let p = &r.phases;
    let mb = |b: usize| format!("{:.2} MB", b as f64 / 1e6);
    [
        format!("update blob of {} parameters (median of {} runs)", r.params, r.repeats),
        format!(
            "  sizes     blob {}  sealed {}  (JSON array: {})",
            mb(r.blob_bytes),
            mb(r.sealed_bytes),
            mb(r.json_bytes)
        ),
        format!("  trainer   encode {}  commit {}  seal {}", ms(p.encode), ms(p.commit), ms(p.seal)),
        format!("  read path read {}  open {}  decode {}  check {}", ms(p.read), ms(p.open), ms(p.decode), ms(p.check)),
        format!(
            "  read path total {} (target ≤ {} ms: {})",
            ms(r.read_path_seconds),
            r.read_path_target_seconds * 1e3,
            if r.read_path_target_met { "met" } else { "NOT met" }
        ),
    ]
    .join("\n")
}
