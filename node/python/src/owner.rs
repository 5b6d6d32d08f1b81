//! `fedproof.Owner`: a project owner who posts a job for its own model (a safetensors file),
//! follows it and downloads the trained model, by the node's own owner role
//! (`fedproof::roles::owner`).

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use fedproof::chain::Chain;
use fedproof::roles::owner::{create_job, finalized_rounds, latest_model, payouts, status, JobModel, JobRequest};
use fedproof::roles::JobView;
use fedproof::training::model_file::{read_model, write_model};
use fedproof_storage::{Recipe, Storage};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::ModelFileError;
use crate::session::{address, block_on, runtime, signer, to_py, to_python};

/// An owner's key on a market, with the market's blob storage.
#[pyclass(module = "fedproof")]
pub struct Owner {
    runtime: tokio::runtime::Runtime,
    chain: Chain,
    market: Address,
    storage: Storage,
}

impl Owner {
    fn job(&self, py: Python<'_>, job: u64) -> PyResult<JobView> {
        block_on(py, &self.runtime, JobView::load(&self.chain, self.market, job, &self.storage))
    }
}

#[pymethods]
impl Owner {
    /// Connects `private_key` (0x-hex) to the node at `rpc`, for the JobMarket at `market`.
    #[new]
    #[pyo3(signature = (rpc, market, private_key, storage = ".fedproof/storage", chain_id = None))]
    fn new(
        py: Python<'_>,
        rpc: &str,
        market: &str,
        private_key: &str,
        storage: &str,
        chain_id: Option<u64>,
    ) -> PyResult<Self> {
        let signer: PrivateKeySigner = signer(private_key)?;
        let market = address("market", market)?;
        let storage = crate::session::storage(storage)?;
        let runtime = runtime()?;
        let chain = block_on(py, &runtime, async { Ok(Chain::connect(rpc, chain_id, signer).await?) })?;
        Ok(Owner { runtime, chain, market, storage })
    }

    /// Escrows `budget` wei and posts a job training `model` (the bytes of a safetensors file of
    /// float tensors with weights within ±8); returns the job id. `recipe` is an optional
    /// (uri, sha256) of the training recipe trainers are expected to run.
    #[pyo3(signature = (model, *, aggregator, aggregator_recipient, verifier, trainers, rounds, budget, stake = 0, bond = None, max_malicious = 1, tau = 1.5, lr = 1.0, start_delay = 60, submit_window = 600, finalize_window = 600, architecture = "custom", recipe = None))]
    #[allow(clippy::too_many_arguments)] // the Python method's keyword arguments
    fn create_job(
        &self,
        py: Python<'_>,
        model: &[u8],
        aggregator: &str,
        aggregator_recipient: &str,
        verifier: &str,
        trainers: u16,
        rounds: u32,
        budget: u128,
        stake: u128,
        bond: Option<u128>,
        max_malicious: u8,
        tau: f64,
        lr: f64,
        start_delay: u64,
        submit_window: u32,
        finalize_window: u32,
        architecture: &str,
        recipe: Option<(String, String)>,
    ) -> PyResult<u64> {
        let (layout, initial) = read_model(model).map_err(|e| ModelFileError::new_err(format!("{e:#}")))?;
        let recipe = recipe
            .map(|(uri, sha256)| Recipe::new(&uri, &sha256))
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let request = JobRequest {
            trainers,
            rounds,
            budget,
            stake,
            bond,
            aggregator: address("aggregator", aggregator)?,
            verifier: address("verifier", verifier)?,
            aggregator_recipient: aggregator_recipient.to_string(),
            max_malicious,
            tau,
            lr,
            start_delay,
            submit_window,
            finalize_window,
        };
        let model = JobModel { initial, layout: Some(layout), architecture: architecture.to_string(), recipe };
        let spec = request.spec(model).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
        block_on(py, &self.runtime, create_job(&self.chain, self.market, &self.storage, &spec))
    }

    /// A job's state: status, round, rounds, joined, trainers, bond_posted, submitted, escrow,
    /// unclaimed, unrecorded, model.
    fn status<'py>(&self, py: Python<'py>, job: u64) -> PyResult<Bound<'py, PyAny>> {
        let view = self.job(py, job)?;
        to_python(py, &block_on(py, &self.runtime, status(&view))?)
    }

    /// The job's finalized rounds from the chain: for each, round, tx, proof (eight 0x words),
    /// inliers, unavailable, scores.
    fn rounds<'py>(&self, py: Python<'py>, job: u64) -> PyResult<Bound<'py, PyAny>> {
        let view = self.job(py, job)?;
        to_python(py, &block_on(py, &self.runtime, finalized_rounds(&view))?)
    }

    /// The latest model of a job, checked against the chain: (the round it starts, the bytes of
    /// a safetensors file of the job's tensors).
    fn download_model<'py>(&self, py: Python<'py>, job: u64) -> PyResult<(u32, Bound<'py, PyBytes>)> {
        let view = self.job(py, job)?;
        let model = block_on(py, &self.runtime, latest_model(&view, &self.storage))?;
        let bytes = write_model(&view.spec, &model.values).map_err(to_py)?;
        Ok((model.round, PyBytes::new(py, &bytes)))
    }

    /// What each slot of the job has been paid so far (wei, in slot order): its claimed shares.
    fn payouts(&self, py: Python<'_>, job: u64) -> PyResult<Vec<u128>> {
        let view = self.job(py, job)?;
        let paid = block_on(py, &self.runtime, payouts(&view))?;
        paid.iter()
            .map(|p| u128::try_from(*p).map_err(|_| PyValueError::new_err(format!("{p} wei does not fit 128 bits"))))
            .collect()
    }
}
