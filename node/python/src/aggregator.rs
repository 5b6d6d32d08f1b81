//! `fedproof.Aggregator`: the aggregator role driven one round at a time, as the Flower strategy
//! does (`fedproof.flower`): it takes the sealed updates clients deliver in their replies, proves
//! and settles the round with the node's own code (`fedproof::roles::aggregator`), and hands back
//! the new model.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fedproof::proving::Prover;
use fedproof::roles::{aggregator, JobView};
use fedproof::training::model_file::write_model;
use fedproof_prover::keys::{Circuit, KeyKind, KeyStore};
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::session::{block_on, open_job, to_py, to_python};

/// The aggregator of one job: its key on the chain, its sealing identity, the Groth16 keys of
/// the job's shape and the job's blob storage. Each call blocks until done; the GIL is released.
#[pyclass(module = "fedproof")]
pub struct Aggregator {
    runtime: tokio::runtime::Runtime,
    job: JobView,
    storage: Storage,
    settings: aggregator::Settings,
}

#[pymethods]
impl Aggregator {
    /// Connects `private_key` (0x-hex; the job's aggregator) to the node at `rpc` and loads job
    /// `job` of `market`, the age identity `sealing_key` (made by `fedproof aggregator keygen`)
    /// and the proving key of the job's shape from `keys` (the directory `fedproof deploy
    /// --keys` wrote for the job's verifier).
    #[new]
    #[pyo3(signature = (rpc, market, job, private_key, sealing_key, keys, storage = ".fedproof/storage", chain_id = None, upload_grace = 5.0))]
    #[allow(clippy::too_many_arguments)] // the Python constructor's keyword arguments
    fn new(
        py: Python<'_>,
        rpc: &str,
        market: &str,
        job: u64,
        private_key: &str,
        sealing_key: &str,
        keys: &str,
        storage: &str,
        chain_id: Option<u64>,
        upload_grace: f64,
    ) -> PyResult<Self> {
        let sealing = AggregatorKey::load(Path::new(sealing_key))
            .map_err(|e| PyValueError::new_err(format!("sealing_key: {e:#}")))?;
        let grace = Duration::try_from_secs_f64(upload_grace)
            .map_err(|_| PyValueError::new_err(format!("upload_grace must be seconds ≥ 0, not {upload_grace}")))?;
        let (runtime, storage, job) = open_job(py, (rpc, chain_id), (market, job), private_key, storage)?;
        if job.layout().map_err(to_py)?.chunking().is_some() {
            return Err(PyValueError::new_err(format!(
                "job {} is chunked: run `fedproof aggregator run` for it (chunk proofs and challenges)",
                job.id
            )));
        }
        // Only existing keys: new ones would not match the verifier the job names.
        let (store, circuit) = (KeyStore::new(keys), Circuit::from(job.shape));
        if !store.path(circuit, KeyKind::Proving).exists() {
            return Err(PyValueError::new_err(format!(
                "keys: no proving key for {circuit} under {keys:?} (the directory `fedproof deploy --keys` used)"
            )));
        }
        let keys =
            py.allow_threads(|| store.load_or_setup(circuit, &mut rand::rngs::OsRng)).map_err(|e| to_py(e.into()))?;
        let settings = aggregator::Settings {
            keys: Arc::new(keys),
            sealing: Arc::new(sealing),
            prover: Prover::InProcess,
            upload_grace: grace,
            chunks: None,
        };
        Ok(Aggregator { runtime, job, storage, settings })
    }

    /// The job's id.
    #[getter]
    fn job_id(&self) -> u64 {
        self.job.id
    }

    /// The job's trainer slots.
    #[getter]
    fn trainers(&self) -> usize {
        self.job.shape.trainers
    }

    /// The job's state on chain, as `Owner.status` gives it.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &block_on(py, &self.runtime, fedproof::roles::owner::status(&self.job))?)
    }

    /// Posts the aggregator's bond if the job has none yet (round 0 opens only then).
    fn post_bond(&self, py: Python<'_>) -> PyResult<()> {
        block_on(py, &self.runtime, aggregator::post_bond(&self.job, &self.storage))
    }

    /// The model the current round starts from, checked against the chain: (round, bytes of a
    /// safetensors file of the job's tensors).
    fn model<'py>(&self, py: Python<'py>) -> PyResult<(u32, Bound<'py, PyBytes>)> {
        let model = block_on(py, &self.runtime, fedproof::roles::owner::latest_model(&self.job, &self.storage))?;
        let bytes = write_model(&self.job.spec, &model.values).map_err(to_py)?;
        Ok((model.round, PyBytes::new(py, &bytes)))
    }

    /// Takes the sealed update `slot` delivered for `round` into storage, if it is the blob the
    /// slot committed to on chain (else `ChainFailure` says why); returns its CID.
    fn accept(&self, py: Python<'_>, round: u32, slot: u32, sealed: Vec<u8>) -> PyResult<String> {
        block_on(py, &self.runtime, aggregator::accept_sealed(&self.job, &self.storage, round, slot, sealed))
    }

    /// Waits for the current round's submissions (every joined slot, or the submit window's
    /// end), proves it and finalizes it on chain. Returns its report (round, submitted,
    /// unavailable [(slot, reason)], inliers, scores, prove_seconds, finalize_gas, tx) with the
    /// new model's safetensors bytes under "model"; None once the job has ended.
    fn finalize_round<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let report = block_on(py, &self.runtime, aggregator::next_round(&self.job, &self.storage, &self.settings))?;
        let Some(report) = report else { return Ok(None) };
        let model = write_model(&self.job.spec, &report.new_model).map_err(to_py)?;
        let out = to_python(py, &report)?;
        out.set_item("model", PyBytes::new(py, &model))?;
        Ok(Some(out))
    }
}
