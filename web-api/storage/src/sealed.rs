//! Updates are private to the aggregator: blobs are encrypted to its X25519 public key with age.
//!
//! The commitment on-chain is over the plaintext values, so auditors need no plaintext (the
//! proof covers it) and whoever holds the aggregator's key can re-run a round.

use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;

/// What can go wrong sealing or opening a blob.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The recipient string is not an age X25519 public key.
    #[error("{recipient:?} is not an age public key (age1…): {reason}")]
    BadRecipient {
        /// The text given.
        recipient: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The secret key text is malformed (its content is never echoed).
    #[error("the aggregator key in {origin} is not an age secret key (AGE-SECRET-KEY-1…)")]
    BadKey {
        /// Where the key came from (a file path or "input").
        origin: String,
    },
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Encryption failed.
    #[error("cannot seal blob: {0}")]
    Encrypt(String),
    /// The ciphertext is not for this key, or is damaged.
    #[error("cannot open sealed blob: {0}")]
    Decrypt(String),
}

/// Result of sealing operations.
pub type Result<T, E = SealError> = std::result::Result<T, E>;

/// The aggregator's decryption key.
pub struct AggregatorKey(age::x25519::Identity);

impl std::fmt::Debug for AggregatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never print the secret
        write!(f, "AggregatorKey({})", self.recipient())
    }
}

impl AggregatorKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        AggregatorKey(age::x25519::Identity::generate())
    }

    /// Parses `AGE-SECRET-KEY-1…`; `origin` names where it came from in errors.
    pub fn parse(secret: &str, origin: &str) -> Result<Self> {
        age::x25519::Identity::from_str(secret.trim())
            .map(AggregatorKey)
            .map_err(|_| SealError::BadKey { origin: origin.to_string() })
    }

    /// Loads a key file written by [`AggregatorKey::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SealError::Io { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the secret key to a new file readable only by its owner.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| SealError::Io { path: path.display().to_string(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        std::io::Write::write_all(&mut file, self.0.to_string().expose_secret().as_bytes()).map_err(io)
    }

    /// The public key trainers seal their updates to (`age1…`).
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }
}

/// Encrypts a blob to the aggregator's public key.
pub fn seal(recipient: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    let to = age::x25519::Recipient::from_str(recipient.trim())
        .map_err(|reason| SealError::BadRecipient { recipient: recipient.to_string(), reason: reason.to_string() })?;
    age::encrypt(&to, plaintext).map_err(|e| SealError::Encrypt(e.to_string()))
}

/// Decrypts a blob sealed to `key`.
pub fn open(key: &AggregatorKey, ciphertext: &[u8]) -> Result<Vec<u8>> {
    age::decrypt(&key.0, ciphertext).map_err(|e| SealError::Decrypt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_with_the_right_key() {
        let key = AggregatorKey::generate();
        let sealed = seal(&key.recipient(), b"private update").expect("seals");
        assert!(!sealed.windows(7).any(|w| w == b"private"), "ciphertext leaks plaintext");
        assert_eq!(open(&key, &sealed).expect("opens"), b"private update");
        assert!(matches!(open(&AggregatorKey::generate(), &sealed), Err(SealError::Decrypt(_))));
        assert!(matches!(seal("age1nope", b"x"), Err(SealError::BadRecipient { .. })));
    }

    #[test]
    fn key_files_round_trip_without_leaking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("aggregator.key");
        let key = AggregatorKey::generate();
        key.save(&path).expect("saves");
        assert!(key.save(&path).is_err(), "never overwrites a key");
        assert_eq!(AggregatorKey::load(&path).expect("loads").recipient(), key.recipient());
        assert!(!format!("{key:?}").contains("SECRET"));
        std::fs::write(dir.path().join("bad.key"), "AGE-SECRET-KEY-1XYZ").expect("write");
        let err = AggregatorKey::load(&dir.path().join("bad.key")).expect_err("bad");
        assert!(!err.to_string().contains("XYZ"), "{err}");
    }
}
