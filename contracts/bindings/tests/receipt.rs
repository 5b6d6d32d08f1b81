//! The upload receipt's digest computed in Rust (`fedproof_contracts::receipt`) equals the
//! deployed JobMarket's `receiptDigest` on a real anvil chain, for several receipts, and differs
//! under another market (the domain names the contract).

use std::path::Path;

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use fedproof_contracts::receipt::{receipt_digest, UploadReceipt};
use fedproof_contracts::{JobMarket, ReliabilityRegistry};

const CONTRACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[tokio::test]
async fn the_local_receipt_digest_is_the_contracts() {
    let anvil = Anvil::at(Path::new(CONTRACTS).join("node_modules/.bin/anvil")).spawn();
    let signer: PrivateKeySigner = anvil.keys()[0].clone().into();
    let admin = signer.address();
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(anvil.endpoint_url());
    let registry = ReliabilityRegistry::deploy(&provider, admin, U256::from(10u64).pow(U256::from(17))).await;
    let registry = registry.expect("registry deploys");
    let market = JobMarket::deploy(&provider, *registry.address(), admin).await.expect("market deploys");
    let chain_id = provider.get_chain_id().await.expect("chain id");

    let receipts = [
        UploadReceipt::new(0, 0, 0, U256::ZERO, B256::ZERO),
        UploadReceipt::new(7, 3, 9, U256::from(123_456_789u64), B256::repeat_byte(0xab)),
        UploadReceipt::new(u64::MAX, u32::MAX, u8::MAX, U256::MAX >> 2, B256::repeat_byte(0x01)),
    ];
    for r in &receipts {
        let (round, slot) = (U256::from(r.round), U256::from(r.slot));
        let theirs = market.receiptDigest(r.jobId, round, slot, r.commitment, r.blobRef).call().await.expect("digest");
        assert_eq!(receipt_digest(chain_id, *market.address(), r), theirs, "{r:?}");
    }
    let elsewhere = receipt_digest(chain_id, Address::repeat_byte(0x11), &receipts[1]);
    assert_ne!(elsewhere, receipt_digest(chain_id, *market.address(), &receipts[1]));
    assert_ne!(
        receipt_digest(chain_id + 1, *market.address(), &receipts[1]),
        receipt_digest(chain_id, *market.address(), &receipts[1])
    );
}
