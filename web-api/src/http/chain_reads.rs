//! Two contract reads in one JSON-RPC request: the intake's per-upload reads that depend on each
//! other only in pairs (`slotOf` with `jobState`, then `commitments` with `blobRefs` of that
//! slot) go to the node as two batches instead of four requests. Under load the node is the
//! intake's bottleneck (anvil answers on the cores the server shares), and each request costs
//! it an HTTP exchange besides the call.
//!
//! By hand because alloy batches raw JSON-RPC (`BatchRequest`) but not contract calls:
//! its `CallBatchLayer` needs a Multicall3 contract, which a local chain does not have.

use super::error::ApiError;
use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockId;
use alloy::primitives::Bytes;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::client::BatchRequest;
use alloy::rpc::types::TransactionRequest;

/// Runs `a` and `b` as `eth_call`s at the latest block in one batch; their decoded outputs.
pub async fn read_two<P, A, B>(
    provider: &DynProvider,
    a: CallBuilder<P, A>,
    b: CallBuilder<P, B>,
) -> Result<(A::CallOutput, B::CallOutput), ApiError>
where
    P: Provider,
    A: CallDecoder,
    B: CallDecoder,
{
    let mut batch = BatchRequest::new(provider.client());
    let upstream = |e: alloy::transports::TransportError| ApiError::Upstream(e.to_string());
    let params = |c: &TransactionRequest| (c.clone(), BlockId::latest());
    let first = batch.add_call::<_, Bytes>("eth_call", &params(a.as_ref())).map_err(upstream)?;
    let second = batch.add_call::<_, Bytes>("eth_call", &params(b.as_ref())).map_err(upstream)?;
    batch.send().await.map_err(upstream)?;
    let (first, second) = tokio::try_join!(first, second).map_err(upstream)?;
    Ok((a.decode_output(first)?, b.decode_output(second)?))
}
