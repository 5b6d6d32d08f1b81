//! Content-addressed blob storage: CIDv1 names (raw codec, sha2-256), any `object_store` backend,
//! every read checked against its name.
//!
//! A CIDv1 over the raw bytes is what IPFS assigns to a single-block raw file, so blobs can be
//! pinned there unchanged; on-chain the 32-byte sha2-256 digest stands for the CID (`blob_ref`).

use std::sync::Arc;

use bytes::Bytes;
use cid::multihash::Multihash;
use cid::Cid;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

/// Multicodec code of raw bytes.
const RAW: u64 = 0x55;
/// Multihash code of sha2-256.
const SHA2_256: u64 = 0x12;

/// What can go wrong storing or fetching a blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob with that name is stored.
    #[error("blob {cid} is not in the store")]
    Missing {
        /// The name asked for.
        cid: String,
    },
    /// The stored bytes do not hash to their name.
    #[error("blob {cid} is corrupt: its stored bytes hash to {actual}")]
    Corrupt {
        /// The name asked for.
        cid: String,
        /// The name of the bytes found.
        actual: String,
    },
    /// The name is not a CIDv1 with raw codec and sha2-256.
    #[error("{cid} is not a fedproof blob name (expected CIDv1, raw codec, sha2-256)")]
    UnsupportedCid {
        /// The offending name.
        cid: String,
    },
    /// A string that is not a CID at all.
    #[error("{text:?} is not a CID: {reason}")]
    BadCid {
        /// The text given.
        text: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The store location could not be opened.
    #[error("cannot open blob store {location:?}: {reason}")]
    Location {
        /// The location given.
        location: String,
        /// Why it failed.
        reason: String,
    },
    /// The backend failed.
    #[error("blob store error on {cid}: {source}")]
    Store {
        /// The blob concerned.
        cid: String,
        /// The backend's error.
        #[source]
        source: object_store::Error,
    },
}

/// Result of blob operations.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// A content-addressed store on top of an `object_store` backend.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl BlobStore {
    /// Opens a store: a plain path or `file://` URL is a local directory (created if missing);
    /// `s3://bucket/prefix` is S3 or an S3-compatible service configured by the usual `AWS_*`
    /// environment variables (`AWS_ENDPOINT` for MinIO and friends).
    pub fn open(location: &str) -> Result<Self> {
        let fail = |reason: String| BlobError::Location { location: location.to_string(), reason };
        let store: Arc<dyn ObjectStore> = match location.split_once("://") {
            Some(("s3", _)) => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(location)
                    .build()
                    .map_err(|e| fail(e.to_string()))?,
            ),
            Some(("file", path)) => Arc::new(local(path).map_err(fail)?),
            Some((scheme, _)) => {
                return Err(fail(format!("unsupported scheme {scheme:?} (use a path, file:// or s3://)")))
            }
            None => Arc::new(local(location).map_err(fail)?),
        };
        Ok(BlobStore { store, location: location.to_string() })
    }

    /// Where this store lives, as given to [`BlobStore::open`].
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores bytes under their CID and returns it; storing the same bytes twice is a no-op.
    pub async fn put(&self, bytes: Bytes) -> Result<Cid> {
        let cid = cid_of(&bytes);
        let path = Path::from(cid.to_string());
        if self.contains(&cid).await? {
            return Ok(cid);
        }
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|source| BlobError::Store { cid: cid.to_string(), source })?;
        Ok(cid)
    }

    /// Fetches a blob and checks that its bytes hash to its name.
    pub async fn get(&self, cid: &Cid) -> Result<Bytes> {
        check_cid(cid)?;
        let name = cid.to_string();
        let bytes = match self.store.get(&Path::from(name.clone())).await {
            Ok(found) => found.bytes().await.map_err(|source| BlobError::Store { cid: name.clone(), source })?,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::Missing { cid: name }),
            Err(source) => return Err(BlobError::Store { cid: name, source }),
        };
        let actual = cid_of(&bytes);
        if &actual != cid {
            return Err(BlobError::Corrupt { cid: name, actual: actual.to_string() });
        }
        Ok(bytes)
    }

    /// Points a mutable name (e.g. `models/<market>/<job>/<round>`) at a blob. Names live under
    /// `names/`, beside the content-addressed blobs; whoever resolves one still gets the blob
    /// checked against its CID, and callers check its content against the chain.
    pub async fn set_name(&self, name: &str, cid: &Cid) -> Result<()> {
        check_cid(cid)?;
        let payload = PutPayload::from(Bytes::from(cid.to_string()));
        self.store
            .put(&name_path(name), payload)
            .await
            .map_err(|source| BlobError::Store { cid: format!("name {name}"), source })?;
        Ok(())
    }

    /// The blob a name points at, if the name is set.
    pub async fn resolve(&self, name: &str) -> Result<Option<Cid>> {
        let bytes = match self.store.get(&name_path(name)).await {
            Ok(found) => found.bytes().await,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => Err(e),
        }
        .map_err(|source| BlobError::Store { cid: format!("name {name}"), source })?;
        parse_cid(&String::from_utf8_lossy(&bytes)).map(Some)
    }

    /// Whether a blob with this name is stored (its content is not checked).
    pub async fn contains(&self, cid: &Cid) -> Result<bool> {
        match self.store.head(&Path::from(cid.to_string())).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(BlobError::Store { cid: cid.to_string(), source }),
        }
    }
}

fn name_path(name: &str) -> Path {
    Path::from(format!("names/{name}"))
}

fn local(path: &str) -> std::result::Result<LocalFileSystem, String> {
    std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
    LocalFileSystem::new_with_prefix(path).map_err(|e| e.to_string())
}

/// The CIDv1 (raw, sha2-256) of some bytes.
pub fn cid_of(bytes: &[u8]) -> Cid {
    cid_from_ref(Sha256::digest(bytes).into())
}

/// The CID whose sha2-256 digest is `digest` (the inverse of [`blob_ref`]).
pub fn cid_from_ref(digest: [u8; 32]) -> Cid {
    // wrap only fails for digests longer than the 64-byte capacity
    let hash = Multihash::<64>::wrap(SHA2_256, &digest).unwrap_or_default();
    Cid::new_v1(RAW, hash)
}

/// The 32-byte digest that stands for a CID on-chain (`blobRef`).
pub fn blob_ref(cid: &Cid) -> Result<[u8; 32]> {
    check_cid(cid)?;
    cid.hash().digest().try_into().map_err(|_| BlobError::UnsupportedCid { cid: cid.to_string() })
}

/// Parses a CID from its text form (e.g. `bafkrei…`).
pub fn parse_cid(text: &str) -> Result<Cid> {
    let cid: Cid =
        text.parse().map_err(|e: cid::Error| BlobError::BadCid { text: text.to_string(), reason: e.to_string() })?;
    check_cid(&cid)?;
    Ok(cid)
}

fn check_cid(cid: &Cid) -> Result<()> {
    let ok = cid.version() == cid::Version::V1
        && cid.codec() == RAW
        && cid.hash().code() == SHA2_256
        && cid.hash().digest().len() == 32;
    if ok {
        Ok(())
    } else {
        Err(BlobError::UnsupportedCid { cid: cid.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_matches_ipfs_for_raw_blocks() {
        // `ipfs add --raw-leaves --cid-version 1` of "hello world\n"
        assert_eq!(cid_of(b"hello world\n").to_string(), "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
        let cid = cid_of(b"x");
        assert_eq!(cid_from_ref(blob_ref(&cid).expect("raw sha256")), cid);
        assert_eq!(parse_cid(&cid.to_string()).expect("parses"), cid);
        assert!(matches!(parse_cid("not-a-cid"), Err(BlobError::BadCid { .. })));
    }

    #[tokio::test]
    async fn local_store_round_trips_and_detects_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("opens");
        let cid = store.put(Bytes::from_static(b"update bytes")).await.expect("put");
        assert_eq!(store.put(Bytes::from_static(b"update bytes")).await.expect("put again"), cid);
        assert_eq!(&store.get(&cid).await.expect("get")[..], b"update bytes");

        let missing = cid_of(b"never stored");
        let err = store.get(&missing).await.expect_err("missing");
        assert!(err.to_string().contains(&missing.to_string()), "{err}");

        std::fs::write(dir.path().join(cid.to_string()), b"tampered").expect("overwrite");
        let err = store.get(&cid).await.expect_err("corrupt");
        assert!(matches!(err, BlobError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&cid.to_string()));

        assert_eq!(store.resolve("models/1/0").await.expect("unset"), None);
        store.set_name("models/1/0", &cid).await.expect("set");
        store.set_name("models/1/0", &missing).await.expect("moved");
        assert_eq!(store.resolve("models/1/0").await.expect("resolves"), Some(missing));

        let url = format!("file://{}", dir.path().display());
        assert!(BlobStore::open(&url).expect("file url").contains(&missing).await.is_ok());
        assert!(matches!(BlobStore::open("ftp://x/y"), Err(BlobError::Location { .. })));
    }
}
