//! Talking to Ethereum: a signing client with retries and checks (a node that stops answering is
//! waited out with backoff: `outage`), typed transaction helpers, the deployment of the contract
//! stack, and conversions between field elements and EVM words.

pub mod anvil;
pub mod client;
pub mod deploy;
pub mod outage;
pub mod words;

pub use client::{Chain, ChainError, Connection};
pub use deploy::Stack;
