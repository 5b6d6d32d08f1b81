//! Talking to Ethereum: a signing client with retries and checks, typed transaction helpers, the
//! deployment of the contract stack, and conversions between field elements and EVM words.

pub mod anvil;
pub mod client;
pub mod deploy;
pub mod words;

pub use client::{Chain, ChainError, Connection};
pub use deploy::Stack;
