//! Kill -9 anywhere: a whole 2-round job through the `fedproof` binary (deploy, `serve` as the
//! aggregator's intake and indexer, `aggregator run`, four `trainer run --api`), while the
//! aggregator and the server are SIGKILLed at seeded points of their work and restarted with
//! the same arguments. Each life of a process is started with `FEDPROOF_PAUSE_AT` naming the
//! point where it stops (`fedproof_web_api::pause`): between proving and sending
//! `finalizeRound`, after sending and before the receipt, between an upload's blob and its row,
//! after its row and before the answer, inside an indexer transaction. Then: the job settles,
//! every round is settled once, every receipt a trainer kept is an upload row with the same
//! signature and a stored blob, and the server's database equals a fresh index of the chain.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::cli::{json, path, CliStack};
use common::{fedproof, Running};
use fedproof_contracts::JobMarket;
use rand::seq::SliceRandom as _;
use rand::SeedableRng;
use sqlx::Row;

const TRAINERS: usize = 4;
const ROUNDS: u32 = 2;
/// The kills the schedule must reach across the job.
const MIN_KILLS: usize = 20;

/// A process the test kills at its scheduled points and starts again: its arguments, its key,
/// and the points left for its next lives.
struct Victim {
    name: &'static str,
    args: Vec<String>,
    key: String,
    env: Vec<(String, String)>,
    points: Vec<String>,
    life: usize,
    running: Option<(Running, Option<String>)>,
    kills: Vec<String>,
}

impl Victim {
    /// A process with no life yet.
    fn new(name: &'static str, args: Vec<String>, key: String, points: Vec<String>) -> Self {
        Victim { name, args, key, env: Vec::new(), points, life: 0, running: None, kills: Vec::new() }
    }

    /// Starts its next life, paused at its next scheduled point (if any remains).
    fn start(&mut self, logs: &Path) {
        let point = (!self.points.is_empty()).then(|| self.points.remove(0));
        let mut cmd = fedproof(&self.args, &self.key);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(p) = &point {
            cmd.env(fedproof_web_api::pause::PAUSE_AT_ENV, p);
        }
        self.life += 1;
        self.running = Some((Running::spawn(cmd, &format!("{}-{}", self.name, self.life), logs), point));
    }

    /// Kills and restarts it if it paused at its point; fails the test if it died on its own.
    /// Returns whether it has exited successfully (a finished aggregator).
    fn tend(&mut self, logs: &Path) -> bool {
        let Some((running, point)) = self.running.as_mut() else { return true };
        if let Some(status) = running.exited() {
            assert!(status.success(), "{} died on its own: {}", self.name, running.stderr());
            return true;
        }
        // The process names the point without the arrival count (`point#n`).
        let paused = point.as_ref().is_some_and(|p| {
            let name = p.split('#').next().unwrap_or(p);
            running.stderr().contains(&format!("{{\"paused\":\"{name}\"}}"))
        });
        if paused {
            running.kill();
            self.kills.push(point.clone().unwrap_or_default());
            self.start(logs);
        }
        false
    }
}

/// The seeded schedule: the aggregator at each of its points once (the bond, then each round
/// proved but not sent and sent but no receipt); each trainer after sending its join and each
/// round's commitment; the server alternately inside an indexer transaction (its first, which
/// comes with the next block) and at a seeded choice of upload point.
fn schedule(seed: u64) -> (Vec<String>, Vec<Vec<String>>, Vec<String>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut aggregator = vec!["sent postBond".to_owned()];
    for r in 0..ROUNDS {
        aggregator.push(format!("proved round {r}"));
        aggregator.push(format!("sent finalizeRound {r}"));
    }
    let mut trainer = vec!["sent join".to_owned()];
    trainer.extend((0..ROUNDS).map(|r| format!("sent submitUpdate for round {r}")));
    let server = (0..8)
        .flat_map(|_| {
            let upload = ["upload: blob stored", "upload: row stored"].choose(&mut rng).copied().unwrap_or_default();
            ["indexer: range written#1".to_owned(), upload.to_owned()]
        })
        .collect();
    (aggregator, vec![trainer; TRAINERS], server)
}

/// `fedproof serve`'s arguments for a database and a listen address.
type ServeArgs = Box<dyn Fn(&str, &str) -> Vec<String>>;

/// The job and its processes: the server, the aggregator and the trainers, each a [`Victim`].
struct Chaos {
    anvil: alloy::node_bindings::AnvilInstance,
    dir: tempfile::TempDir,
    market: Address,
    job: U256,
    db: String,
    storage: String,
    receipts: std::path::PathBuf,
    serve_args: ServeArgs,
    server: Victim,
    aggregator: Victim,
    trainers: Vec<Victim>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_kill_9_of_the_aggregator_and_the_server_at_seeded_points() {
    let mut chaos = Chaos::deploy(9);
    chaos.run_until_settled().await;
    chaos.assert_every_round_settled_once().await;
    chaos.assert_every_receipt_is_a_stored_upload().await;
    chaos.assert_index_equals_a_fresh_one().await;
}

impl Chaos {
    /// Deploys, posts a 2-round job and starts every process, paused at its first point of
    /// the schedule of `seed`.
    fn deploy(seed: u64) -> Self {
        let anvil = Anvil::at(common::anvil_path()).try_spawn().expect("spawn anvil");
        let rpc = anvil.endpoint();
        let key = |i: usize| common::cli::key(&anvil, i);
        let dir = tempfile::tempdir().expect("tempdir");
        let CliStack { market, verifier, recipient, keys, storage, data, sealing } =
            CliStack::deploy(&anvil, dir.path());
        let aggregator_address = format!("{:#x}", anvil.addresses()[1]);
        let (storage, sealing) = (path(&storage), path(&sealing));
        let job_cli = common::CliJob {
            rpc: &rpc,
            market: &market,
            storage: &storage,
            aggregator: &aggregator_address,
            recipient: &recipient,
            verifier: &verifier,
        };
        let rounds = ROUNDS.to_string();
        let extra = ["--rounds", rounds.as_str(), "--max-malicious", "1", "--start-delay", "3600", "--json"];
        let create = job_cli.create_args("1000000000000000000", &extra);
        let created = json(&create.iter().map(String::as_str).collect::<Vec<_>>(), &key(0));
        let job = created["job_id"].as_u64().expect("job id").to_string();
        let job_args: Vec<String> =
            ["--rpc", &rpc, "--market", &market, "--job", &job, "--storage", &storage].map(str::to_owned).to_vec();

        // The server on a fixed port of its own, so the trainers find every life of it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let api = format!("http://127.0.0.1:{port}");
        let db = format!("sqlite://{}", path(&dir.path().join("api.db")));
        let serve_args: ServeArgs = {
            let (rpc, market, sealing, storage) = (rpc.clone(), market.clone(), sealing.clone(), storage.clone());
            Box::new(move |db: &str, listen: &str| {
                ["serve", "--rpc", &rpc, "--market", &market, "--db", db, "--listen", listen, "--confirmations", "0"]
                    .into_iter()
                    .chain(["--sealing-key", &sealing, "--blobs", &storage, "--json"])
                    .map(str::to_owned)
                    .collect()
            })
        };
        let (aggregator_points, trainer_points, server_points) = schedule(seed);
        let mut server =
            Victim::new("serve", serve_args(&db, &format!("127.0.0.1:{port}")), String::new(), server_points);
        server.env.push(("FEDPROOF_AGGREGATOR_KEY".into(), key(1)));
        let mut aggregator_args = vec!["aggregator".to_owned(), "run".to_owned()];
        aggregator_args.extend(job_args.iter().cloned());
        aggregator_args
            .extend(["--keys", &keys, "--sealing-key", &sealing, "--upload-grace", "300", "--json"].map(str::to_owned));
        let aggregator = Victim::new("aggregator", aggregator_args, key(1), aggregator_points);
        let receipts = dir.path().join("receipts");
        let trainers: Vec<Victim> = trainer_points
            .into_iter()
            .enumerate()
            .map(|(i, points)| {
                let csv = path(&data.join(format!("trainer-{i}.csv")));
                let mut args = vec!["trainer".to_owned(), "run".to_owned()];
                args.extend(job_args.iter().cloned());
                args.extend(
                    ["--data", &csv, "--seed", &i.to_string(), "--api", &api, "--receipts", &path(&receipts), "--json"]
                        .map(str::to_owned),
                );
                let name: &'static str = ["trainer-0", "trainer-1", "trainer-2", "trainer-3"][i];
                Victim::new(name, args, key(2 + i), points)
            })
            .collect();
        let market = market.parse().expect("address");
        let job = U256::from(job.parse::<u64>().expect("id"));
        let mut chaos =
            Chaos { anvil, dir, market, job, db, storage, receipts, serve_args, server, aggregator, trainers };
        let logs = chaos.dir.path().to_owned();
        chaos.server.start(&logs);
        chaos.aggregator.start(&logs);
        for t in &mut chaos.trainers {
            t.start(&logs);
        }
        chaos
    }

    fn provider(&self) -> impl Provider {
        ProviderBuilder::new().connect_http(self.anvil.endpoint_url())
    }

    /// Tends every process (killing and restarting it at its points) until the aggregator and
    /// the trainers have finished; opens round 0 once everyone joined. Asserts that the
    /// schedule reached at least [`MIN_KILLS`] kills.
    async fn run_until_settled(&mut self) {
        let logs = self.dir.path().to_owned();
        let provider = self.provider();
        let contract = JobMarket::new(self.market, &provider);
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut opened = false;
        loop {
            let mut done = self.aggregator.tend(&logs);
            self.server.tend(&logs);
            for t in &mut self.trainers {
                done &= t.tend(&logs);
            }
            if done {
                break;
            }
            if !opened {
                let state = contract.jobState(self.job).call().await.expect("state");
                if state.bondPosted && state.joinedCount == TRAINERS as u16 {
                    let _: serde_json::Value =
                        provider.raw_request("evm_increaseTime".into(), (3600u64,)).await.expect("time");
                    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.expect("mine");
                    opened = true;
                }
            }
            let (aggregator, server) = (&self.aggregator.kills, &self.server.kills);
            assert!(Instant::now() < deadline, "the job did not settle: {aggregator:?}, {server:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let victims = || self.trainers.iter().chain([&self.aggregator, &self.server]);
        for v in victims() {
            let tail = v.running.as_ref().map(|(r, _)| r.stderr()).unwrap_or_default();
            println!("{} lives {}: {}", v.name, v.life, &tail[tail.len().saturating_sub(600)..]);
        }
        let kills: Vec<String> =
            victims().flat_map(|v| v.kills.iter().map(move |k| format!("{}: {k}", v.name))).collect();
        println!("{} kills: {kills:#?}", kills.len());
        assert!(kills.len() >= MIN_KILLS, "only {} kills reached: {kills:?}", kills.len());
    }

    /// The job completed, and each round has exactly one `RoundFinalized`.
    async fn assert_every_round_settled_once(&self) {
        let provider = self.provider();
        let state = JobMarket::new(self.market, &provider).jobState(self.job).call().await.expect("state");
        assert_eq!(JobStatus::from_u8(state.status), Some(JobStatus::Completed));
        let filter =
            Filter::new().address(self.market).event_signature(JobMarket::RoundFinalized::SIGNATURE_HASH).from_block(0);
        let mut settled: Vec<u32> = provider
            .get_logs(&filter)
            .await
            .expect("logs")
            .iter()
            .map(|l| JobMarket::RoundFinalized::decode_log_data(l.data()).expect("event").round.to::<u32>())
            .collect();
        settled.sort_unstable();
        assert_eq!(settled, (0..ROUNDS).collect::<Vec<_>>(), "every round settled once");
    }

    /// Every trainer kept a receipt for every round, and each is an upload the server stored,
    /// with the same signature and its blob.
    async fn assert_every_receipt_is_a_stored_upload(&self) {
        let uploads = upload_rows(&self.db).await;
        let blobs = fedproof_storage::Storage::open(&self.storage).expect("store");
        let kept = kept_receipts(&self.receipts);
        assert_eq!(kept.len(), TRAINERS * ROUNDS as usize, "a receipt per trainer and round: {kept:?}");
        for receipt in &kept {
            let key = (receipt["round"].as_i64().expect("round"), receipt["slot"].as_i64().expect("slot"));
            let row =
                uploads.iter().find(|u| (u.0, u.1) == key).unwrap_or_else(|| panic!("receipt {receipt} has no row"));
            assert_eq!(row.2, receipt["signature"].as_str().expect("signature"), "the kept receipt is the stored one");
            let cid = fedproof_storage::blobs::parse_cid(&row.3).expect("cid");
            assert!(blobs.blobs().contains(&cid).await.expect("store"), "the receipted blob is stored");
        }
    }

    /// The killed server's database equals a fresh index of the chain. Its last life may still
    /// wait for its point: it is killed once more and started with no point left, to catch up
    /// like any restarted server.
    async fn assert_index_equals_a_fresh_one(&mut self) {
        let logs = self.dir.path().to_owned();
        self.server.points.clear();
        if let Some((running, _)) = self.server.running.as_mut() {
            running.kill();
        }
        self.server.start(&logs);
        let fresh_db = format!("sqlite://{}", path(&logs.join("fresh.db")));
        let head = self.provider().get_block_number().await.expect("head") as i64;
        let fresh = Running::spawn(fedproof(&(self.serve_args)(&fresh_db, "127.0.0.1:0"), ""), "serve-fresh", &logs);
        wait_cursor(&fresh_db, head).await;
        wait_cursor(&self.db, head).await;
        assert_eq!(
            chain_rows(&self.db).await,
            chain_rows(&fresh_db).await,
            "the killed server's index is a fresh one's"
        );
        drop(fresh);
    }
}

use fedproof_contracts::JobStatus;

/// Every receipt file the trainers kept under `dir`.
fn kept_receipts(dir: &Path) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".receipt.json") {
                found.push(serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("receipt JSON"));
            }
        }
    }
    found
}

/// (round, slot, receipt signature, cid) of every stored upload.
async fn upload_rows(db: &str) -> Vec<(i64, i64, String, String)> {
    let pool = pool(db).await;
    let rows =
        sqlx::query("SELECT round, slot, receipt_signature, cid FROM uploads").fetch_all(&pool).await.expect("uploads");
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

async fn pool(db: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(db).await.expect("database")
}

/// Waits (bounded) until the database's indexer cursor reaches `head`.
async fn wait_cursor(db: &str, head: i64) {
    for _ in 0..1200 {
        if Path::new(db.trim_start_matches("sqlite://")).exists() {
            let pool = pool(db).await;
            let cursor: Option<i64> = sqlx::query_scalar("SELECT last_block FROM indexer_cursor WHERE name = 'chain'")
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
            pool.close().await;
            if cursor.is_some_and(|c| c >= head) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{db} never indexed block {head}");
}

/// Every chain-derived table's rows, as text, sorted.
async fn chain_rows(db: &str) -> Vec<(String, Vec<String>)> {
    let pool = pool(db).await;
    let mut tables = Vec::new();
    for table in fedproof_web_api::indexer::reorg::CHAIN_TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&pool).await.expect("rows");
        let mut text: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<String, _>(i)
                            .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                            .or_else(|_| r.try_get::<f64, _>(i).map(|v| v.to_string()))
                            .unwrap_or_else(|_| "NULL".into())
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        text.sort();
        tables.push((table.to_owned(), text));
    }
    pool.close().await;
    tables
}
