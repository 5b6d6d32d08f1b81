//! The typed view of the blob store that the roles and the intake meet through
//! ([`crate::blobs`]: CIDv1 names, a local directory or S3, every read checked):
//! the job spec, the models (public) and the updates (sealed to the aggregator with age).
//!
//! On-chain a blob is named by the sha2-256 digest inside its CID (`specHash`, `blobRef`). A
//! model is found through a name per (market, job, round) that its publisher sets; whoever reads
//! it checks it against the model commitment on-chain.

use alloy_primitives::{Address, B256};
use bytes::Bytes;
use cid::Cid;

use crate::blobs::{self, BlobError, BlobStore};
use crate::codec::{AggregateBlob, ChunkedRoundBlob, CodecError, JobSpecBlob, ModelBlob, UpdateBlob};
use crate::sealed::{self, AggregatorKey, SealError};

/// A storage failure, naming the blob.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Storing or fetching failed, or the blob is missing or corrupt.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A sealed update does not open with the aggregator's key.
    #[error("update blob {cid}: {source}")]
    Sealed {
        /// The blob's CID.
        cid: String,
        /// Why.
        source: SealError,
    },
    /// Sealing to the job's recipient failed (a malformed `age1…` key in the spec).
    #[error(transparent)]
    Seal(SealError),
    /// The blob is not the document expected.
    #[error("blob {cid}: {source}")]
    Decode {
        /// The blob's CID.
        cid: String,
        /// Why.
        source: CodecError,
    },
}

/// A blob store seen as the job's documents: spec, models, sealed updates.
#[derive(Debug, Clone)]
pub struct Storage {
    blobs: BlobStore,
}

impl Storage {
    /// Opens a store: a directory (created if missing), `file://…` or `s3://bucket/prefix`.
    pub fn open(location: &str) -> Result<Self, StorageError> {
        Ok(Storage { blobs: BlobStore::open(location)? })
    }

    /// The underlying content-addressed store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Stores a job spec and returns its CID.
    pub async fn put_spec(&self, spec: &JobSpecBlob) -> Result<Cid, StorageError> {
        Ok(self.blobs.put(Bytes::from(spec.encode())).await?)
    }

    /// The job spec `specHash` names.
    pub async fn spec(&self, spec_hash: B256) -> Result<JobSpecBlob, StorageError> {
        let cid = blobs::cid_from_ref(spec_hash.0);
        let bytes = self.blobs.get(&cid).await?;
        JobSpecBlob::decode(&bytes).map_err(|source| StorageError::Decode { cid: cid.to_string(), source })
    }

    /// Stores a model blob (without publishing it under a name) and returns its CID.
    pub async fn put_model(&self, model: &ModelBlob) -> Result<Cid, StorageError> {
        Ok(self.blobs.put(Bytes::from(model.encode())).await?)
    }

    /// Stores `model` and makes it the published model of its (job, round) on `market`.
    pub async fn publish_model(&self, market: Address, model: &ModelBlob) -> Result<Cid, StorageError> {
        let cid = self.put_model(model).await?;
        self.blobs.set_name(&model_name(market, model.job_id, model.round), &cid).await?;
        Ok(cid)
    }

    /// The model blob named `cid`.
    pub async fn model_at(&self, cid: &Cid) -> Result<ModelBlob, StorageError> {
        let bytes = self.blobs.get(cid).await?;
        ModelBlob::decode(&bytes).map_err(|source| StorageError::Decode { cid: cid.to_string(), source })
    }

    /// The published model of (market, job, round), if any.
    pub async fn model(&self, market: Address, job_id: u64, round: u32) -> Result<Option<ModelBlob>, StorageError> {
        match self.blobs.resolve(&model_name(market, job_id, round)).await? {
            Some(cid) => self.model_at(&cid).await.map(Some),
            None => Ok(None),
        }
    }

    /// Stores a round's aggregate `S` and makes it the published one of its (job, round) on
    /// `market` (what every role replays the model from); returns its CID, which a chunked
    /// round's record also names. Idempotent: the same round gives the same bytes.
    pub async fn publish_aggregate(&self, market: Address, aggregate: &AggregateBlob) -> Result<Cid, StorageError> {
        let cid = self.blobs.put(Bytes::from(aggregate.encode())).await?;
        self.blobs.set_name(&aggregate_name(market, aggregate.job_id, aggregate.round), &cid).await?;
        Ok(cid)
    }

    /// The published aggregate of (market, job, round), if any.
    pub async fn published_aggregate(
        &self,
        market: Address,
        job_id: u64,
        round: u32,
    ) -> Result<Option<AggregateBlob>, StorageError> {
        match self.blobs.resolve(&aggregate_name(market, job_id, round)).await? {
            Some(cid) => self.aggregate_at(&cid).await.map(Some),
            None => Ok(None),
        }
    }

    /// Stores a chunked round's record and makes it the published one of its (job, round) on
    /// `market`. Idempotent: the same round gives the same bytes.
    pub async fn publish_chunked_round(&self, market: Address, record: &ChunkedRoundBlob) -> Result<Cid, StorageError> {
        let cid = self.blobs.put(Bytes::from(record.encode())).await?;
        self.blobs.set_name(&chunked_round_name(market, record.job_id, record.round), &cid).await?;
        Ok(cid)
    }

    /// The published record of a chunked round of (market, job, round), if any.
    pub async fn chunked_round(
        &self,
        market: Address,
        job_id: u64,
        round: u32,
    ) -> Result<Option<ChunkedRoundBlob>, StorageError> {
        let Some(cid) = self.blobs.resolve(&chunked_round_name(market, job_id, round)).await? else {
            return Ok(None);
        };
        let bytes = self.blobs.get(&cid).await?;
        let record =
            ChunkedRoundBlob::decode(&bytes).map_err(|source| StorageError::Decode { cid: cid.to_string(), source })?;
        Ok(Some(record))
    }

    /// The aggregate a chunked round's record names.
    pub async fn aggregate(&self, record: &ChunkedRoundBlob) -> Result<AggregateBlob, StorageError> {
        self.aggregate_at(&blobs::parse_cid(&record.aggregate)?).await
    }

    /// The aggregate blob named `cid`.
    async fn aggregate_at(&self, cid: &Cid) -> Result<AggregateBlob, StorageError> {
        let bytes = self.blobs.get(cid).await?;
        AggregateBlob::decode(&bytes).map_err(|source| StorageError::Decode { cid: cid.to_string(), source })
    }

    /// Stores already sealed update bytes and returns their CID.
    pub async fn put_sealed(&self, sealed: Vec<u8>) -> Result<Cid, StorageError> {
        Ok(self.blobs.put(Bytes::from(sealed)).await?)
    }

    /// Fetches the update `blobRef` names and opens it with the aggregator's key.
    pub async fn update(&self, key: &AggregatorKey, blob_ref: B256) -> Result<UpdateBlob, StorageError> {
        let cid = blobs::cid_from_ref(blob_ref.0);
        let sealed = self.blobs.get(&cid).await?;
        let plain =
            sealed::open(key, &sealed).map_err(|source| StorageError::Sealed { cid: cid.to_string(), source })?;
        UpdateBlob::decode(&plain).map_err(|source| StorageError::Decode { cid: cid.to_string(), source })
    }
}

/// Seals an update to the aggregator's public key (`age1…`).
pub fn seal_update(recipient: &str, update: &UpdateBlob) -> Result<Vec<u8>, StorageError> {
    sealed::seal(recipient, &update.encode()).map_err(StorageError::Seal)
}

/// The on-chain name (`blobRef`, `specHash`) of a blob's bytes.
pub fn blob_ref_of(bytes: &[u8]) -> B256 {
    B256::from_slice(blobs::cid_of(bytes).hash().digest())
}

/// The name under which a chunked round's record is published.
fn chunked_round_name(market: Address, job_id: u64, round: u32) -> String {
    format!("chunked/{market:#x}/{job_id}/{round}")
}

/// The name under which a round's aggregate is published.
fn aggregate_name(market: Address, job_id: u64, round: u32) -> String {
    format!("aggregates/{market:#x}/{job_id}/{round}")
}

/// The name under which a round's model is published.
fn model_name(market: Address, job_id: u64, round: u32) -> String {
    format!("models/{market:#x}/{job_id}/{round}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn updates_are_sealed_and_models_found_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Storage::open(dir.path().to_str().expect("utf-8")).expect("open");
        let key = AggregatorKey::generate();
        let update = UpdateBlob { job_id: 1, round: 0, slot: 2, values: vec![17, -3, 99] };
        let sealed = seal_update(&key.recipient(), &update).expect("seal");
        let cid = store.put_sealed(sealed.clone()).await.expect("put");
        let blob_ref = blob_ref_of(&sealed);
        assert_eq!(blob_ref.as_slice(), cid.hash().digest());
        assert_eq!(store.update(&key, blob_ref).await.expect("opens"), update);

        // The stored bytes are ciphertext: no JSON, no values.
        let stored = std::fs::read(dir.path().join(cid.to_string())).expect("stored file");
        assert!(UpdateBlob::decode(&stored).is_err());
        assert!(!stored.windows(6).any(|w| w == b"values"), "the stored update is plaintext");
        let err = store.update(&AggregatorKey::generate(), blob_ref).await.expect_err("wrong key");
        assert!(err.to_string().contains(&cid.to_string()), "{err}");

        let market = Address::repeat_byte(7);
        assert_eq!(store.model(market, 1, 0).await.expect("model"), None);
        let m = ModelBlob { job_id: 1, round: 0, values: vec![1, -2] };
        store.publish_model(market, &m).await.expect("publish");
        assert_eq!(store.model(market, 1, 0).await.expect("model"), Some(m));
        assert_eq!(store.model(Address::ZERO, 1, 0).await.expect("other market"), None);
    }
}
