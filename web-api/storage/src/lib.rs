//! # fedproof-storage
//!
//! fedproof's off-chain data, shared by the HTTP service (the aggregator's intake) and the node's
//! roles, so both read and write one format:
//! - [`blobs`]: content-addressed blob storage (CIDv1, any `object_store` backend), every read checked.
//! - [`codec`]: the documents inside blobs (job spec, update, model).
//! - [`layout`]: a job's model as named tensors (safetensors), flattened by its layout.
//! - [`sealed`]: update blobs encrypted to the aggregator (age X25519).
//! - [`store`]: the typed view the roles use: specs by `specHash`, models by name, sealed updates.
//! - [`check`]: the one check that an update blob is what a slot committed to on-chain.
//! - [`upload`]: a signed upload's fields and a receipt's signature, checked as the intake and a
//!   trainer receive them.
#![forbid(unsafe_code)]

pub mod blobs;
pub mod check;
pub mod codec;
pub mod layout;
pub mod sealed;
pub mod store;
pub mod upload;

pub use check::{check_update, SlotCommitment, UpdateMismatch};
pub use codec::{AggregateBlob, ChunkedRoundBlob, JobSpecBlob, ModelBlob, UpdateBlob};
pub use layout::{LayoutError, ModelLayout, Recipe, TensorSpec};
pub use store::{blob_ref_of, seal_update, Storage, StorageError};
