//! Verifying keys by verifier address: the ones configured at start, else read once from the
//! verifier contract itself (`RoundVerifier.verifyingKey()`), so an audit checks a proof against
//! exactly the key the contract checked it with.

use std::collections::HashMap;
use std::sync::RwLock;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use fedproof_contracts::RoundVerifier;
use fedproof_prover::export::calldata::{verifying_key_from_words, Word};

/// A cache of verifying keys keyed by lowercase 0x verifier address.
#[derive(Debug, Default)]
pub struct VerifyingKeys {
    known: RwLock<HashMap<String, VerifyingKey<Bn254>>>,
}

impl VerifyingKeys {
    /// Starts with the configured keys.
    pub fn new(configured: HashMap<String, VerifyingKey<Bn254>>) -> Self {
        VerifyingKeys { known: RwLock::new(configured) }
    }

    /// The key of `verifier`, reading it from the chain on first use; `Err` says why it is unknown.
    pub async fn get(&self, provider: &DynProvider, verifier: &str) -> Result<VerifyingKey<Bn254>, String> {
        if let Some(vk) = self.known.read().map_err(|_| "key cache poisoned".to_string())?.get(verifier) {
            return Ok(vk.clone());
        }
        let address: Address = verifier.parse().map_err(|e| format!("verifier {verifier:?} is not an address: {e}"))?;
        let onchain = RoundVerifier::new(address, provider)
            .verifyingKey()
            .call()
            .await
            .map_err(|e| format!("verifier {verifier} does not expose its verifying key: {e}"))?;
        let word = |w: &alloy::primitives::U256| Word(w.to_be_bytes());
        let key: Vec<Word> = onchain.key.iter().map(word).collect();
        let ic: Vec<Word> = onchain.ic.iter().map(word).collect();
        let vk = verifying_key_from_words(&key, &ic)
            .map_err(|e| format!("verifier {verifier} holds an invalid verifying key: {e}"))?;
        self.known.write().map_err(|_| "key cache poisoned".to_string())?.insert(verifier.to_string(), vk.clone());
        Ok(vk)
    }
}
