//! The marketplace's roles, each a loop over chain state and storage: the owner posts jobs, the
//! trainers commit updates, the aggregator proves and settles rounds, the auditor re-checks them.

pub mod aggregator;
pub mod audit;
pub mod chunked;
pub mod intake;
pub mod job;
pub mod owner;
pub mod replay;
pub mod trainer;

pub use job::JobView;
