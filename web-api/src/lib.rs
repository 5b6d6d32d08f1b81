//! fedproof's HTTP service and the off-chain plumbing shared with the `fedproof` node.
//!
//! - [`db`]: the database (SQLite or PostgreSQL through `sqlx::AnyPool`, schema in `migrations/`).
//! - [`indexer`]: follows the contracts' events into the database.
//! - [`format`]: how chain values are written in the database and JSON.
//! - [`http`]: the REST API; [`serve`]: starts database, indexer and server together.
#![forbid(unsafe_code)]

pub mod db;
pub mod format;
pub mod indexer;
pub mod http;
pub mod serve;
