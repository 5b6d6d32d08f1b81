//! fedproof's HTTP service and the off-chain plumbing shared with the `fedproof` node.
#![forbid(unsafe_code)]
