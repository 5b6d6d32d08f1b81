//! What the chain-facing classes share: a runtime to wait on the node's async roles without
//! the GIL, parsing keys and addresses, and node errors as Python exceptions.

use std::future::Future;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use fedproof::chain::{Chain, ChainError};
use fedproof::roles::job::UnknownJob;
use fedproof::roles::JobView;
use fedproof_storage::Storage;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::{AddressError, ChainFailure, UnknownJobError, WrongNetworkError};

/// A runtime of one worker thread: the roles wait on the chain, they do not compute.
pub fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// Runs `future` to completion with the GIL released, its error as a Python exception.
pub fn block_on<T: Send>(
    py: Python<'_>,
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = anyhow::Result<T>> + Send,
) -> PyResult<T> {
    py.allow_threads(|| runtime.block_on(future)).map_err(to_py)
}

/// A node error as the Python exception that says what went wrong.
pub fn to_py(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    if e.downcast_ref::<UnknownJob>().is_some() {
        return UnknownJobError::new_err(message);
    }
    match e.downcast_ref::<ChainError>() {
        Some(ChainError::WrongChain { .. }) => WrongNetworkError::new_err(message),
        _ => ChainFailure::new_err(message),
    }
}

/// The blob storage at `path` (a directory, file:// or s3:// URL).
pub fn storage(path: &str) -> PyResult<Storage> {
    Storage::open(path).map_err(|e| PyValueError::new_err(format!("storage: {e}")))
}

/// Connects `private_key` (0x-hex) to the node at `rpc` (refusing another chain than
/// `chain_id`) and loads job `job` of `market` with its blob storage: what `Trainer` and
/// `Aggregator` are bound to.
pub fn open_job(
    py: Python<'_>,
    (rpc, chain_id): (&str, Option<u64>),
    (market, job): (&str, u64),
    private_key: &str,
    storage_path: &str,
) -> PyResult<(tokio::runtime::Runtime, Storage, JobView)> {
    let signer = signer(private_key)?;
    let market = address("market", market)?;
    let storage = storage(storage_path)?;
    let runtime = runtime()?;
    let job = block_on(py, &runtime, async {
        let chain = Chain::connect(rpc, chain_id, signer).await?;
        JobView::load(&chain, market, job, &storage).await
    })?;
    Ok((runtime, storage, job))
}

/// A private key (0x-hex); the message never echoes it.
pub fn signer(private_key: &str) -> PyResult<PrivateKeySigner> {
    private_key.parse().map_err(|_| PyValueError::new_err("private_key is not a 32-byte hex key"))
}

/// An Ethereum address (0x-hex, 20 bytes), `what` naming it in the error.
pub fn address(what: &str, text: &str) -> PyResult<Address> {
    text.parse().map_err(|e| AddressError::new_err(format!("{what} {text:?} is not a 20-byte hex address: {e}")))
}

/// A report the node serializes, as the Python dicts and lists `json.loads` makes of it.
pub fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}
