//! fedproof's HTTP service and the off-chain plumbing it shares with the `fedproof` node.
//!
//! - [`blobs`]: content-addressed blob storage (CIDv1, any `object_store` backend).
//! - [`sealed`]: update blobs encrypted to the aggregator (age X25519).
//! - [`codec`]: the documents inside update and model blobs.
#![forbid(unsafe_code)]

pub mod blobs;
pub mod codec;
pub mod sealed;
