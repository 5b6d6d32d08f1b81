//! A chunked job's rounds on chain and in storage (prover/src/chunked; contracts/README.md,
//! "Chunked rounds"):
//!
//! - [`settle`]: what the aggregator proves and sends: every chunk proof and the final proof,
//!   the finalization with `C(S)` and `H`, the published record (the aggregate `S`, every chunk's
//!   digest and proof), and the answer to a challenged chunk;
//! - [`challenges`]: the challenges of a job (open, answered, refuted), the aggregator answering
//!   them from its record, and the auditor's choice of a chunk to challenge;
//! - [`audit`]: the auditor's round-by-round check of a chunked job, and its challenges and
//!   refutations.

pub mod audit;
pub mod challenges;
pub mod settle;

pub use challenges::{chunk_to_challenge, ChunkAuditError};
pub use settle::{answer, digest_word, finalization};
