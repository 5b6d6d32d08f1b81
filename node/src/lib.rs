//! The fedproof node as a library: the chain client, the marketplace roles and the
//! end-to-end demo, shared by the `fedproof` binary and its integration tests.
#![forbid(unsafe_code)]

pub mod chain;
pub mod demo;
pub mod progress;
pub mod proving;
pub mod roles;
pub mod shutdown;
pub mod training;
