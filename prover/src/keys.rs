//! Proving and verifying keys on disk, cached by circuit: a round's shape, or a chunked round's
//! chunk or final circuit ([`Circuit`]).
//!
//! Each key file starts with a header — magic, kind, circuit version, the circuit and its sizes,
//! SHA-256 of the body — so that a key for another circuit or a damaged file is a clear error,
//! not a wrong proof. The
//! verifying key body is compressed arkworks serialization; the proving key body is uncompressed,
//! because decompressing its curve points costs far more than reading the larger file (demo
//! shape: 1.6 s uncompressed versus 64 s compressed, see `examples/key_formats.rs`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub use crate::snark::Circuit;

/// Bumped whenever a circuit or this file format changes, so stale cached keys are regenerated,
/// never misused (v6: the header names the circuit and its three sizes; v8: a whole round
/// commits to its aggregate C(S), not to the models; v9: 256 slots, flags state unavailable
/// slots and the circuit derives presence, 9-bit ranks, a chunk's mask in 64-slot words; v10: the
/// Gram witnesses are the diagonal and per-pair distance offsets, submission order by one bit per
/// pair).
pub const CIRCUIT_VERSION: u32 = 10;
const MAGIC: &[u8; 8] = b"FEDPROOF";
/// Bytes of a key file's header: magic, kind, circuit tag, version, the circuit's three sizes,
/// SHA-256 of the body (its last 32 bytes).
pub const HEADER_LEN: usize = 8 + 1 + 1 + 4 + 3 * 4 + 32;

/// Which key a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The proving key.
    Proving = 1,
    /// The verifying key.
    Verifying = 2,
}

/// A directory of keys, one subdirectory per circuit and circuit version.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

/// Keys for one circuit, and how long it took to get them.
pub struct Keys {
    /// The proving key.
    pub pk: ProvingKey<Bn254>,
    /// The verifying key.
    pub vk: VerifyingKey<Bn254>,
    /// Whether setup ran now (false when loaded from the cache).
    pub generated: bool,
    /// Seconds spent in setup or loading.
    pub seconds: f64,
    /// Seconds the setup of these keys took when it ran (recorded next to cached keys).
    pub setup_seconds: Option<f64>,
}

/// File next to cached keys recording how long their setup took.
const SETUP_NOTE: &str = "setup_seconds.txt";

impl KeyStore {
    /// A store rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    /// A store at `dir`, or at [`KeyStore::default_dir`] when none is given.
    pub fn at(dir: Option<PathBuf>) -> Self {
        KeyStore::new(dir.unwrap_or_else(Self::default_dir))
    }

    /// `$FEDPROOF_HOME/keys`, or `.fedproof/keys` in the working directory.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("FEDPROOF_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".fedproof")).join("keys")
    }

    /// Where the keys of a circuit live.
    pub fn shape_dir(&self, circuit: impl Into<Circuit>) -> PathBuf {
        self.dir.join(format!("{}-v{}", circuit.into().id(), CIRCUIT_VERSION))
    }

    /// Path of one key file.
    pub fn path(&self, circuit: impl Into<Circuit>, kind: KeyKind) -> PathBuf {
        self.shape_dir(circuit).join(match kind {
            KeyKind::Proving => "proving_key.bin",
            KeyKind::Verifying => "verifying_key.bin",
        })
    }

    /// Loads the keys of a circuit (a round's shape, or a [`Circuit`]), running setup (and
    /// caching the result) when absent.
    pub fn load_or_setup<R: RngCore + CryptoRng>(&self, circuit: impl Into<Circuit>, rng: &mut R) -> Result<Keys> {
        let circuit = circuit.into();
        let start = std::time::Instant::now();
        if self.path(circuit, KeyKind::Proving).exists() && self.path(circuit, KeyKind::Verifying).exists() {
            let pk = self.load_proving_key(circuit)?;
            let vk = self.load_verifying_key(circuit)?;
            let setup_seconds = self.setup_seconds(circuit);
            return Ok(Keys { pk, vk, generated: false, seconds: start.elapsed().as_secs_f64(), setup_seconds });
        }
        tracing::info!(%circuit, "running Groth16 setup");
        let (pk, vk) = circuit.setup(rng)?;
        let dir = self.shape_dir(circuit);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_key(&self.path(circuit, KeyKind::Proving), KeyKind::Proving, circuit, &pk, Compress::No)?;
        let setup_seconds = start.elapsed().as_secs_f64();
        write_key(&self.path(circuit, KeyKind::Verifying), KeyKind::Verifying, circuit, &vk, Compress::Yes)?;
        let note = dir.join(SETUP_NOTE);
        fs::write(&note, format!("{setup_seconds}\n")).map_err(|e| Error::io(&note, e))?;
        Ok(Keys { pk, vk, generated: true, seconds: start.elapsed().as_secs_f64(), setup_seconds: Some(setup_seconds) })
    }

    /// How long the setup of the cached keys took, if recorded.
    pub fn setup_seconds(&self, circuit: impl Into<Circuit>) -> Option<f64> {
        fs::read_to_string(self.shape_dir(circuit).join(SETUP_NOTE)).ok()?.trim().parse().ok()
    }

    /// Loads the proving key of a circuit.
    pub fn load_proving_key(&self, circuit: impl Into<Circuit>) -> Result<ProvingKey<Bn254>> {
        let circuit = circuit.into();
        // The digest in the header already vouches for the body; point validation would
        // add minutes at this size.
        read_key(&self.path(circuit, KeyKind::Proving), KeyKind::Proving, circuit, Compress::No, Validate::No)
    }

    /// Loads the verifying key of a circuit.
    pub fn load_verifying_key(&self, circuit: impl Into<Circuit>) -> Result<VerifyingKey<Bn254>> {
        let circuit = circuit.into();
        let path = self.path(circuit, KeyKind::Verifying);
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        decode_verifying_key(&bytes, &path.display().to_string(), circuit)
    }
}

/// Writes a key with its header; the file appears whole or not at all.
pub fn write_key<T: CanonicalSerialize>(
    path: &Path,
    kind: KeyKind,
    circuit: Circuit,
    key: &T,
    compress: Compress,
) -> Result<()> {
    let mut body = Vec::with_capacity(key.serialized_size(compress));
    key.serialize_with_mode(&mut body, compress).map_err(|e| Error::Corrupt {
        what: "key",
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(kind as u8);
    header.push(circuit.tag());
    header.extend_from_slice(&CIRCUIT_VERSION.to_le_bytes());
    for size in circuit.sizes() {
        header.extend_from_slice(&(size as u32).to_le_bytes());
    }
    header.extend_from_slice(&Sha256::digest(&body));
    // A temporary name of this writer's own: two processes (or threads) setting up the same
    // circuit at once must not rename each other's half-written file.
    let writer = format!("{}-{:?}", std::process::id(), std::thread::current().id());
    let tmp = path.with_extension(format!("tmp.{}", writer.replace(|c: char| !c.is_ascii_alphanumeric(), "")));
    let mut file = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(&header)
        .and_then(|_| file.write_all(&body))
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads a key, checking its header against the expected kind, version and circuit.
pub fn read_key<T: CanonicalDeserialize>(
    path: &Path,
    kind: KeyKind,
    circuit: Circuit,
    compress: Compress,
    validate: Validate,
) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_key(&bytes, &path.display().to_string(), kind, circuit, compress, validate)
}

/// Reads a proving key from the bytes of its file (as a prover worker gets it from the blob
/// store), checking the header as [`read_key`] does; `origin` names the bytes in errors.
pub fn decode_proving_key(bytes: &[u8], origin: &str, circuit: impl Into<Circuit>) -> Result<ProvingKey<Bn254>> {
    // As in `KeyStore::load_proving_key`: the header's digest vouches for the body.
    decode_key(bytes, origin, KeyKind::Proving, circuit.into(), Compress::No, Validate::No)
}

/// Reads a verifying key from the bytes of its file, checking the header and every point (as
/// [`KeyStore::load_verifying_key`] does); `origin` names the bytes in errors.
pub fn decode_verifying_key(bytes: &[u8], origin: &str, circuit: impl Into<Circuit>) -> Result<VerifyingKey<Bn254>> {
    decode_key(bytes, origin, KeyKind::Verifying, circuit.into(), Compress::Yes, Validate::Yes)
}

/// Checks a key file's header against the expected kind, version and circuit, then its digest,
/// and deserializes the body.
fn decode_key<T: CanonicalDeserialize>(
    bytes: &[u8],
    origin: &str,
    kind: KeyKind,
    circuit: Circuit,
    compress: Compress,
    validate: Validate,
) -> Result<T> {
    let corrupt = |reason: String| Error::Corrupt { what: "key file", path: origin.to_string(), reason };
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(corrupt("not a fedproof key file (bad magic or too short)".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (file_kind, tag, version) = (bytes[8], bytes[9], u32_at(10) as u32);
    let sizes = [u32_at(14), u32_at(18), u32_at(22)];
    let found = match Circuit::from_header(tag, sizes) {
        Some(found) => format!("a {} key, circuit v{version}, {found}", kind_name(file_kind)),
        None => format!("a {} key, circuit v{version}, unknown circuit {tag}", kind_name(file_kind)),
    };
    let expected = format!("a {} key, circuit v{CIRCUIT_VERSION}, {circuit}", kind_name(kind as u8));
    if file_kind != kind as u8 || version != CIRCUIT_VERSION || tag != circuit.tag() || sizes != circuit.sizes() {
        return Err(Error::WrongKey { path: origin.to_string(), expected, found });
    }
    let body = &bytes[HEADER_LEN..];
    if Sha256::digest(body).as_slice() != &bytes[26..HEADER_LEN] {
        return Err(corrupt("SHA-256 of the key does not match its header; delete it to regenerate".into()));
    }
    check_list_lengths(body, kind, compress).map_err(corrupt)?;
    T::deserialize_with_mode(body, compress, validate).map_err(|e| corrupt(e.to_string()))
}

/// One part of a Groth16 key's serialization: a point, or a list of points (a `u64` count, then
/// the points).
#[derive(Clone, Copy)]
enum Part {
    G1,
    G2,
    G1List,
    G2List,
}

/// A verifying key's parts in ark-groth16's order: alpha, beta, gamma, delta, IC.
const VERIFYING_PARTS: [Part; 5] = [Part::G1, Part::G2, Part::G2, Part::G2, Part::G1List];
/// What follows the verifying key in a proving key: beta, delta, then the A, B (G1 and G2), H and
/// L queries.
const PROVING_PARTS: [Part; 7] =
    [Part::G1, Part::G1, Part::G1List, Part::G1List, Part::G2List, Part::G1List, Part::G1List];

/// Checks that every list a key body announces fits in the bytes that follow its count, before
/// arkworks reserves memory for it: a count from a damaged or hostile file (the digest in the
/// header vouches for integrity, not for who wrote it) would otherwise abort the process with
/// a capacity overflow or an allocation of exabytes.
fn check_list_lengths(body: &[u8], kind: KeyKind, compress: Compress) -> std::result::Result<(), String> {
    let g1 = G1Affine::zero().serialized_size(compress);
    let g2 = G2Affine::zero().serialized_size(compress);
    let proving = [&VERIFYING_PARTS[..], &PROVING_PARTS[..]].concat();
    let parts = match kind {
        KeyKind::Verifying => &VERIFYING_PARTS[..],
        KeyKind::Proving => &proving[..],
    };
    let mut rest = body;
    for &part in parts {
        let (count, size) = match part {
            Part::G1 => (1, g1),
            Part::G2 => (1, g2),
            Part::G1List | Part::G2List => {
                let (count, after) = rest.split_first_chunk::<8>().ok_or("the key ends inside a list's length")?;
                rest = after;
                (u64::from_le_bytes(*count), if matches!(part, Part::G1List) { g1 } else { g2 })
            }
        };
        let bytes = usize::try_from(count).ok().and_then(|count| count.checked_mul(size));
        match bytes {
            Some(bytes) if bytes <= rest.len() => rest = &rest[bytes..],
            _ => return Err(format!("{count} points do not fit in the {} bytes left", rest.len())),
        }
    }
    Ok(())
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        1 => "proving",
        2 => "verifying",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;

    /// A key file whose IC list claims `u64::MAX` points (with its digest made right) is a clear
    /// error, not a capacity overflow (found by the `key_file` fuzz target, `node/fuzz`).
    #[test]
    fn a_list_longer_than_the_file_is_refused() {
        let circuit = Circuit::Round { shape: Shape { trainers: 4, params: 8 } };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verifying_key.bin");
        let vk = crate::export::toy::toy_proof(1).vk;
        write_key(&path, KeyKind::Verifying, circuit, &vk, Compress::Yes).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        assert_eq!(decode_verifying_key(&bytes, "vk", circuit).unwrap(), vk);
        // alpha (G1) and beta, gamma, delta (G2), then the IC count.
        let at = HEADER_LEN + G1Affine::zero().compressed_size() + 3 * G2Affine::zero().compressed_size();
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let digest = Sha256::digest(&bytes[HEADER_LEN..]);
        bytes[HEADER_LEN - 32..HEADER_LEN].copy_from_slice(&digest);
        let err = decode_verifying_key(&bytes, "vk", circuit).unwrap_err().to_string();
        assert!(err.contains("points do not fit"), "{err}");
    }
}
