//! fedproof's HTTP service and the off-chain plumbing it shares with the `fedproof` node.
//!
//! - [`blobs`]: content-addressed blob storage (CIDv1, any `object_store` backend).
//! - [`sealed`]: update blobs encrypted to the aggregator (age X25519).
//! - [`codec`]: the documents inside update and model blobs.
//! - [`db`]: the database (SQLite or PostgreSQL through `sqlx::AnyPool`, schema in `migrations/`).
//! - [`indexer`]: follows the contracts' events into the database.
//! - [`format`]: how chain values are written in the database and JSON.
//! - [`http`]: the REST API; [`serve`]: starts database, indexer and server together.
#![forbid(unsafe_code)]

pub mod blobs;
pub mod codec;
pub mod db;
pub mod format;
pub mod http;
pub mod indexer;
pub mod sealed;
pub mod serve;
