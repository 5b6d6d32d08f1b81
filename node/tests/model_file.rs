//! Bring your own model: a job posted from a safetensors model file (`owner create-job
//! --model`), trainers who train with their own code and submit safetensors update files
//! (`trainer submit --update`), and the model downloaded back as a file of the same tensors
//! (`owner download-model --out *.safetensors`), through the binary on a real anvil; and bad
//! files refused with the tensor they concern before anything reaches the chain.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use common::{fedproof, CliJob, Harness, Running, TRAINERS};
use fedproof::roles::aggregator;
use fedproof::training::federated::FixedPointConfig;
use fedproof_storage::layout::Dtype;
use fedproof_storage::{ModelLayout, TensorSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The owner's model: 16 parameters (the test shape's) in three tensors, in the order a
/// safetensors writer stores them (by dtype, then name).
fn layout() -> ModelLayout {
    let tensor =
        |name: &str, shape: &[usize]| TensorSpec { name: name.into(), shape: shape.to_vec(), dtype: Dtype::F32 };
    ModelLayout {
        tensors: vec![tensor("conv.weight", &[2, 1, 2, 2]), tensor("fc.bias", &[2]), tensor("fc.weight", &[2, 3])],
    }
}

fn seeded(seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..layout().params()).map(|_| rng.gen_range(-scale..scale)).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write file");
    path.to_string_lossy().into_owned()
}

fn run(args: &[String], key: &str) -> Output {
    fedproof(args, key).output().expect("run fedproof")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Everything a command line needs to reach the harness's job `job`.
struct Cli {
    rpc: String,
    market: String,
    storage: String,
    aggregator: String,
    recipient: String,
    verifier: String,
    owner_key: String,
}

impl Cli {
    fn new(h: &Harness) -> Self {
        Cli {
            rpc: h.anvil.endpoint(),
            market: h.stack.market.to_string(),
            storage: h.storage_dir(),
            aggregator: h.aggregator.address.to_string(),
            recipient: h.sealing.recipient(),
            verifier: h.stack.verifier.to_string(),
            owner_key: key(h, 0),
        }
    }

    /// `owner create-job --model` for one round, opening an hour later.
    fn create(&self, model: &str) -> Output {
        let job = CliJob {
            rpc: &self.rpc,
            market: &self.market,
            storage: &self.storage,
            aggregator: &self.aggregator,
            recipient: &self.recipient,
            verifier: &self.verifier,
        };
        let extra = ["--model", model, "--rounds", "1", "--max-malicious", "1", "--start-delay", "3600", "--json"];
        run(&job.create_args("1000000000000000000", &extra), &self.owner_key)
    }

    fn job_args(&self, job: u64) -> Vec<String> {
        let job = job.to_string();
        strings(&["--rpc", &self.rpc, "--market", &self.market, "--job", &job, "--storage", &self.storage])
    }

    fn submit(&self, job: u64, update: &str) -> Vec<String> {
        let mut args = strings(&["trainer", "submit"]);
        args.extend(self.job_args(job));
        args.extend(strings(&["--update", update, "--json"]));
        args
    }
}

/// The harness anvil's account `i` as a private key (0 the owner, 2 + i trainer i).
fn key(h: &Harness, i: usize) -> String {
    format!("0x{}", hex::encode(h.anvil.keys()[i].to_bytes()))
}

fn job_id(out: &Output) -> u64 {
    assert!(out.status.success(), "create-job failed: {}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    created["job_id"].as_u64().expect("job id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_posted_from_a_model_file_settles_updates_submitted_as_files() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = Cli::new(&h);
    let initial = seeded(1, 0.5);
    let job = job_id(&cli.create(&write(dir.path(), "init.safetensors", &layout().write(&initial).unwrap())));
    let view = h.view(&h.aggregator, job).await;
    assert_eq!(view.spec.layout.as_ref(), Some(&layout()), "the spec records the model's tensors");
    assert_eq!(view.spec.model, "init.safetensors");
    let (storage, settings) = (h.storage.clone(), h.aggregator_settings(Duration::from_secs(1)));
    let agg_view = view.clone();
    let aggregator = tokio::spawn(async move { aggregator::run(&agg_view, &storage, &settings, |_| {}).await });

    // Honest trainers share a direction (plus noise); trainer 3 sends it reversed and amplified (partly beyond the clip bound).
    let direction = seeded(42, 0.15);
    let mut trainers = Vec::new();
    for i in 0..TRAINERS {
        let noise = seeded(100 + i as u64, 0.04);
        let update: Vec<f64> = if i == 3 {
            direction.iter().map(|d| -4.0 * d).collect()
        } else {
            direction.iter().zip(&noise).map(|(d, n)| d + n).collect()
        };
        // Written with the tensors in another order than the model's: they are found by name.
        let file = write(dir.path(), &format!("update-{i}.safetensors"), &reversed(&update));
        trainers.push(Running::spawn(fedproof(&cli.submit(job, &file), &key(&h, 2 + i)), &format!("t{i}"), dir.path()));
    }
    // Once all have joined, open round 0.
    let market = &view.market;
    let deadline = Instant::now() + Duration::from_secs(120);
    while market.jobState(U256::from(job)).call().await.expect("state").joinedCount < TRAINERS as u16 {
        assert!(Instant::now() < deadline, "trainers did not join: {}", trainers[0].stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    h.advance(3600).await;
    let submitted: Vec<serde_json::Value> = trainers.into_iter().map(Running::finish).collect();
    assert_eq!(submitted[3]["clipped"].as_u64().map(|c| c > 0), Some(true), "the attacker's update was clipped");
    let reports = aggregator.await.expect("task").expect("aggregator");
    let attacker = market.slotOf(U256::from(job), h.trainers[3].address).call().await.expect("slot").slot;
    let attacker: usize = attacker.try_into().expect("slot");
    assert!(!reports[0].inliers[attacker] && reports[0].scores[attacker] == 0, "{:?}", reports[0]);
    assert_eq!(reports[0].inliers.iter().filter(|i| **i).count(), 3);

    // The new model comes back as a file of the same tensors, with the values the chain settled.
    let out = dir.path().join("model.safetensors");
    let mut args = strings(&["owner", "download-model"]);
    args.extend(cli.job_args(job));
    args.extend(strings(&["--out", &out.to_string_lossy(), "--json"]));
    let done = run(&args, &cli.owner_key);
    assert!(done.status.success(), "download-model: {}", String::from_utf8_lossy(&done.stderr));
    let (downloaded, values) = ModelLayout::read(&std::fs::read(&out).expect("model file")).expect("a model file");
    assert_eq!(downloaded, layout());
    assert_eq!(values, FixedPointConfig::default().model().decode(&reports[0].new_model));
    let moved: f64 = values.iter().zip(&initial).zip(&direction).map(|((v, w), d)| (v - w) * d).sum();
    assert!(moved > 0.0, "the model moved along the honest direction");
}

/// `values` of the model's tensors written in reverse order.
fn reversed(values: &[f64]) -> Vec<u8> {
    let mut tensors = layout().tensors;
    let mut parts = Vec::new();
    let mut rest = values;
    for t in &tensors {
        let (mine, next) = rest.split_at(t.len());
        parts.push(mine.to_vec());
        rest = next;
    }
    tensors.reverse();
    parts.reverse();
    ModelLayout { tensors }.write(&parts.concat()).expect("write")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_model_and_update_files_are_refused_with_their_tensor_before_the_chain_sees_them() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = Cli::new(&h);
    let market = h.stack.market;
    let jobs =
        || async { fedproof_contracts::JobMarket::new(market, &h.owner.provider).jobCount().call().await.unwrap() };

    // A weight beyond the model encoding's range (±8): no job is posted.
    let mut big = seeded(1, 0.5);
    big[11] = 100.0;
    let refused = cli.create(&write(dir.path(), "big.safetensors", &layout().write(&big).unwrap()));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains(r#"tensor "fc.weight", flat index 1"#), "{err}");
    assert_eq!(jobs().await, U256::ZERO);

    let job = job_id(&cli.create(&write(dir.path(), "init.safetensors", &layout().write(&seeded(1, 0.5)).unwrap())));
    let spec = |name: &str, shape: &[usize], dtype| TensorSpec { name: name.into(), shape: shape.to_vec(), dtype };
    let file = |tensors: Vec<TensorSpec>, values: &[f64]| ModelLayout { tensors }.write(values).unwrap();
    let ok = layout().tensors;
    let nan = {
        let mut v = seeded(2, 0.1);
        v[15] = f64::NAN;
        layout().write(&v).unwrap()
    };
    let ints = {
        use safetensors::tensor::TensorView;
        let (zeros, f32s) = ([0u8; 8], [0u8; 64]);
        let tensors = [
            ("conv.weight", TensorView::new(Dtype::F32, vec![2, 1, 2, 2], &f32s[..32]).unwrap()),
            ("fc.bias", TensorView::new(Dtype::I32, vec![2], &zeros).unwrap()),
            ("fc.weight", TensorView::new(Dtype::F32, vec![2, 3], &f32s[..24]).unwrap()),
        ];
        safetensors::serialize(tensors, None).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "reshaped",
            file(vec![spec("conv.weight", &[8], Dtype::F32), ok[1].clone(), ok[2].clone()], &[0.0; 16]),
            r#"tensor "conv.weight" has shape [8], the job's model has [2, 1, 2, 2]"#,
        ),
        ("missing", file(vec![ok[0].clone(), ok[2].clone()], &[0.0; 14]), r#"tensor "fc.bias" is missing"#),
        (
            "extra",
            file([ok.clone(), vec![spec("head", &[1], Dtype::F32)]].concat(), &[0.0; 17]),
            r#"tensor "head" is not part of the job's model"#,
        ),
        ("nan", nan, r#"tensor "fc.weight" holds NaN at flat index 5"#),
        ("ints", ints, r#"tensor "fc.bias" has dtype I32"#),
        ("garbage", b"{}".to_vec(), "not a safetensors file"),
    ];
    for (name, bytes, expected) in cases {
        let path = write(dir.path(), &format!("{name}.safetensors"), &bytes);
        let out = run(&cli.submit(job, &path), &key(&h, 2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{name}: {err}");
    }
    // Nothing reached the chain: the trainer has not even joined.
    let slot = fedproof_contracts::JobMarket::new(market, &h.owner.provider)
        .slotOf(U256::from(job), h.trainers[0].address)
        .call()
        .await
        .expect("slotOf");
    assert!(!slot.staked);
}
