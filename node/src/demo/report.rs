//! The demo's results: per-round rows, the summary metrics, the printed table and the JSON document.

use serde::Serialize;

/// One round as the demo saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RoundSummary {
    /// The round.
    pub round: u32,
    /// Test accuracy of the model after the round.
    pub accuracy: f64,
    /// Slots flagged as outliers (present, not inliers) or unavailable.
    pub flagged: Vec<usize>,
    /// Slots that were truly malicious.
    pub malicious: Vec<usize>,
    /// Contribution scores per slot.
    pub scores: Vec<u64>,
    /// Seconds spent proving.
    pub prove_seconds: f64,
    /// Gas of `finalizeRound`.
    pub finalize_gas: u64,
    /// The `finalizeRound` transaction.
    pub tx: String,
}

/// The demo's JSON document (`--json` prints it, `--report FILE` writes it).
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Trainers and how many were malicious.
    pub trainers: usize,
    /// Malicious trainers.
    pub malicious: usize,
    /// Rounds.
    pub rounds: u32,
    /// FedAvg accuracy with every trainer honest.
    pub clean_accuracy: f64,
    /// Accuracy of the on-chain robust run.
    pub final_accuracy: f64,
    /// Plain FedAvg accuracy under the same attack.
    pub fedavg_attacked_accuracy: f64,
    /// Malicious submissions flagged / malicious submissions.
    pub outlier_recall: f64,
    /// Honest submissions flagged / honest submissions.
    pub outlier_false_positive_rate: f64,
    /// Share of the paid budget that went to honest trainers.
    pub honest_payout_share: f64,
    /// Rounds whose proof the on-chain verifier accepted in the audit.
    pub rounds_verified_onchain: usize,
    /// Whether the audit (with recomputation) passed.
    pub audit_ok: bool,
    /// Wei withdrawn per trainer.
    pub payouts_wei: Vec<String>,
    /// Reliability score per trainer (0..1).
    pub reliability: Vec<f64>,
    /// Seconds the whole demo took.
    pub seconds: f64,
    /// Per-round details.
    pub per_round: Vec<RoundSummary>,
}

impl DemoReport {
    /// Computes recall and false-positive rate from the rows.
    pub fn detection(rows: &[RoundSummary], trainers: usize) -> (f64, f64) {
        let (mut tp, mut pos, mut fp, mut neg) = (0usize, 0usize, 0usize, 0usize);
        for r in rows {
            for slot in 0..trainers {
                let bad = r.malicious.contains(&slot);
                let flagged = r.flagged.contains(&slot);
                if bad {
                    pos += 1;
                    tp += flagged as usize;
                } else {
                    neg += 1;
                    fp += flagged as usize;
                }
            }
        }
        (ratio(tp, pos), ratio(fp, neg))
    }

    /// The human-readable summary.
    pub fn table(&self) -> String {
        let mut t = format!(
            "{:>5} {:>8} {:<14} {:<14} {:>8} {:>10}  tx\n",
            "round", "accuracy", "flagged", "malicious", "prove s", "gas"
        );
        for r in &self.per_round {
            t += &format!(
                "{:>5} {:>7.2}% {:<14} {:<14} {:>8.1} {:>10}  {}\n",
                r.round,
                100.0 * r.accuracy,
                format!("{:?}", r.flagged),
                format!("{:?}", r.malicious),
                r.prove_seconds,
                r.finalize_gas,
                r.tx
            );
        }
        t += "\nslot  payout (wei)            reliability\n";
        for (i, (p, rel)) in self.payouts_wei.iter().zip(&self.reliability).enumerate() {
            t += &format!("{i:>4}  {p:<22}  {rel:.3}\n");
        }
        t += &format!(
            "\nfinal accuracy {:.2}%  (clean FedAvg {:.2}%, FedAvg under attack {:.2}%)\n",
            100.0 * self.final_accuracy,
            100.0 * self.clean_accuracy,
            100.0 * self.fedavg_attacked_accuracy
        );
        t += &format!(
            "outlier recall {:.1}%, false positives {:.1}%, honest payout share {:.1}%\n",
            100.0 * self.outlier_recall,
            100.0 * self.outlier_false_positive_rate,
            100.0 * self.honest_payout_share
        );
        t += &format!(
            "audit {}: {}/{} rounds verified on-chain; {:.0} s in all\n",
            if self.audit_ok { "passed" } else { "FAILED" },
            self.rounds_verified_onchain,
            self.rounds,
            self.seconds
        );
        t
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
