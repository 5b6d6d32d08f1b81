//! Shared harness of the node's integration tests: a real anvil, the deployed stack, a small
//! job shape with keys cached under the test target directory, and seeded synthetic trainers.
#![allow(dead_code)] // each test binary uses part of the harness

pub mod cli;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use fedproof::chain::deploy::deploy_stack;
use fedproof::chain::{Chain, Stack};
use fedproof::proving::queue::Queue;
use fedproof::proving::Prover;
use fedproof::roles::aggregator::Settings;
use fedproof::roles::audit::Recompute;
use fedproof::roles::owner::{create_job, JobSpec};
use fedproof::roles::trainer::{self, UpdateSource, Upload};
use fedproof::roles::JobView;
use fedproof_prover::keys::{KeyStore, Keys};
use fedproof_prover::params::TAU_FRAC_BITS;
use fedproof_prover::shape::Shape;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokio::task::JoinHandle;

/// Trainer slots of the test shape.
pub const TRAINERS: usize = 4;
/// Model parameters of the test shape.
pub const PARAMS: usize = 16;
/// Seconds until round 0 opens after the job is created.
pub const START_DELAY: u64 = 3;
/// Submission window (seconds).
pub const SUBMIT_WINDOW: u32 = 600;
/// Finalization window (seconds).
pub const FINALIZE_WINDOW: u32 = 600;
/// Budget of a test job (wei).
pub const BUDGET: u128 = 1_000_000_000_000_000_000;
/// Aggregator bond (wei): JobMarket requires at least a round's budget.
pub const BOND: u128 = BUDGET;

/// Keys of the test shape, set up once per test binary (cached on disk across runs).
pub fn keys() -> Arc<Keys> {
    static KEYS: OnceLock<Arc<Keys>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let shape = Shape::new(TRAINERS, PARAMS).expect("shape");
        let keys = key_store().load_or_setup(shape, &mut ChaCha20Rng::seed_from_u64(1)).expect("setup");
        Arc::new(keys)
    })
    .clone()
}

/// Where [`keys`] are cached: the test shape's keys, and any other shape a test sets up.
pub fn key_store() -> KeyStore {
    KeyStore::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-test-keys"))
}

/// The NATS server with JetStream the prover-worker tests use (`NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Deletes a prover queue's stream and results bucket from the NATS server.
pub async fn delete_queue(name: &str) {
    let queue = Queue::connect(&nats_url(), name).await.expect("connect to NATS");
    queue.js.delete_stream(&queue.names.stream).await.expect("delete the stream");
    queue.js.delete_key_value(&queue.names.bucket).await.expect("delete the bucket");
}

/// A running anvil with the stack deployed and one connection per role.
pub struct Harness {
    /// The node (killed on drop).
    pub anvil: AnvilInstance,
    /// Deployer, governor and job owner.
    pub owner: Chain,
    /// The aggregator.
    pub aggregator: Chain,
    /// One connection per trainer.
    pub trainers: Vec<Chain>,
    /// Deployed contracts.
    pub stack: Stack,
    /// Blob storage (a temp dir).
    pub storage: Storage,
    /// The aggregator's sealing key (its recipient is in every test job's spec).
    pub sealing: Arc<AggregatorKey>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Spawns anvil on a free port and deploys the stack.
    pub async fn start() -> Harness {
        let anvil = Anvil::at(anvil_path()).try_spawn().expect("spawn anvil");
        let endpoint = anvil.endpoint();
        let connect = |i: usize| {
            let signer = PrivateKeySigner::from(anvil.keys()[i].clone());
            Chain::connect(&endpoint, Some(anvil.chain_id()), signer)
        };
        let owner = connect(0).await.expect("owner");
        let aggregator = connect(1).await.expect("aggregator");
        let mut trainers = Vec::new();
        for i in 0..TRAINERS {
            trainers.push(connect(2 + i).await.expect("trainer"));
        }
        let stack = deploy_stack(&owner, &keys().vk).await.expect("deploy");
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(&dir.path().to_string_lossy()).expect("storage");
        let sealing = Arc::new(AggregatorKey::generate());
        Harness { anvil, owner, aggregator, trainers, stack, storage, sealing, _dir: dir }
    }

    /// Creates a job of the test shape and returns its id.
    pub async fn create_job(&self, rounds: u32) -> u64 {
        self.create_job_with(rounds, self.stack.verifier).await
    }

    /// Creates a job of the test shape settled by `verifier` (approved) and returns its id.
    pub async fn create_job_with(&self, rounds: u32, verifier: alloy::primitives::Address) -> u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let spec = JobSpec {
            trainers: TRAINERS as u16,
            rounds,
            budget: BUDGET,
            stake: 1_000_000_000_000_000,
            bond: BOND,
            aggregator: self.aggregator.address,
            verifier,
            max_malicious: 1,
            tau: 3 << (TAU_FRAC_BITS - 1),
            lr: 64,
            lr_decay: 0,
            dup_tol: PARAMS as u32,
            start_delay: START_DELAY,
            submit_window: SUBMIT_WINDOW,
            finalize_window: FINALIZE_WINDOW,
            dispute_window: 60,
            initial_model: (0..PARAMS).map(|_| rng.gen_range(-(1 << 20)..(1 << 20))).collect(),
            architecture: "synthetic".into(),
            aggregator_recipient: self.sealing.recipient(),
            layout: None,
            recipe: None,
        };
        create_job(&self.owner, self.stack.market, &self.storage, &spec).await.expect("create job")
    }

    /// The job as `chain` sees it.
    pub async fn view(&self, chain: &Chain, job: u64) -> JobView {
        JobView::load(chain, self.stack.market, job, &self.storage).await.expect("load job")
    }

    /// The storage directory as a command-line argument.
    pub fn storage_dir(&self) -> String {
        self._dir.path().to_string_lossy().into_owned()
    }

    /// The aggregator's settings with `upload_grace`.
    pub fn aggregator_settings(&self, upload_grace: std::time::Duration) -> Settings {
        Settings { keys: keys(), sealing: self.sealing.clone(), prover: Prover::InProcess, upload_grace, chunks: None }
    }

    /// What the auditor needs to re-run rounds.
    pub fn recompute(&self) -> Recompute<'_> {
        Recompute { storage: &self.storage, key: &self.sealing }
    }

    /// Moves chain time forward and mines a block.
    pub async fn advance(&self, seconds: u64) {
        let p = &self.owner.provider;
        let _: serde_json::Value = p.raw_request("evm_increaseTime".into(), (seconds,)).await.expect("increaseTime");
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.expect("mine");
    }

    /// Number of transactions `chain`'s signer has sent.
    pub async fn nonce(&self, chain: &Chain) -> u64 {
        self.owner.provider.get_transaction_count(chain.address).await.expect("nonce")
    }

    /// Balance of an address (wei).
    pub async fn balance(&self, chain: &Chain) -> U256 {
        self.owner.provider.get_balance(chain.address).await.expect("balance")
    }
}

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
/// Its stdout and stderr go to files (a full pipe could block it).
pub struct Running {
    child: Child,
    what: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    /// Starts `cmd` with its output going to `logs/<what>.out` and `.err`.
    pub fn spawn(mut cmd: Command, what: &str, logs: &Path) -> Running {
        let (stdout, stderr) = (logs.join(format!("{what}.out")), logs.join(format!("{what}.err")));
        let file = |p: &Path| std::fs::File::create(p).expect("log file");
        let child = cmd.stdout(file(&stdout)).stderr(file(&stderr)).spawn().expect("spawn fedproof");
        Running { child, what: what.to_string(), stdout, stderr }
    }

    /// What it has printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The JSON lines it has printed on stdout so far.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let out = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        out.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    /// Kills it with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Its exit status if it has exited (reaped), `None` while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends it SIGTERM, as systemd, Docker and Kubernetes stop a service (by the `kill`
    /// command: the node forbids unsafe code, and std sends only SIGKILL).
    pub fn terminate(&self) {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits up to `limit` for the process to exit, so a hang fails instead of stalling CI.
    pub fn wait_for_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit: {}", self.what, self.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the process to exit (bounded) and parses the JSON it printed.
    pub fn finish(mut self) -> serde_json::Value {
        let status = self.wait_for_exit(Duration::from_secs(900));
        assert!(status.success(), "{} failed: {}", self.what, self.stderr());
        let out = std::fs::read(&self.stdout).expect("stdout");
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{} printed no JSON ({e})", self.what))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `fedproof` binary with `args`, signing with `key` (never a keystore).
pub fn fedproof<S: AsRef<std::ffi::OsStr>>(args: &[S], key: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fedproof"));
    cmd.args(args).env("FEDPROOF_PRIVATE_KEY", key).env_remove("FEDPROOF_KEYSTORE_PASSWORD");
    cmd
}

/// Where a job is posted from the command line, and to whom.
pub struct CliJob<'a> {
    /// RPC URL.
    pub rpc: &'a str,
    /// JobMarket address.
    pub market: &'a str,
    /// Blob storage.
    pub storage: &'a str,
    /// The aggregator's address.
    pub aggregator: &'a str,
    /// The aggregator's age recipient.
    pub recipient: &'a str,
    /// An approved verifier.
    pub verifier: &'a str,
}

impl CliJob<'_> {
    /// `fedproof owner create-job` for 4 trainers with `budget` wei, then `extra` arguments.
    pub fn create_args(&self, budget: &str, extra: &[&str]) -> Vec<String> {
        let base = [
            "owner",
            "create-job",
            "--rpc",
            self.rpc,
            "--market",
            self.market,
            "--storage",
            self.storage,
            "--aggregator",
            self.aggregator,
            "--aggregator-recipient",
            self.recipient,
            "--verifier",
            self.verifier,
            "--trainers",
            "4",
            "--budget",
            budget,
        ];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    }
}

/// anvil from the npm toolchain in `contracts/node_modules`.
pub fn anvil_path() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/node_modules/.bin/anvil");
    fedproof_contracts::anvil::native_anvil(&script)
}

/// A seeded synthetic trainer: honest updates are a shared direction plus small noise; a
/// malicious one sends the direction reversed and amplified.
pub struct Synthetic {
    direction: Vec<f64>,
    rng: ChaCha20Rng,
    malicious: bool,
}

impl Synthetic {
    /// Trainer `index` of a job (all trainers share the direction seed).
    pub fn new(index: usize, malicious: bool) -> Self {
        let mut shared = ChaCha20Rng::seed_from_u64(42);
        let direction = (0..PARAMS).map(|_| shared.gen_range(-40.0..40.0)).collect();
        Synthetic { direction, rng: ChaCha20Rng::seed_from_u64(100 + index as u64), malicious }
    }
}

impl UpdateSource for Synthetic {
    fn update(&mut self, _round: u32, model: &[i64]) -> anyhow::Result<Vec<i64>> {
        anyhow::ensure!(model.len() == PARAMS, "model has {} values", model.len());
        let clamp = |x: f64| x.round().clamp(-127.0, 127.0) as i64;
        Ok(if self.malicious {
            self.direction.iter().map(|x| clamp(-3.0 * x)).collect()
        } else {
            self.direction.iter().map(|x| clamp(x + self.rng.gen_range(-10.0..10.0))).collect()
        })
    }
}

/// Joins every trainer and starts their loops; `uploads[i]` says what trainer i uploads, and
/// `malicious` trainers send a reversed update.
pub async fn start_trainers(
    h: &Harness,
    job: u64,
    uploads: &[Upload],
    malicious: &[usize],
) -> Vec<JoinHandle<anyhow::Result<usize>>> {
    let mut handles = Vec::new();
    for (i, chain) in h.trainers.iter().enumerate() {
        let view = h.view(chain, job).await;
        trainer::join(&view, &h.storage).await.expect("join");
        let storage = h.storage.clone();
        let upload = uploads[i];
        let bad = malicious.contains(&i);
        handles.push(tokio::spawn(async move {
            let mut source = Synthetic::new(i, bad);
            Ok(trainer::run(&view, &storage, None, &mut source, upload).await?.len())
        }));
    }
    handles
}

pub async fn finish(trainers: Vec<JoinHandle<anyhow::Result<usize>>>) -> Vec<usize> {
    let mut counts = Vec::new();
    for t in trainers {
        counts.push(t.await.expect("trainer task").expect("trainer"));
    }
    counts
}
