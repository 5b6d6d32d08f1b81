//! Seeded synthetic rounds: honest updates near a common direction plus planted attackers.
//! Used by tests and `fedproof bench prover`; real rounds come from training.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use ark_bn254::Fr;

use super::RoundInput;
use crate::domain::{roster_hash, JobDomain};
use crate::params::{RoundParams, TAU_FRAC_BITS};
use crate::shape::Shape;

/// How a planted malicious slot of a synthetic round misbehaves (the node's `Attack` is how a
/// real trainer corrupts its training; the shared cases carry the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlantedAttack {
    /// The honest direction reversed and amplified.
    SignFlip,
    /// Large random noise.
    Noise,
    /// An all-zero update (free-riding; the node's trainers call it `Attack::FreeRide` too).
    FreeRide,
    /// An exact copy of the previous malicious slot's update (a Sybil).
    Sybil,
}

/// The attacks in the order `synthetic` plants them.
pub const ATTACKS: [PlantedAttack; 4] =
    [PlantedAttack::SignFlip, PlantedAttack::Noise, PlantedAttack::Sybil, PlantedAttack::FreeRide];

/// A synthetic round and which slots were malicious.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// The round.
    pub input: RoundInput,
    /// The attack per slot (`None` for honest slots).
    pub attacks: Vec<Option<PlantedAttack>>,
}

/// Parameters that suit synthetic rounds: f = malicious count, τ = 1.5, lr = 64.
pub fn default_params(shape: &Shape, malicious: usize) -> RoundParams {
    RoundParams {
        job_id: 1,
        round: 0,
        max_malicious: malicious.min(shape.trainers.saturating_sub(1)) as u8,
        tau: 3 << (TAU_FRAC_BITS - 1),
        lr: 64,
        next_lr: 64,
        dup_tol: shape.params as u32,
    }
}

/// The domain of synthetic rounds: job 1 of a market at 0xfe…fe on anvil's chain 31337, with an
/// empty roster.
pub fn sample_domain() -> Fr {
    JobDomain { chain_id: 31337, market: [0xfe; 20], job_id: 1, roster_hash: roster_hash(&[]) }.value()
}

/// Builds a round with `malicious` attackers in the last slots, cycling through [`ATTACKS`];
/// slots submit in slot order.
pub fn synthetic(shape: Shape, malicious: usize, seed: u64) -> Synthetic {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let d = shape.params;
    let n = shape.trainers;
    let direction: Vec<f64> = (0..d).map(|_| rng.gen_range(-40.0..40.0)).collect();
    let honest = n - malicious.min(n);
    let mut attacks = vec![None; n];
    let mut updates: Vec<Option<Vec<i64>>> = Vec::with_capacity(n);
    for i in 0..n {
        let update: Vec<i64> = if i < honest {
            direction.iter().map(|x| clamp(x + rng.gen_range(-15.0..15.0))).collect()
        } else {
            let attack = ATTACKS[(i - honest) % ATTACKS.len()];
            attacks[i] = Some(attack);
            match attack {
                PlantedAttack::SignFlip => direction.iter().map(|x| clamp(-3.0 * x)).collect(),
                PlantedAttack::Noise => (0..d).map(|_| rng.gen_range(-127..=127)).collect(),
                PlantedAttack::FreeRide => vec![0; d],
                PlantedAttack::Sybil => match updates.last() {
                    Some(Some(prev)) if i > honest => prev.clone(),
                    _ => direction.iter().map(|x| clamp(-3.0 * x)).collect(),
                },
            }
        };
        updates.push(Some(update));
    }
    let model = (0..d).map(|_| rng.gen_range(-(1 << 20)..(1 << 20))).collect();
    let params = default_params(&shape, malicious);
    let order = RoundInput::slot_order(&updates);
    Synthetic { input: RoundInput { shape, params, domain: sample_domain(), order, model, updates }, attacks }
}

fn clamp(x: f64) -> i64 {
    x.round().clamp(-127.0, 127.0) as i64
}
