//! Writes decoded events into the database. Every statement is idempotent (natural primary keys
//! with `ON CONFLICT DO NOTHING`, monotone status updates), so re-indexing a range changes nothing.

use super::events::{Event, Finalized, Position};
use crate::format::{address, bit, bits, hash, parse_amount, word};
use alloy::primitives::U256;
use fedproof_contracts::JobMarket::{self, JobMarketEvents as E};
use fedproof_prover::export::calldata::Word;
use fedproof_prover::round::public_inputs::unpack_score;
use sqlx::AnyConnection;

/// Stores one event.
pub async fn apply(conn: &mut AnyConnection, at: Position, event: &Event) -> sqlx::Result<()> {
    match event {
        Event::Market(e) => apply_market(conn, at, e).await,
        Event::Finalized(f) => finalized(conn, at.block as i64, &hash(&at.tx), f).await,
        Event::Reliability(updates, observed) => {
            // The market's write belongs to the round it names; a direct registry write to none.
            let round: Option<(i64, i64)> = observed.map(|(job, round)| (job as i64, round as i64));
            for (k, u) in updates.iter().enumerate() {
                let source = hash(&u.id);
                sqlx::query(
                    "INSERT INTO reliability_events (tx_hash, log_index, position, source, observation, score, \
                     observations, block, job_id, round) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(hash(&at.tx))
                .bind(at.log_index as i64)
                .bind(k as i64)
                .bind(&source)
                .bind(u.observation.to_string())
                .bind(u.score.to_string())
                .bind(u.observations as i64)
                .bind(at.block as i64)
                .bind(round.map(|r| r.0))
                .bind(round.map(|r| r.1))
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO reliability (source, score, observations, last_update, block) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (source) DO UPDATE SET score = excluded.score, observations = excluded.observations, \
                     last_update = excluded.last_update, block = excluded.block WHERE reliability.block <= excluded.block",
                )
                .bind(&source)
                .bind(u.score.to_string())
                .bind(u.observations as i64)
                .bind(u.last_update as i64)
                .bind(at.block as i64)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }
    }
}

/// Stores one JobMarket event: each kind has its own function below (`RoundFinalized`, which
/// comes with what the index adds to it, is [`finalized`]; `ChunkedRoundFinalized` is stored with
/// it).
async fn apply_market(conn: &mut AnyConnection, at: Position, e: &E) -> sqlx::Result<()> {
    let block = at.block as i64;
    let tx = hash(&at.tx);
    match e {
        E::JobCreated(e) => job_created(conn, block, &tx, e).await,
        E::BondPosted(e) => bond_posted(conn, block, &tx, e).await,
        E::Joined(e) => joined(conn, block, &tx, e).await,
        E::Left(e) => left(conn, block, &tx, e).await,
        E::UpdateSubmitted(e) => update_submitted(conn, block, &tx, e).await,
        E::RoundExpired(e) => expired(conn, block, &tx, e).await,
        E::JobCancelled(e) => job_cancelled(conn, block, &tx, e).await,
        E::Claimed(e) => claimed(conn, block, &tx, e).await,
        E::Disputed(e) => disputed(conn, block, &tx, e).await,
        E::Withdrawn(e) => withdrawn(conn, at, e).await,
        _ => Ok(()),
    }
}

/// A new job and its terms.
async fn job_created(conn: &mut AnyConnection, block: i64, tx: &str, e: &JobMarket::JobCreated) -> sqlx::Result<()> {
    let p = &e.params;
    sqlx::query(
        "INSERT INTO jobs (id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, \
             spec_uri, initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, \
             submit_window, finalize_window, dispute_window, current_round, status, bond_posted, created_block, \
             created_tx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, 0, 'open', 0, $24, $25) ON CONFLICT (id) DO NOTHING",
    )
    .bind(stored_id(e.jobId))
    .bind(address(&e.owner))
    .bind(address(&e.aggregator))
    .bind(address(&p.token))
    .bind(p.budget.to_string())
    .bind(e.roundBudget.to_string())
    .bind(p.stake.to_string())
    .bind(p.bond.to_string())
    .bind(address(&p.verifier))
    .bind(hash(&p.specHash))
    .bind(p.specURI.clone())
    .bind(word(&p.initialModel))
    .bind(i64::from(p.rounds))
    .bind(i64::from(p.trainers))
    .bind(i64::from(p.maxMalicious))
    .bind(i64::from(p.tau))
    .bind(i64::from(p.lr))
    .bind(i64::from(p.lrDecay))
    .bind(i64::from(p.dupTol))
    .bind(p.startTime.to::<i64>())
    .bind(i64::from(p.submitWindow))
    .bind(i64::from(p.finalizeWindow))
    .bind(i64::from(p.disputeWindow))
    .bind(block)
    .bind(tx)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The aggregator's bond is posted.
async fn bond_posted(conn: &mut AnyConnection, _block: i64, _tx: &str, e: &JobMarket::BondPosted) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET bond_posted = 1 WHERE id = $1").bind(stored_id(e.jobId)).execute(&mut *conn).await?;
    Ok(())
}

/// A trainer takes a slot (or takes it again).
async fn joined(conn: &mut AnyConnection, block: i64, _tx: &str, e: &JobMarket::Joined) -> sqlx::Result<()> {
    // A trainer who left before the start may join again (possibly another slot): the later
    // join wins, an older one replayed changes nothing.
    sqlx::query(
        "INSERT INTO job_trainers (job_id, trainer, slot, stake, active, joined_block) VALUES ($1, $2, $3, $4, 1, $5) \
             ON CONFLICT (job_id, trainer) DO UPDATE SET slot = excluded.slot, stake = excluded.stake, active = 1, \
             joined_block = excluded.joined_block WHERE job_trainers.joined_block < excluded.joined_block",
    )
    .bind(stored_id(e.jobId))
    .bind(address(&e.trainer))
    .bind(stored_id(e.slot))
    .bind(e.stake.to_string())
    .bind(block)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A trainer leaves before the start.
async fn left(conn: &mut AnyConnection, block: i64, _tx: &str, e: &JobMarket::Left) -> sqlx::Result<()> {
    sqlx::query("UPDATE job_trainers SET active = 0 WHERE job_id = $1 AND trainer = $2 AND joined_block <= $3")
        .bind(stored_id(e.jobId))
        .bind(address(&e.trainer))
        .bind(block)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A slot's commitment for a round.
async fn update_submitted(
    conn: &mut AnyConnection,
    block: i64,
    tx: &str,
    e: &JobMarket::UpdateSubmitted,
) -> sqlx::Result<()> {
    // Events are stored in chain order, so the rows already there for the round are the earlier
    // submissions: this one's rank is one more (the contract's submission order).
    sqlx::query(
        "INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             (SELECT COUNT(*) + 1 FROM submissions WHERE job_id = $1 AND round = $2)) ON CONFLICT DO NOTHING",
    )
    .bind(stored_id(e.jobId))
    .bind(stored_id(e.round))
    .bind(stored_id(e.slot))
    .bind(address(&e.trainer))
    .bind(word(&e.commitment))
    .bind(hash(&e.blobRef))
    .bind(block)
    .bind(tx)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE jobs SET status = 'active' WHERE id = $1 AND status = 'open'")
        .bind(stored_id(e.jobId))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A round missed its deadline: refunds and the bond split.
async fn expired(conn: &mut AnyConnection, block: i64, tx: &str, e: &JobMarket::RoundExpired) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO rounds (job_id, round, status, refunded, bond_slashed, presence_bits, block, tx_hash) \
             VALUES ($1, $2, 'expired', $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(stored_id(e.jobId))
    .bind(stored_id(e.round))
    .bind(e.refunded.to_string())
    .bind(e.bondSlashed.to_string())
    .bind(bits(&e.submittedBits))
    .bind(block)
    .bind(tx)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE jobs SET status = 'expired' WHERE id = $1")
        .bind(stored_id(e.jobId))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The owner cancelled the job.
async fn job_cancelled(
    conn: &mut AnyConnection,
    _block: i64,
    _tx: &str,
    e: &JobMarket::JobCancelled,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET status = 'cancelled' WHERE id = $1")
        .bind(stored_id(e.jobId))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A slot's payout claimed.
async fn claimed(conn: &mut AnyConnection, block: i64, tx: &str, e: &JobMarket::Claimed) -> sqlx::Result<()> {
    sqlx::query(
            "INSERT INTO claims (job_id, round, slot, trainer, amount, block, tx_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(stored_id(e.jobId))
        .bind(stored_id(e.round))
        .bind(stored_id(e.slot))
        .bind(address(&e.trainer))
        .bind(e.amount.to_string())
        .bind(block)
        .bind(tx)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A receipted update called unavailable: the bond slashed for it.
async fn disputed(conn: &mut AnyConnection, block: i64, tx: &str, e: &JobMarket::Disputed) -> sqlx::Result<()> {
    sqlx::query(
            "INSERT INTO disputes (job_id, round, slot, trainer, slashed, block, tx_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(stored_id(e.jobId))
        .bind(stored_id(e.round))
        .bind(stored_id(e.slot))
        .bind(address(&e.trainer))
        .bind(e.slashed.to_string())
        .bind(block)
        .bind(tx)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Funds withdrawn from the market.
async fn withdrawn(conn: &mut AnyConnection, at: Position, e: &JobMarket::Withdrawn) -> sqlx::Result<()> {
    let (block, tx) = (at.block as i64, hash(&at.tx));
    sqlx::query(
        "INSERT INTO withdrawals (tx_hash, log_index, token, account, amount, block) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
    )
    .bind(tx)
    .bind(at.log_index as i64)
    .bind(address(&e.token))
    .bind(address(&e.account))
    .bind(e.amount.to_string())
    .bind(block)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a finalized round, its per-slot outcome and payouts, and advances the job.
async fn finalized(conn: &mut AnyConnection, block: i64, tx: &str, f: &Finalized) -> sqlx::Result<()> {
    let e = &f.event;
    let (job, round) = (stored_id(e.jobId), stored_id(e.round));
    let (n, rounds, round_budget): (i64, i64, String) =
        sqlx::query_as("SELECT trainers, rounds, round_budget FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&mut *conn)
            .await?;
    let presence = presence(conn, job, round, e.unavailableBits).await?;
    let outcome = Outcome::new(presence, e, n as usize, parse_amount(&round_budget));
    if !round_row(conn, block, tx, f, &outcome).await? {
        return Ok(()); // re-indexed: the slot rows were written with the round row
    }
    slot_rows(conn, job, round, e.inlierBits, &outcome).await?;
    let status = if round + 1 >= rounds { "completed" } else { "active" };
    sqlx::query(
        "UPDATE jobs SET current_round = $2, status = $3 WHERE id = $1 AND current_round <= $4 \
         AND status IN ('open', 'active')",
    )
    .bind(job)
    .bind(round + 1)
    .bind(status)
    .bind(round)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a finalized round means per slot: who was present, each score and each payout.
struct Outcome {
    presence: U256,
    scores: Vec<U256>,
    payouts: Vec<U256>,
}

impl Outcome {
    /// The scores of the `n` slots and the shares JobMarket allocates when the round is recorded
    /// (its first claim or `recordReliability`, logged as `RoundAllocated`):
    /// floor(roundBudget * s_i / total).
    fn new(presence: U256, e: &JobMarket::RoundFinalized, n: usize, budget: U256) -> Self {
        let score_words: Vec<Word> = e.scoreWords.iter().map(|w| Word(w.to_be_bytes())).collect();
        let scores: Vec<U256> = (0..n).map(|slot| U256::from(unpack_score(&score_words, slot))).collect();
        let total: U256 = scores.iter().sum();
        let payouts = scores.iter().map(|s| if total.is_zero() { U256::ZERO } else { budget * s / total }).collect();
        Outcome { presence, scores, payouts }
    }
}

/// Presence as the circuit derives it: the slot committed on chain (its UpdateSubmitted is
/// stored: logs are stored in chain order) and was not declared unavailable.
async fn presence(conn: &mut AnyConnection, job: i64, round: i64, unavailable: U256) -> sqlx::Result<U256> {
    let submitted: Vec<i64> = sqlx::query_scalar("SELECT slot FROM submissions WHERE job_id = $1 AND round = $2")
        .bind(job)
        .bind(round)
        .fetch_all(&mut *conn)
        .await?;
    let submitted = submitted
        .iter()
        .filter(|&&slot| (0..256).contains(&slot))
        .fold(U256::ZERO, |acc, &slot| acc | (U256::from(1) << slot as usize));
    Ok(submitted & !unavailable)
}

/// Inserts the round's row; false when it was already there (a re-indexed range).
async fn round_row(conn: &mut AnyConnection, block: i64, tx: &str, f: &Finalized, o: &Outcome) -> sqlx::Result<bool> {
    let e = &f.event;
    let fin = f.finalization.as_ref();
    let words: Vec<String> = e.scoreWords.iter().map(|w| w.to_string()).collect();
    let total: U256 = o.scores.iter().sum();
    let allocated: U256 = o.payouts.iter().sum();
    let proof = fin.map(|f| serde_json::to_string(&f.proof.iter().map(word).collect::<Vec<_>>()).unwrap_or_default());
    let inserted = sqlx::query(
        "INSERT INTO rounds (job_id, round, status, model, new_model, domain, digest, inlier_bits, unavailable_bits, \
         presence_bits, aggregate_norm_sq, score_words, total_score, allocated, proof, finalized_at, block, tx_hash) \
         VALUES ($1, $2, 'finalized', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT DO NOTHING",
    )
    .bind(stored_id(e.jobId))
    .bind(stored_id(e.round))
    .bind(word(&e.model))
    .bind(word(&e.newModel))
    .bind(fin.map(|f| word(&f.domain)))
    .bind(f.digest.as_ref().map(word))
    .bind(bits(&e.inlierBits))
    .bind(bits(&e.unavailableBits))
    .bind(bits(&o.presence))
    .bind(e.aggregateNormSq.to_string())
    .bind(serde_json::to_string(&words).unwrap_or_default())
    .bind(total.to_string())
    .bind(allocated.to_string())
    .bind(proof)
    .bind(e.finalizedAt.to::<i64>())
    .bind(block)
    .bind(tx)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Inserts one row per slot: its trainer, presence, inlier flag, score and payout.
async fn slot_rows(conn: &mut AnyConnection, job: i64, round: i64, inliers: U256, o: &Outcome) -> sqlx::Result<()> {
    for (slot, (score, payout)) in o.scores.iter().zip(&o.payouts).enumerate() {
        // The slot's owner as the roster has it once the job started (an evicted trainer keeps
        // its slot, inactive; a trainer that left before the start has been replaced).
        let trainer: String = sqlx::query_scalar(
            "SELECT trainer FROM job_trainers WHERE job_id = $1 AND slot = $2 ORDER BY active DESC LIMIT 1",
        )
        .bind(job)
        .bind(slot as i64)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default();
        sqlx::query(
            "INSERT INTO round_slots (job_id, round, slot, trainer, present, inlier, score, payout) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(job)
        .bind(round)
        .bind(slot as i64)
        .bind(trainer)
        .bind(i64::from(bit(&o.presence, slot)))
        .bind(i64::from(bit(&inliers, slot)))
        .bind(score.to_string())
        .bind(payout.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A uint256 id, round or slot as stored (all small on a real chain; saturates otherwise).
fn stored_id(v: U256) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
