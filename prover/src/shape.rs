//! A job's shape: how many trainer slots and model parameters a round has, and the bit widths
//! of every intermediate quantity that follow from it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fixed_point::{MODEL_BITS, UPDATE_BITS};

/// The most trainer slots a round may have: the contracts' slot bitmaps are uint256.
pub const MAX_TRAINERS: usize = 256;
/// Bit width of a contribution score; scores are packed `SCORES_PER_WORD` per public input.
pub const SCORE_BITS: u32 = 48;
/// How many scores one public input carries.
pub const SCORES_PER_WORD: usize = 5;

/// Bit width of a slot's submission rank in an order word (ranks are 1..=n ≤ 256, 0 = none).
pub const ORDER_RANK_BITS: u32 = 9;
/// How many submission ranks one public input carries (28 · 9 = 252 bits).
pub const RANKS_PER_WORD: usize = 28;

/// Number of score words (public inputs carrying scores) for `trainers` slots: `⌈n/5⌉`.
pub fn score_word_count(trainers: usize) -> usize {
    trainers.div_ceil(SCORES_PER_WORD)
}

/// Number of order words (public inputs carrying submission ranks) for `trainers` slots:
/// `⌈n/28⌉`.
pub fn order_word_count(trainers: usize) -> usize {
    trainers.div_ceil(RANKS_PER_WORD)
}

/// Number of flags words (unavailable and inlier bits, ‖S‖² in the first) for `trainers`
/// slots: `⌈n/64⌉` ([`crate::slot_bits`]).
pub fn flag_word_count(trainers: usize) -> usize {
    crate::slot_bits::word_count(trainers)
}

/// Number of Groth16 public inputs for `trainers` slots: context, domain, C(S), H, C_1..C_n,
/// the order words, the flags words and the score words, `4 + n + ⌈n/28⌉ + ⌈n/64⌉ + ⌈n/5⌉`.
pub fn public_input_count(trainers: usize) -> usize {
    4 + trainers + order_word_count(trainers) + flag_word_count(trainers) + score_word_count(trainers)
}

/// The fixed shape of a job: `trainers` slots of `params`-long updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    /// Number of trainer slots `n`.
    pub trainers: usize,
    /// Number of model parameters `d`.
    pub params: usize,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} trainers × {} params", self.trainers, self.params)
    }
}

/// Number of bits needed to write `x` in binary.
pub(crate) fn bit_len(x: u128) -> u32 {
    128 - x.leading_zeros()
}

impl Shape {
    /// Checks the shape against the circuit's limits and returns it.
    pub fn new(trainers: usize, params: usize) -> Result<Self> {
        let shape = Shape { trainers, params };
        let invalid = |reason: String| Err(Error::InvalidShape { shape, reason });
        if trainers == 0 || trainers > MAX_TRAINERS {
            return invalid(format!("trainers must be in 1..={MAX_TRAINERS}"));
        }
        if params == 0 || params > 1 << 22 {
            return invalid("params must be in 1..=4194304".into());
        }
        // A score is at most ‖S‖² ≤ d·(n·2^(b-1))²; it must fit its packed slot.
        if bit_len(shape.max_aggregate_norm_sq()) > SCORE_BITS {
            return invalid(format!("scores could exceed {SCORE_BITS} bits; use fewer params or trainers"));
        }
        Ok(shape)
    }

    /// Largest magnitude of an encoded update value, `2^(UPDATE_BITS-1)`.
    pub(crate) fn update_abs_max() -> u128 {
        1 << (UPDATE_BITS - 1)
    }

    /// Upper bound of ‖S‖² for an aggregate of all slots.
    fn max_aggregate_norm_sq(&self) -> u128 {
        let s = self.trainers as u128 * Self::update_abs_max();
        self.params as u128 * s * s
    }

    /// Bits of a squared distance ‖Δ_i − Δ_j‖² (each coordinate differs by < 2^UPDATE_BITS).
    pub fn distance_bits(&self) -> u32 {
        let diff = (1u128 << UPDATE_BITS) - 1;
        bit_len(self.params as u128 * diff * diff)
    }

    /// Bits of a Krum score: a sum of at most n−1 squared distances.
    pub fn krum_bits(&self) -> u32 {
        self.distance_bits() + bit_len(self.trainers as u128)
    }

    /// Bits of |⟨Δ_i, Δ_j⟩|, the magnitude of a Gram matrix entry.
    pub fn gram_bits(&self) -> u32 {
        bit_len(self.params as u128 * Self::update_abs_max() * Self::update_abs_max())
    }

    /// Bits of |Σ_j ⟨Δ_i, Δ_j⟩| over all slots: alignment and contribution values.
    pub fn alignment_bits(&self) -> u32 {
        self.gram_bits() + bit_len(self.trainers as u128)
    }

    /// Bits of a trainer count (enough for 0..=n).
    pub fn count_bits(&self) -> u32 {
        bit_len(self.trainers as u128)
    }

    /// Number of field elements an update packs into.
    pub fn update_elements(&self) -> usize {
        self.params.div_ceil(crate::commitment::UPDATE_VALUES_PER_ELEMENT)
    }

    /// Number of field elements a model packs into.
    pub fn model_elements(&self) -> usize {
        self.params.div_ceil(crate::commitment::MODEL_VALUES_PER_ELEMENT)
    }

    /// Number of public inputs carrying scores.
    pub fn score_inputs(&self) -> usize {
        score_word_count(self.trainers)
    }

    /// Number of public inputs carrying submission ranks.
    pub fn order_inputs(&self) -> usize {
        order_word_count(self.trainers)
    }

    /// Number of public inputs carrying flags.
    pub fn flag_inputs(&self) -> usize {
        flag_word_count(self.trainers)
    }

    /// Total number of Groth16 public inputs: context, domain, C(S), H, C_1..C_n, order
    /// words, flags words, scores.
    pub fn num_public_inputs(&self) -> usize {
        public_input_count(self.trainers)
    }

    /// A short stable identifier, used to name cached keys.
    pub fn id(&self) -> String {
        format!("n{}-d{}-u{}-m{}", self.trainers, self.params, UPDATE_BITS, MODEL_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_shape_is_valid_and_bounds_are_tight() {
        let s = Shape::new(10, 2410).unwrap();
        assert_eq!(s.distance_bits(), 28);
        assert_eq!(s.num_public_inputs(), 4 + 10 + 1 + 1 + 2);
        assert_eq!(s.update_elements(), 78);
        assert_eq!(s.model_elements(), 268);
        assert_eq!(Shape::new(64, 8).unwrap().order_inputs(), 3);
        let most = Shape::new(MAX_TRAINERS, 8).unwrap();
        assert_eq!((most.order_inputs(), most.flag_inputs(), most.score_inputs()), (10, 4, 52));
        assert_eq!(most.num_public_inputs(), 4 + 256 + 10 + 4 + 52);
        // The last rank fits its bits, and a word's ranks fit below the field's 254 bits.
        assert!(MAX_TRAINERS < 1 << ORDER_RANK_BITS && RANKS_PER_WORD as u32 * ORDER_RANK_BITS <= 253);
    }

    #[test]
    fn rejects_bad_shapes_with_reason() {
        assert!(Shape::new(0, 10).unwrap_err().to_string().contains("trainers must be"));
        assert!(Shape::new(257, 10).is_err());
        assert!(Shape::new(64, 1 << 22).unwrap_err().to_string().contains("48 bits"));
    }
}
