//! A signing connection to an Ethereum node: key loading, chain-id check, RPC retries, nonces
//! read from the node for each transaction, and typed send helpers that await receipts and name
//! revert reasons.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockNumberOrTag;
use alloy::network::Ethereum;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use alloy::transports::layers::RetryBackoffLayer;
use fedproof_contracts::{JobMarket, ReliabilityRegistry};

/// Environment variable holding a hex private key.
pub const KEY_ENV: &str = "FEDPROOF_PRIVATE_KEY";
/// Environment variable holding the password of `--keystore`.
pub const KEYSTORE_PASSWORD_ENV: &str = "FEDPROOF_KEYSTORE_PASSWORD";

/// What can go wrong between the node and the chain; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// No key was given.
    #[error("no signing key: set {KEY_ENV}, or pass --keystore FILE with its password in {KEYSTORE_PASSWORD_ENV}")]
    NoKey,
    /// The key in the environment does not parse (the key itself is never echoed).
    #[error("{KEY_ENV} is not a valid private key (expected 32 bytes of hex)")]
    BadKey,
    /// The keystore file could not be decrypted.
    #[error("cannot open keystore {path}: {reason} (check the file and {KEYSTORE_PASSWORD_ENV})")]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The RPC URL does not parse.
    #[error("invalid RPC URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node did not answer.
    #[error("cannot reach the Ethereum node at {url}: {reason} (is it running? check --rpc)")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node serves another chain than the one asked for.
    #[error("wrong network: the node at {url} serves chain {found}, but --chain-id is {expected}")]
    WrongChain {
        /// The URL.
        url: String,
        /// The chain id asked for.
        expected: u64,
        /// The chain id the node reports.
        found: u64,
    },
    /// The signer cannot pay for a transaction.
    #[error(
        "{what} failed: account {address} has {balance} wei, too little for the value and gas (fund it and retry)"
    )]
    InsufficientFunds {
        /// What was attempted.
        what: String,
        /// The signer.
        address: Address,
        /// Its balance (wei).
        balance: alloy::primitives::U256,
    },
    /// A call or transaction failed; `reason` names the contract error when there is one.
    #[error("{what} failed: {reason}")]
    Call {
        /// What was attempted.
        what: String,
        /// Why, e.g. `UnknownJob(UnknownJob { jobId: 7 })`.
        reason: String,
    },
}

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The node's HTTP RPC URL.
    pub rpc: String,
    /// The chain id the caller expects, checked on connect.
    pub chain_id: Option<u64>,
    /// An encrypted JSON keystore to sign with (else the key comes from [`KEY_ENV`]).
    pub keystore: Option<PathBuf>,
}

/// A connected signer.
#[derive(Clone)]
pub struct Chain {
    /// The provider: signing wallet, the node's nonces, gas and chain-id fillers, retrying
    /// transport.
    pub provider: DynProvider,
    /// The signer's address.
    pub address: Address,
    /// The chain id the node reports.
    pub chain_id: u64,
    /// The signer itself, for off-chain signatures (intake uploads).
    pub signer: PrivateKeySigner,
    /// Held from reading the signer's nonce until the node has the transaction, so the clones of
    /// one connection never send two transactions with the same nonce.
    sending: Arc<tokio::sync::Mutex<()>>,
}

/// Loads the signing key: a keystore file if given (password from [`KEYSTORE_PASSWORD_ENV`]),
/// else [`KEY_ENV`].
pub fn load_signer(keystore: Option<&Path>) -> Result<PrivateKeySigner, ChainError> {
    if let Some(path) = keystore {
        let password = std::env::var(KEYSTORE_PASSWORD_ENV).map_err(|_| ChainError::Keystore {
            path: path.to_path_buf(),
            reason: format!("{KEYSTORE_PASSWORD_ENV} is not set"),
        })?;
        return PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|e| ChainError::Keystore { path: path.to_path_buf(), reason: e.to_string() });
    }
    let key = std::env::var(KEY_ENV).map_err(|_| ChainError::NoKey)?;
    key.trim().parse().map_err(|_| ChainError::BadKey)
}

impl Connection {
    /// Loads the signer and connects.
    pub async fn connect(&self) -> Result<Chain, ChainError> {
        Chain::connect(&self.rpc, self.chain_id, load_signer(self.keystore.as_deref())?).await
    }
}

impl Chain {
    /// Connects `signer` to the node at `rpc`, checking the chain id when `expected` is given.
    pub async fn connect(rpc: &str, expected: Option<u64>, signer: PrivateKeySigner) -> Result<Chain, ChainError> {
        let url = rpc.parse::<Url>().map_err(|e| ChainError::BadUrl { url: rpc.to_string(), reason: e.to_string() })?;
        // Retries rate limits and transient node errors with exponential backoff (alloy's layer).
        let client = RpcClient::builder().layer(RetryBackoffLayer::new(5, 200, 10_000)).http(url);
        let address = signer.address();
        // The recommended fillers but for the nonce: alloy's cached nonce manager does not follow
        // the chain back after a reorg dropped a transaction of this signer (every later one
        // would wait in the pool for the missing nonce), so each transaction takes the node's
        // pending count instead (and `send` serialises this connection's sends).
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer.clone())
            .connect_client(client)
            .erased();
        let found = provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::Unreachable { url: rpc.to_string(), reason: e.to_string() })?;
        if let Some(expected) = expected.filter(|&e| e != found) {
            return Err(ChainError::WrongChain { url: rpc.to_string(), expected, found });
        }
        Ok(Chain { provider, address, chain_id: found, signer, sending: Arc::default() })
    }

    /// A JobMarket instance at `address`.
    pub fn market(&self, address: Address) -> JobMarket::JobMarketInstance<DynProvider> {
        JobMarket::new(address, self.provider.clone())
    }

    /// A ReliabilityRegistry instance at `address`.
    pub fn registry(&self, address: Address) -> ReliabilityRegistry::ReliabilityRegistryInstance<DynProvider> {
        ReliabilityRegistry::new(address, self.provider.clone())
    }

    /// Sends a transaction, awaits its receipt, and fails unless it succeeded.
    pub async fn send<P, D>(
        &self,
        what: &str,
        call: CallBuilder<P, D, Ethereum>,
    ) -> Result<TransactionReceipt, ChainError>
    where
        P: Provider<Ethereum>,
        D: CallDecoder,
    {
        // Estimating first (which takes no nonce) refuses a reverting transaction, with the
        // contract's error, before the fillers take a nonce for it. Against the pending block: its
        // timestamp is the one the transaction will see.
        let call = call.block(BlockNumberOrTag::Pending.into());
        let gas = match call.estimate_gas().await {
            Ok(gas) => gas,
            Err(e) if e.to_string().to_lowercase().contains("insufficient funds") => {
                let balance = self.provider.get_balance(self.address).await.unwrap_or_default();
                return Err(ChainError::InsufficientFunds { what: what.into(), address: self.address, balance });
            }
            Err(e) => return Err(call_error(what, e)),
        };
        // Headroom: the estimate is for the state it ran on, and concurrent transactions (other
        // trainers joining, say) can make this one cost a little more (a cold slot, a first write).
        let gas = gas + gas / 4 + 10_000;
        // The nonce is the node's pending count (see `connect`), so a transaction a reorg dropped
        // is sent again with the chain's nonce; one send of this connection at a time until the
        // node has it, so two never take the same nonce.
        let turn = self.sending.lock().await;
        let pending = call.gas(gas).send().await.map_err(|e| call_error(what, e))?;
        drop(turn);
        fedproof_web_api::pause::point(&format!("sent {what}"));
        let receipt =
            pending.get_receipt().await.map_err(|e| ChainError::Call { what: what.into(), reason: e.to_string() })?;
        if !receipt.status() {
            return Err(ChainError::Call {
                what: what.into(),
                reason: format!("transaction {} reverted", receipt.transaction_hash),
            });
        }
        tracing::debug!(what, tx = %receipt.transaction_hash, gas = receipt.gas_used, "mined");
        Ok(receipt)
    }

    /// The latest block's timestamp (contract deadlines are in chain time, not wall time).
    pub async fn now(&self) -> Result<u64, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| ChainError::Call { what: "reading the latest block".into(), reason: e.to_string() })?
            .ok_or_else(|| ChainError::Call { what: "reading the latest block".into(), reason: "no block".into() })?;
        Ok(block.header.timestamp)
    }

    /// The input of a mined transaction (the auditor reads proofs from `finalizeRound` calldata).
    pub async fn transaction_input(&self, hash: B256) -> Result<alloy::primitives::Bytes, ChainError> {
        use alloy::consensus::Transaction;
        let what = || format!("reading transaction {hash}");
        let tx = self
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(|e| ChainError::Call { what: what(), reason: e.to_string() })?
            .ok_or_else(|| ChainError::Call { what: what(), reason: "not found".into() })?;
        Ok(tx.input().clone())
    }
}

/// A failed call as one line, naming the contract's custom error when the revert data decodes.
pub fn call_error(what: &str, e: alloy::contract::Error) -> ChainError {
    let reason = if let Some(err) = e.as_decoded_interface_error::<JobMarket::JobMarketErrors>() {
        format!("the contract refused: {err:?}")
    } else if let Some(err) = e.as_decoded_interface_error::<ReliabilityRegistry::ReliabilityRegistryErrors>() {
        format!("the registry refused: {err:?}")
    } else {
        e.to_string()
    };
    ChainError::Call { what: what.into(), reason }
}
