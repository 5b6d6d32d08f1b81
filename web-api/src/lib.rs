//! fedproof's HTTP service: REST API, chain indexer, the aggregator's update intake and the
//! dashboard. Blobs, sealing and their documents are `fedproof-storage`'s, shared with the node.
//!
//! - [`db`]: the database (SQLite or PostgreSQL through `sqlx::AnyPool`, schema in `migrations/`).
//! - [`indexer`]: follows the contracts' events into the database.
//! - [`format`]: how chain values are written in the database and JSON.
//! - [`http`]: the REST API; [`serve`]: starts database, indexer and server together.
//! - [`pause`]: pause points where crash tests kill a process.
#![forbid(unsafe_code)]

pub mod db;
pub mod format;
pub mod http;
pub mod indexer;
pub mod pause;
pub mod serve;
