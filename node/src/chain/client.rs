//! A signing connection to an Ethereum node: key loading, chain-id check, RPC retries (a node
//! that stops answering is waited out: [`super::outage`]), nonces read from the node for each
//! transaction, and typed send helpers that sign once, send, await receipts and name revert
//! reasons.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::{BlockNumberOrTag, Encodable2718};
use alloy::network::Ethereum;
use alloy::primitives::{Address, B256};
use alloy::providers::fillers::{FillProvider, TxFiller};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use alloy::transports::layers::RetryBackoffLayer;
use alloy::transports::{RpcError, TransportResult};
use fedproof_contracts::{JobMarket, ReliabilityRegistry};

use super::outage::{NodeHealth, OutageLayer, MAX_OUTAGE};

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
    /// Fills (nonce, fees, chain id) and signs a transaction without sending it.
    signing: Arc<dyn Sign>,
    /// What the connection has seen of its node (retries while it did not answer).
    health: Arc<NodeHealth>,
}

/// Fills a transaction with the connection's fillers and signs it with its wallet, without
/// sending it: `send` then holds the signed bytes and can send exactly those again.
trait Sign: Send + Sync {
    fn sign(&self, tx: TransactionRequest) -> Pin<Box<dyn Future<Output = TransportResult<TxEnvelope>> + Send + '_>>;
}

impl<F, P> Sign for FillProvider<F, P, Ethereum>
where
    F: TxFiller<Ethereum>,
    P: Provider<Ethereum>,
{
    fn sign(&self, tx: TransactionRequest) -> Pin<Box<dyn Future<Output = TransportResult<TxEnvelope>> + Send + '_>> {
        Box::pin(async move {
            self.fill(tx)
                .await?
                .try_into_envelope()
                .map_err(|e| RpcError::local_usage_str(&format!("the transaction could not be filled and signed: {e}")))
        })
    }
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
        // A node that stops answering is waited out with exponential backoff (outermost), rate
        // limits and a node's 503 are retried by alloy's layer.
        let outage = OutageLayer::new(rpc, MAX_OUTAGE);
        let health = outage.health();
        let client = RpcClient::builder().layer(outage).layer(RetryBackoffLayer::new(5, 200, 10_000)).http(url);
        let address = signer.address();
        // The recommended fillers but for the nonce: alloy's cached nonce manager does not follow
        // the chain back after a reorg dropped a transaction of this signer (every later one
        // would wait in the pool for the missing nonce), so each transaction takes the node's
        // pending count instead (and `send` serialises this connection's sends).
        let filled = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer.clone())
            .connect_client(client);
        let signing: Arc<dyn Sign> = Arc::new(filled.clone());
        let provider = filled.erased();
        let found = provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::Unreachable { url: rpc.to_string(), reason: e.to_string() })?;
        if let Some(expected) = expected.filter(|&e| e != found) {
            return Err(ChainError::WrongChain { url: rpc.to_string(), expected, found });
        }
        Ok(Chain { provider, address, chain_id: found, signer, sending: Arc::default(), signing, health })
    }

    /// How many requests this connection has retried because the node did not answer.
    pub fn rpc_retries(&self) -> u64 {
        self.health.retries()
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
        // node has it, so two never take the same nonce. Signed once: if the node stops answering
        // meanwhile, what is sent again is this very transaction (same nonce, same hash), never a
        // second one with the next nonce.
        let turn = self.sending.lock().await;
        let signed = self.signing.sign(call.gas(gas).into_transaction_request()).await;
        let signed = signed.map_err(|e| ChainError::Call { what: what.into(), reason: e.to_string() })?;
        let hash = *signed.tx_hash();
        let raw = signed.encoded_2718();
        self.broadcast(what, hash, &raw).await?;
        drop(turn);
        fedproof_web_api::pause::point(&format!("sent {what}"));
        let receipt = self.receipt(what, hash, signed.nonce(), &raw).await?;
        if !receipt.status() {
            return Err(ChainError::Call {
                what: what.into(),
                reason: format!("transaction {} reverted", receipt.transaction_hash),
            });
        }
        tracing::debug!(what, tx = %receipt.transaction_hash, gas = receipt.gas_used, "mined");
        Ok(receipt)
    }

    /// Sends a signed transaction. An error after the node may have taken it (the outage layer
    /// replays a send whose answer was lost, and the node answers "already known" or "nonce too
    /// low") is no error when the node has this transaction.
    async fn broadcast(&self, what: &str, hash: B256, raw: &[u8]) -> Result<(), ChainError> {
        let Err(e) = self.provider.send_raw_transaction(raw).await else { return Ok(()) };
        if self.node_has(what, hash).await? {
            tracing::info!(what, tx = %hash, answer = %e, "the node already has the transaction");
            return Ok(());
        }
        Err(ChainError::Call { what: what.into(), reason: e.to_string() })
    }

    /// Whether the node knows transaction `hash` (pending or mined).
    async fn node_has(&self, what: &str, hash: B256) -> Result<bool, ChainError> {
        let tx = self.provider.get_transaction_by_hash(hash).await;
        Ok(tx.map_err(|e| ChainError::Call { what: what.into(), reason: e.to_string() })?.is_some())
    }

    /// Waits for the receipt of transaction `hash` (nonce `nonce`, signed bytes `raw`). A node
    /// that lost it (restarted with an empty pool, a reorg before it was mined) is sent the same
    /// bytes again, which can land at most once; if its nonce went to another transaction of
    /// this signer meanwhile, that is the error.
    async fn receipt(&self, what: &str, hash: B256, nonce: u64, raw: &[u8]) -> Result<TransactionReceipt, ChainError> {
        let failed = |e: alloy::transports::TransportError| ChainError::Call {
            what: what.into(),
            reason: format!("waiting for the receipt of {hash}: {e}"),
        };
        let mut wait = Duration::from_millis(20);
        loop {
            if let Some(receipt) = self.provider.get_transaction_receipt(hash).await.map_err(failed)? {
                return Ok(receipt);
            }
            if !self.node_has(what, hash).await? {
                let used = self.provider.get_transaction_count(self.address).await.map_err(failed)?;
                if used > nonce {
                    if let Some(receipt) = self.provider.get_transaction_receipt(hash).await.map_err(failed)? {
                        return Ok(receipt);
                    }
                    return Err(ChainError::Call {
                        what: what.into(),
                        reason: format!(
                            "transaction {hash} was dropped and its nonce {nonce} went to another transaction of {}",
                            self.address
                        ),
                    });
                }
                tracing::warn!(what, tx = %hash, nonce, "the node no longer has the transaction; sending it again");
                if let Err(e) = self.provider.send_raw_transaction(raw).await {
                    tracing::warn!(what, tx = %hash, error = %e, "sending the transaction again failed");
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
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
