//! JSON bodies of the API (the contract shared with the dashboard; extend only by adding fields).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /api/config`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Config {
    /// Chain id.
    pub chain_id: u64,
    /// The RPC the browser should use.
    pub rpc_url: String,
    /// JobMarket address.
    pub market: String,
    /// ReliabilityRegistry address.
    pub registry: String,
}

/// Query of `GET /api/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// open | active | completed | expired | cancelled.
    #[param(pattern = "^(open|active|completed|expired|cancelled)$")]
    pub status: Option<String>,
    /// Owner address.
    #[param(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub owner: Option<String>,
    /// 1-based page (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Page size, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

/// The last page `GET /api/jobs` serves (keeps the row offset far from overflow).
pub const MAX_PAGE: i64 = 1_000_000;

/// A job in lists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobSummary {
    /// Job id.
    pub id: i64,
    /// Owner.
    pub owner: String,
    /// Aggregator.
    pub aggregator: String,
    /// Payment token (zero address: ETH).
    pub token: String,
    /// Budget (wei).
    pub budget: String,
    /// Rounds.
    pub rounds: i64,
    /// Current round.
    pub current_round: i64,
    /// Trainer slots.
    pub trainers: i64,
    /// open | active | completed | expired | cancelled.
    pub status: String,
    /// Round verifier contract.
    pub verifier: String,
    /// Block of creation.
    pub created_block: i64,
    /// Transaction of creation.
    pub created_tx: String,
}

/// `GET /api/jobs`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    /// Jobs, newest first.
    pub items: Vec<JobSummary>,
    /// Page.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
    /// Jobs matching the filter.
    pub total: i64,
}

/// A round in a job's page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoundSummary {
    /// Round.
    pub round: i64,
    /// finalized | expired.
    pub status: String,
    /// Owner-published accuracy.
    pub accuracy: Option<f64>,
    /// Number of inliers.
    pub inliers: u32,
    /// Number of outliers (present, not inlier).
    pub outliers: u32,
    /// Sum of scores.
    pub total_score: String,
    /// Budget allocated to trainers (wei).
    pub allocated: String,
    /// Settling transaction.
    pub tx_hash: String,
}

/// A trainer in a job's page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobTrainer {
    /// Slot.
    pub slot: i64,
    /// Address.
    pub address: String,
    /// Allocated over the job's rounds (wei).
    pub earned: String,
    /// Reliability score in [0, 1] (null if never observed).
    pub reliability: Option<f64>,
}

/// `GET /api/jobs/{id}`: the summary fields (with `trainers` as the list of trainers and the
/// slot count in `slots`) plus stake, bond, spec, rounds and trainers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobDetail {
    /// Job id.
    pub id: i64,
    /// Owner.
    pub owner: String,
    /// Aggregator.
    pub aggregator: String,
    /// Payment token.
    pub token: String,
    /// Budget (wei).
    pub budget: String,
    /// Rounds.
    pub rounds: i64,
    /// Current round.
    pub current_round: i64,
    /// Trainer slots (n).
    pub slots: i64,
    /// Status.
    pub status: String,
    /// Verifier.
    pub verifier: String,
    /// Block of creation.
    pub created_block: i64,
    /// Transaction of creation.
    pub created_tx: String,
    /// Trainer stake (wei).
    pub stake: String,
    /// Aggregator bond (wei).
    pub bond: String,
    /// The model spec: hash and URI.
    pub model_spec: ModelSpec,
    /// Settled rounds.
    pub rounds_detail: Vec<RoundSummary>,
    /// Trainers by slot.
    pub trainers: Vec<JobTrainer>,
}

/// Where the model spec is and its hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelSpec {
    /// keccak256 of the spec.
    pub hash: String,
    /// URI of the spec.
    pub uri: String,
}

/// One slot of a round.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoundSlot {
    /// Slot.
    pub slot: i64,
    /// Trainer address.
    pub trainer: String,
    /// Update commitment (0 if none).
    pub commitment: String,
    /// Present in the round.
    pub present: bool,
    /// Kept by outlier removal.
    pub inlier: bool,
    /// Contribution score.
    pub score: String,
    /// Allocated payout (wei).
    pub payout: String,
}

/// `GET /api/jobs/{id}/rounds/{r}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoundDetail {
    /// Job id.
    pub job_id: i64,
    /// Round.
    pub round: i64,
    /// finalized | expired.
    pub status: String,
    /// Present slots: bit i for slot i (committed and not declared unavailable; for an expired
    /// round, the slots that committed), as 0x + 64 lowercase hex digits (a uint256: up to 256
    /// slots, more than a JSON number holds).
    #[schema(
        pattern = "^0x[0-9a-f]{64}$",
        example = "0x0000000000000000000000000000000000000000000000000000000000000007"
    )]
    pub presence_bits: String,
    /// Inlier slots (bit i for slot i), 0x + 64 hex digits.
    #[schema(
        pattern = "^0x[0-9a-f]{64}$",
        example = "0x0000000000000000000000000000000000000000000000000000000000000005"
    )]
    pub inlier_bits: String,
    /// Slots declared unavailable (bit i for slot i), 0x + 64 hex digits.
    #[schema(
        pattern = "^0x[0-9a-f]{64}$",
        example = "0x0000000000000000000000000000000000000000000000000000000000000000"
    )]
    pub unavailable_bits: String,
    /// ‖S‖², the squared norm of the inliers' aggregate, in decimal (null for an expired round).
    /// With the unavailable and inlier bits it makes the flags public inputs.
    pub aggregate_norm_sq: Option<String>,
    /// H, the chunk digest root of a chunked round (public input 3), 0x + 64 hex digits; null for
    /// a round proven whole (public input 3 is then 0) or an expired round.
    pub digest: Option<String>,
    /// Outlier slots.
    pub outliers: Vec<i64>,
    /// Slots.
    pub slots: Vec<RoundSlot>,
    /// The job's model word before the round: the previous round's C(S) (round 0: the
    /// initial model's C(w_0)).
    pub old_model: Option<String>,
    /// C(S), the commitment to the inliers' aggregate; the new model is replayed from it.
    pub new_model: Option<String>,
    /// Public inputs in verifier order (empty for an expired round): context, domain, C(S), H,
    /// the n commitments, ⌈n/28⌉ order words, ⌈n/64⌉ flags words, ⌈n/5⌉ score words.
    pub public_inputs: Vec<String>,
    /// The proof as 8 words (empty if not found).
    pub proof: Vec<String>,
    /// Verifier contract.
    pub verifier: String,
    /// Settling transaction.
    pub tx_hash: String,
    /// Its block.
    pub block: i64,
    /// Finalization time (unix s).
    pub finalized_at: Option<i64>,
    /// Owner-published accuracy.
    pub accuracy: Option<f64>,
}

/// `GET /api/jobs/{id}/rounds/{r}/audit`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Audit {
    /// The proof verified.
    pub ok: bool,
    /// Whether the server could run the verification.
    pub verified_offchain: bool,
    /// Inputs used.
    pub public_inputs: Vec<String>,
    /// Proof used.
    pub proof: Vec<String>,
    /// Why not ok.
    pub reason: Option<String>,
}

/// Body of `POST …/metrics`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricsBody {
    /// Held-out accuracy in [0, 1].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub accuracy: f64,
    /// EIP-191 signature of the owner over [`metrics_message`]: "fedproof metrics {id} {r} {accuracy}".
    #[schema(pattern = "^(0x)?[0-9a-fA-F]{130}$")]
    pub signature: String,
}

/// What a job owner signs (EIP-191) to publish a round's held-out accuracy.
pub fn metrics_message(job_id: impl std::fmt::Display, round: impl std::fmt::Display, accuracy: f64) -> String {
    format!("fedproof metrics {job_id} {round} {accuracy}")
}

/// A job of a trainer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrainerJob {
    /// Job id.
    pub job_id: i64,
    /// Slot.
    pub slot: i64,
    /// Allocated (wei).
    pub earned: String,
}

/// A reliability observation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReliabilityPoint {
    /// Block.
    pub block: i64,
    /// Score after it, in [0, 1].
    pub score: f64,
    /// The observation, in [0, 1].
    pub observation: f64,
    /// Job of the finalization that wrote it.
    pub job_id: Option<i64>,
    /// Its round.
    pub round: Option<i64>,
}

/// A trainer's reliability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrainerReliability {
    /// Score in [0, 1].
    pub score: f64,
    /// Observations.
    pub observations: i64,
    /// History, oldest first.
    pub history: Vec<ReliabilityPoint>,
}

/// `GET /api/trainers/{address}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Trainer {
    /// Address.
    pub address: String,
    /// Allocated over all jobs (wei).
    pub earned_total: String,
    /// Jobs joined.
    pub jobs: Vec<TrainerJob>,
    /// Reliability.
    pub reliability: TrainerReliability,
}

/// `GET /api/sources/{id}/reliability`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceReliability {
    /// Source id (bytes32).
    pub id: String,
    /// Score in [0, 1].
    pub score: f64,
    /// Observations.
    pub observations: i64,
    /// Time of the last observation (unix s).
    pub last_update: i64,
}

/// Body of `POST …/updates`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadBody {
    /// Trainer address.
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub trainer: String,
    /// Commitment (0x field element).
    #[schema(pattern = "^0x[0-9a-fA-F]{64}$")]
    pub commitment: String,
    /// Base64 of the sealed blob.
    #[schema(pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
    pub blob: String,
    /// EIP-191 signature over keccak256(abi.encode(jobId, round, commitment)).
    #[schema(pattern = "^(0x)?[0-9a-fA-F]{130}$")]
    pub signature: String,
}

/// What a trainer signs (EIP-191) to upload: `keccak256(abi.encode(jobId, round, commitment))`,
/// defined beside the upload's other checks in `fedproof-storage`.
pub use fedproof_storage::upload::upload_digest;

/// The aggregator's receipt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// Job id.
    pub job_id: i64,
    /// Round.
    pub round: i64,
    /// Slot.
    pub slot: i64,
    /// Commitment.
    pub commitment: String,
    /// EIP-712 UploadReceipt signature of the aggregator.
    pub signature: String,
}

/// `201` answer of `POST …/updates`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadAnswer {
    /// CID of the stored blob.
    pub cid: String,
    /// Slot.
    pub slot: i64,
    /// Receipt.
    pub receipt: Receipt,
}
