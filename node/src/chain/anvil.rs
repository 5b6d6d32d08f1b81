//! A local anvil for the demo and the benches: the platform binary behind npm's script (see
//! [`fedproof_contracts::anvil`]), so that dropping its handle stops it.

use std::path::Path;

use alloy::node_bindings::{Anvil, AnvilInstance};
use anyhow::Context;

/// Starts anvil from `path` (npm's `.bin/anvil` or a binary) with `accounts` funded accounts of
/// 1000 ETH each; it stops when the handle is dropped.
pub fn spawn(path: &Path, accounts: usize) -> anyhow::Result<AnvilInstance> {
    Anvil::at(fedproof_contracts::anvil::native_anvil(path))
        .args(["--accounts", &accounts.to_string(), "--balance", "1000"])
        .try_spawn()
        .with_context(|| format!("starting anvil from {} (run `make contracts-deps`)", path.display()))
}
