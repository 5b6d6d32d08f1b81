//! # fedproof for Python
//!
//! The node's own code for what a Python trainer or owner does before anything reaches the
//! chain, so its bytes are the node's: encoding real values into the round statement's
//! fixed-point formats, the job's domain, update and model commitments, the update blob and
//! sealing it to the aggregator. Built with maturin (`node/python/pyproject.toml`) as
//! `fedproof._native`, inside the package `python/fedproof` (which adds `fedproof.flower`); the
//! type stubs are `python/fedproof/_native.pyi`, the tests `tests/` (pytest).
//!
//! - [`encode_update`], [`encode_model`], [`decode_model`]: the fixed-point encodings.
//! - [`job_domain`], [`commit_update`], [`commit_model`]: the statement's commitments.
//! - [`update_blob`], [`seal_update`]: the update blob and its sealed form.
//! - [`trainer::Trainer`]: join a job and submit updates through the chain and the intake.
//! - [`owner::Owner`]: post a job for a model file, follow it, read payouts, download the model.
//! - [`aggregator::Aggregator`]: take delivered updates, prove and settle one round at a time.
//!
//! Errors are Python exceptions ([`errors`]): values that do not fit, a bad recipient or address,
//! an update file that does not fit the job, an unknown job, the wrong network, a chain failure.
//! Heavy work and waiting on the chain run without the GIL.
#![forbid(unsafe_code)]

mod aggregator;
mod errors;
mod owner;
mod session;
mod trainer;

pub use errors::{
    AddressError, ChainFailure, EncodingError, ModelFileError, SealError, UnknownJobError, WrongNetworkError,
};

use fedproof::training::federated::FixedPointConfig;
use fedproof_prover::domain::{roster_hash, JobDomain};
use fedproof_prover::fixed_point::Rounding;
use fedproof_storage::UpdateBlob;
use num_bigint::BigUint;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use ark_ff::{BigInteger, PrimeField};

fn encoding_error(e: impl std::fmt::Display) -> PyErr {
    EncodingError::new_err(e.to_string())
}

fn to_int(x: ark_bn254::Fr) -> BigUint {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le())
}

/// Encodes an update Δ (real values): clipped to the update encoding's bound, then rounded
/// stochastically with `seed`. Returns the integers and how many values were clipped.
#[pyfunction]
#[pyo3(signature = (values, seed = 1))]
fn encode_update(py: Python<'_>, values: Vec<f64>, seed: u64) -> PyResult<(Vec<i64>, usize)> {
    py.allow_threads(|| {
        // Infinite values are refused here, not clipped: a Python caller's inf is a bug upstream.
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            let value = values[index];
            return Err(EncodingError::new_err(format!("value at index {index} is {value} (values must be finite)")));
        }
        FixedPointConfig::default().quantize_update(values, seed).map_err(encoding_error)
    })
}

/// Encodes a model (real weights) in the model encoding, rounded to nearest; a weight beyond
/// its range (±8) is an error, not clipped.
#[pyfunction]
fn encode_model(py: Python<'_>, values: Vec<f64>) -> PyResult<Vec<i64>> {
    py.allow_threads(|| FixedPointConfig::default().model().encode(&values, Rounding::Nearest).map_err(encoding_error))
}

/// Decodes a model from the model encoding to real weights.
#[pyfunction]
fn decode_model(values: Vec<i64>) -> Vec<f64> {
    FixedPointConfig::default().model().decode(&values)
}

/// A job's domain (public input 1): chain id, market address, job id and the slot owners in
/// slot order.
#[pyfunction]
fn job_domain(chain_id: u64, market: &str, job_id: u64, roster: Vec<String>) -> PyResult<BigUint> {
    let roster =
        roster.iter().map(|a| Ok(session::address("roster", a)?.into_array())).collect::<PyResult<Vec<_>>>()?;
    let market = session::address("market", market)?.into_array();
    let domain = JobDomain { chain_id, market, job_id, roster_hash: roster_hash(&roster) };
    Ok(to_int(domain.value()))
}

/// The commitment `C_i` a trainer posts for its encoded update in `round` from `slot`.
#[pyfunction]
fn commit_update(py: Python<'_>, domain: BigUint, round: u32, slot: usize, values: Vec<i64>) -> PyResult<BigUint> {
    let domain = ark_bn254::Fr::from(domain);
    py.allow_threads(|| {
        fedproof_prover::commitment::commit_update(domain, round, slot, &values).map(to_int).map_err(encoding_error)
    })
}

/// The commitment to an encoded model of `job_id` starting `round` (round 0: the job's
/// `initialModel`).
#[pyfunction]
fn commit_model(py: Python<'_>, job_id: u64, round: u32, values: Vec<i64>) -> PyResult<BigUint> {
    py.allow_threads(|| {
        fedproof_prover::commitment::commit_model(job_id, round, &values).map(to_int).map_err(encoding_error)
    })
}

fn checked_blob(job_id: u64, round: u32, slot: u32, values: Vec<i64>) -> PyResult<UpdateBlob> {
    FixedPointConfig::default().update().check(&values).map_err(encoding_error)?;
    Ok(UpdateBlob { job_id, round, slot, values })
}

/// The update blob's bytes (a safetensors file, `fedproof-update-v2`): what is sealed, and what
/// the aggregator opens.
#[pyfunction]
fn update_blob<'py>(
    py: Python<'py>,
    job_id: u64,
    round: u32,
    slot: u32,
    values: Vec<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let blob = checked_blob(job_id, round, slot, values)?;
    Ok(PyBytes::new(py, &py.allow_threads(|| blob.encode())))
}

/// The update blob sealed to the aggregator's age `recipient` (`age1…`): what a trainer
/// uploads.
#[pyfunction]
fn seal_update<'py>(
    py: Python<'py>,
    recipient: &str,
    job_id: u64,
    round: u32,
    slot: u32,
    values: Vec<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let blob = checked_blob(job_id, round, slot, values)?;
    let sealed = py
        .allow_threads(|| fedproof_storage::seal_update(recipient, &blob))
        .map_err(|e| SealError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &sealed))
}

/// The extension module `fedproof._native` (the package `fedproof` re-exports it).
#[pymodule(name = "_native")]
fn fedproof_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("UPDATE_CLIP_BOUND", FixedPointConfig::default().update().clip_bound())?;
    m.add("MODEL_BOUND", FixedPointConfig::default().model().clip_bound())?;
    m.add("EncodingError", m.py().get_type::<EncodingError>())?;
    m.add("SealError", m.py().get_type::<SealError>())?;
    m.add("AddressError", m.py().get_type::<AddressError>())?;
    m.add("ModelFileError", m.py().get_type::<ModelFileError>())?;
    m.add("UnknownJobError", m.py().get_type::<UnknownJobError>())?;
    m.add("WrongNetworkError", m.py().get_type::<WrongNetworkError>())?;
    m.add("ChainFailure", m.py().get_type::<ChainFailure>())?;
    m.add_class::<trainer::Trainer>()?;
    m.add_class::<owner::Owner>()?;
    m.add_class::<aggregator::Aggregator>()?;
    m.add_function(wrap_pyfunction!(encode_update, m)?)?;
    m.add_function(wrap_pyfunction!(encode_model, m)?)?;
    m.add_function(wrap_pyfunction!(decode_model, m)?)?;
    m.add_function(wrap_pyfunction!(job_domain, m)?)?;
    m.add_function(wrap_pyfunction!(commit_update, m)?)?;
    m.add_function(wrap_pyfunction!(commit_model, m)?)?;
    m.add_function(wrap_pyfunction!(update_blob, m)?)?;
    m.add_function(wrap_pyfunction!(seal_update, m)?)?;
    Ok(())
}
