//! `fedproof.Trainer`: a trainer who trains with its own code and submits through the chain and
//! the aggregator's intake, by the node's own roles (`fedproof::roles::trainer`).

use std::path::PathBuf;

use fedproof::roles::intake::Intake;
use fedproof::roles::trainer::{self, Submission};
use fedproof::roles::JobView;
use fedproof::training::model_file::{job_layout, read_update};
use fedproof_storage::Storage;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::ModelFileError;
use crate::session::{block_on, open_job, to_py};

/// A trainer's seat in one job: its key, the chain, the job's storage and (optionally) the
/// aggregator's intake. Each call blocks until the chain has answered; the GIL is released.
#[pyclass(module = "fedproof")]
pub struct Trainer {
    runtime: tokio::runtime::Runtime,
    job: JobView,
    storage: Storage,
    intake: Option<Intake>,
}

impl Trainer {
    /// An update file's values in the job's layout, clipped and rounded with `seed`.
    fn encode(&self, update: &[u8], seed: u64) -> PyResult<(Vec<i64>, usize)> {
        let layout = job_layout(&self.job.spec).map_err(to_py)?;
        read_update(&layout, update, seed).map_err(|e| ModelFileError::new_err(format!("{e:#}")))
    }
}

#[pymethods]
impl Trainer {
    /// Connects `private_key` (0x-hex) to the node at `rpc` and loads job `job` of `market`.
    #[new]
    #[pyo3(signature = (rpc, market, job, private_key, storage = ".fedproof/storage", api = None, receipts = ".fedproof/receipts", chain_id = None))]
    #[allow(clippy::too_many_arguments)] // the Python constructor's keyword arguments
    fn new(
        py: Python<'_>,
        rpc: &str,
        market: &str,
        job: u64,
        private_key: &str,
        storage: &str,
        api: Option<&str>,
        receipts: &str,
        chain_id: Option<u64>,
    ) -> PyResult<Self> {
        let api =
            api.map(|a| a.parse::<url::Url>()).transpose().map_err(|e| PyValueError::new_err(format!("api: {e}")))?;
        let (runtime, storage, job) = open_job(py, (rpc, chain_id), (market, job), private_key, storage)?;
        let intake = api.map(|api| Intake::new(api, PathBuf::from(receipts))).transpose().map_err(to_py)?;
        Ok(Trainer { job, runtime, storage, intake })
    }

    /// The job's id.
    #[getter]
    fn job_id(&self) -> u64 {
        self.job.id
    }

    /// The job's model tensors in order, as (name, shape, dtype) tuples.
    #[getter]
    fn layout(&self) -> PyResult<Vec<(String, Vec<usize>, String)>> {
        let layout = job_layout(&self.job.spec).map_err(to_py)?;
        Ok(layout.tensors.into_iter().map(|t| (t.name, t.shape, format!("{:?}", t.dtype))).collect())
    }

    /// Joins the job with its stake (once; before round 0 opens) and returns the slot.
    fn join(&self, py: Python<'_>) -> PyResult<u32> {
        block_on(py, &self.runtime, trainer::join(&self.job, &self.storage))
    }

    /// Submits an update Δ (the bytes of a safetensors file of the job's tensors, e.g.
    /// `safetensors.numpy.save({...})`) to `round` (default: the round open now): clips and
    /// encodes it, commits on chain, and through the intake delivers it and keeps the receipt.
    /// Returns a dict with the round, commitment, transaction, receipt and clipped count.
    #[pyo3(signature = (update, round = None, seed = 1))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        update: &[u8],
        round: Option<u32>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (values, clipped) = self.encode(update, seed)?;
        let submission = block_on(
            py,
            &self.runtime,
            trainer::submit(&self.job, &self.storage, self.intake.as_ref(), round, values),
        )?;
        let receipt = submission.receipt.as_ref().map(|r| r.signature.clone());
        let out = submission_dict(py, &submission, clipped)?;
        out.set_item("receipt", receipt)?;
        Ok(out)
    }

    /// Commits an update Δ (safetensors bytes, as for `submit`) to `round` (default: the round
    /// open now) on chain, joining first if needed, and returns the sealed update for the caller
    /// to deliver (the Flower mod sends it in its reply; `Aggregator.accept` takes it only if it
    /// is the blob committed on chain). Returns a dict with the round, slot, commitment,
    /// transaction, clipped count and `sealed` bytes.
    #[pyo3(signature = (update, round = None, seed = 1))]
    fn commit<'py>(
        &self,
        py: Python<'py>,
        update: &[u8],
        round: Option<u32>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (values, clipped) = self.encode(update, seed)?;
        let (slot, submission, sealed) =
            block_on(py, &self.runtime, trainer::commit_sealed(&self.job, &self.storage, round, values))?;
        let out = submission_dict(py, &submission, clipped)?;
        out.set_item("slot", slot)?;
        out.set_item("sealed", PyBytes::new(py, &sealed))?;
        Ok(out)
    }

    /// Claims this trainer's share of every finalized round (disputing, with kept receipts, a
    /// round that called its receipted update unavailable) and withdraws what the market owes
    /// it; returns the amount withdrawn (wei).
    fn withdraw(&self, py: Python<'_>) -> PyResult<u128> {
        let owed = block_on(py, &self.runtime, trainer::withdraw(&self.job, self.intake.as_ref()))?;
        owed.try_into().map_err(|_| PyValueError::new_err(format!("{owed} wei does not fit 128 bits")))
    }
}

/// What `submit` and `commit` both return of a submission: round, commitment, tx, clipped.
fn submission_dict<'py>(py: Python<'py>, submission: &Submission, clipped: usize) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("round", submission.round)?;
    out.set_item("commitment", &submission.commitment)?;
    out.set_item("tx", &submission.tx)?;
    out.set_item("clipped", clipped)?;
    Ok(out)
}
