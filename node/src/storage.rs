//! Blob storage the roles meet through: content-addressed blobs (named by their SHA-256, which is
//! the `blobRef` put on-chain) in a directory, plus a pointer per (job, round) to the model blob
//! the aggregator published, so trainers can find the model a round starts from.
//!
//! Every read is checked against its hash. Blobs are JSON ([`UpdateBlob`], [`ModelBlob`]).

use std::fs;
use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A storage failure, naming the blob or file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Reading or writing a file failed.
    #[error("storage {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No blob with this reference is stored.
    #[error("blob {0} is not in storage")]
    Missing(B256),
    /// The stored bytes do not hash to their name.
    #[error("blob {0} is corrupt: its SHA-256 does not match its name")]
    Corrupt(B256),
    /// The blob is not the JSON expected.
    #[error("blob {blob} is not a valid {what}: {reason}")]
    Decode {
        /// The blob.
        blob: B256,
        /// What it should have been.
        what: &'static str,
        /// Why it is not.
        reason: String,
    },
}

// The blob types are the shared ones (fedproof_web_api::codec), so the node and the web API agree
// on one definition; this module still stores them as plain JSON until it moves to BlobStore.
pub use fedproof_web_api::codec::{ModelBlob, UpdateBlob};

/// A blob directory.
#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) the storage directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let dir = dir.into();
        for sub in ["blobs", "models"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|source| StorageError::Io { path, source })?;
        }
        Ok(Storage { dir })
    }

    fn blob_path(&self, r: &B256) -> PathBuf {
        self.dir.join("blobs").join(hex::encode(r))
    }

    fn model_pointer(&self, job_id: u64, round: u32) -> PathBuf {
        self.dir.join("models").join(format!("{job_id}-{round}"))
    }

    /// Stores bytes and returns their reference (SHA-256).
    pub fn put(&self, bytes: &[u8]) -> Result<B256, StorageError> {
        let r = B256::from_slice(&Sha256::digest(bytes));
        write_atomic(&self.blob_path(&r), bytes)?;
        Ok(r)
    }

    /// Reads a blob, checking it against its reference.
    pub fn get(&self, r: &B256) -> Result<Vec<u8>, StorageError> {
        let path = self.blob_path(r);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StorageError::Missing(*r)),
            Err(source) => return Err(StorageError::Io { path, source }),
        };
        if Sha256::digest(&bytes).as_slice() != r.as_slice() {
            return Err(StorageError::Corrupt(*r));
        }
        Ok(bytes)
    }

    /// Stores a JSON value as a blob.
    pub fn put_json<T: Serialize>(&self, value: &T) -> Result<B256, StorageError> {
        // Serializing plain structs of integers cannot fail.
        self.put(&serde_json::to_vec(value).unwrap_or_default())
    }

    /// Reads a JSON blob.
    pub fn get_json<T: for<'de> Deserialize<'de>>(&self, r: &B256, what: &'static str) -> Result<T, StorageError> {
        serde_json::from_slice(&self.get(r)?).map_err(|e| StorageError::Decode {
            blob: *r,
            what,
            reason: e.to_string(),
        })
    }

    /// Publishes the model round `round` of `job_id` starts from.
    pub fn publish_model(&self, model: &ModelBlob) -> Result<B256, StorageError> {
        let r = self.put_json(model)?;
        write_atomic(&self.model_pointer(model.job_id, model.round), hex::encode(r).as_bytes())?;
        Ok(r)
    }

    /// The published model of (job, round), if any.
    pub fn model(&self, job_id: u64, round: u32) -> Result<Option<ModelBlob>, StorageError> {
        let path = self.model_pointer(job_id, round);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StorageError::Io { path, source }),
        };
        let r: B256 = text.trim().parse().map_err(|_| StorageError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a blob reference"),
        })?;
        self.get_json(&r, "model blob").map(Some)
    }
}

/// Writes a file whole or not at all (a reader never sees half a blob).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    // Unique per process and call: concurrent tasks may write the same blob at once.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    fs::write(&tmp, bytes)
        .and_then(|_| fs::rename(&tmp, path))
        .map_err(|source| StorageError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_checked_and_models_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Storage::open(dir.path()).expect("open");
        let r = store.put(b"hello").expect("put");
        assert_eq!(store.get(&r).expect("get"), b"hello");
        fs::write(store.blob_path(&r), b"hellO").expect("tamper");
        assert!(matches!(store.get(&r), Err(StorageError::Corrupt(_))));
        assert!(matches!(store.get(&B256::ZERO), Err(StorageError::Missing(_))));
        assert_eq!(store.model(1, 0).expect("model"), None);
        let m = ModelBlob { job_id: 1, round: 0, values: vec![1, -2] };
        store.publish_model(&m).expect("publish");
        assert_eq!(store.model(1, 0).expect("model"), Some(m));
    }
}
