//! The Groth16 public inputs of a round, in their fixed order:
//!
//! | index            | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | 0                | context: job, round and hyper-parameters (`params::CONTEXT_LAYOUT`) |
//! | 1                | `C(w)`, commitment to the model the round starts from        |
//! | 2                | `C(w')`, commitment to the new model (tagged with round + 1) |
//! | 3 .. 3+n         | `C_1..C_n`, update commitments (0 for an empty slot)         |
//! | 3+n              | flags: presence bit i at bit i, inlier bit i at bit 64+i      |
//! | 4+n ..           | scores, 5 per input, score i at bits 48·(i mod 5) of input ⌊i/5⌋ |

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::export::calldata::Word;
use crate::params::RoundParams;
use crate::shape::{score_word_count, Shape};
pub use crate::shape::{SCORES_PER_WORD, SCORE_BITS};

/// Bit offset of the inlier bits in the flags input.
pub const INLIER_FLAG_OFFSET: usize = 64;

/// The public inputs of a round, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInputs {
    /// Packed round parameters.
    pub context: Fr,
    /// `C(w)`.
    pub model: Fr,
    /// `C(w')`.
    pub new_model: Fr,
    /// `C_1..C_n`.
    pub updates: Vec<Fr>,
    /// Presence and inlier bits.
    pub flags: Fr,
    /// Packed contribution scores.
    pub scores: Vec<Fr>,
}

impl PublicInputs {
    /// Assembles the public inputs from the round's values.
    pub fn new(
        params: &RoundParams,
        model: Fr,
        new_model: Fr,
        updates: Vec<Fr>,
        presence: &[bool],
        inliers: &[bool],
        scores: &[u64],
    ) -> Self {
        PublicInputs {
            context: params.context(),
            model,
            new_model,
            updates,
            flags: pack_flags(presence, inliers),
            scores: pack_scores(scores),
        }
    }

    /// The inputs in verifier order.
    pub fn to_vec(&self) -> Vec<Fr> {
        let mut v = vec![self.context, self.model, self.new_model];
        v.extend_from_slice(&self.updates);
        v.push(self.flags);
        v.extend_from_slice(&self.scores);
        v
    }

    /// Splits a verifier-ordered input vector by name, checking its length.
    pub fn from_vec(shape: &Shape, inputs: &[Fr]) -> Result<Self> {
        let n = shape.trainers;
        if inputs.len() != shape.num_public_inputs() {
            return Err(Error::LengthMismatch {
                what: "public inputs".into(),
                expected: shape.num_public_inputs(),
                found: inputs.len(),
            });
        }
        Ok(PublicInputs {
            context: inputs[0],
            model: inputs[1],
            new_model: inputs[2],
            updates: inputs[3..3 + n].to_vec(),
            flags: inputs[3 + n],
            scores: inputs[4 + n..].to_vec(),
        })
    }

    /// Reads back (presence, inliers) for `n` slots.
    pub fn flags(&self, n: usize) -> (Vec<bool>, Vec<bool>) {
        let big: BigUint = self.flags.into();
        let bit = |i: usize| big.bit(i as u64);
        ((0..n).map(bit).collect(), (0..n).map(|i| bit(INLIER_FLAG_OFFSET + i)).collect())
    }

    /// Reads back the scores of `n` slots.
    pub fn scores(&self, n: usize) -> Vec<u64> {
        unpack_scores(&self.scores.iter().map(Word::from_field).collect::<Vec<_>>(), n)
    }

    /// The public inputs from the words the contracts store (`JobMarket.context(job, round)`,
    /// C(w) and C(w') of `RoundFinalized`, the submitted commitments, the flags word and the score
    /// words), checking that each is a canonical field element and that the counts agree.
    pub fn from_words(words: InputWords<'_>) -> Result<Self> {
        let n = words.updates.len();
        if words.scores.len() != score_word_count(n) {
            return Err(Error::LengthMismatch {
                what: format!("score words for {n} slots"),
                expected: score_word_count(n),
                found: words.scores.len(),
            });
        }
        let field = |what: &str, word: &Word| {
            word.to_field::<Fr>().map_err(|e| Error::InvalidWord { what: what.to_owned(), reason: e.to_string() })
        };
        let many = |what: &str, words: &[Word]| {
            words.iter().enumerate().map(|(i, w)| field(&format!("{what} {i}"), w)).collect::<Result<Vec<_>>>()
        };
        Ok(PublicInputs {
            context: field("context", &words.context)?,
            model: field("model commitment", &words.model)?,
            new_model: field("new model commitment", &words.new_model)?,
            updates: many("update commitment", words.updates)?,
            flags: field("flags", &words.flags)?,
            scores: many("score word", words.scores)?,
        })
    }

    /// The inputs in verifier order as EVM words (what `verifyProof` takes as `uint256[N]`).
    pub fn to_words(&self) -> Vec<Word> {
        self.to_vec().iter().map(Word::from_field).collect()
    }
}

/// The public inputs as the contracts hold them, one 32-byte big-endian word each, by name
/// (for [`PublicInputs::from_words`]).
#[derive(Debug, Clone, Copy)]
pub struct InputWords<'a> {
    /// The packed context (`JobMarket.context(job, round)`, or [`RoundParams::context`]).
    pub context: Word,
    /// `C(w)`.
    pub model: Word,
    /// `C(w')`.
    pub new_model: Word,
    /// `C_1..C_n` as submitted (0 for a slot that never submitted).
    pub updates: &'a [Word],
    /// The flags word ([`flags_word`]).
    pub flags: Word,
    /// The `⌈n/5⌉` score words.
    pub scores: &'a [Word],
}

/// Packs presence and inlier bits into one field element.
pub fn pack_flags(presence: &[bool], inliers: &[bool]) -> Fr {
    let bits = |set: &[bool]| set.iter().enumerate().filter(|(_, b)| **b).fold(0u64, |acc, (i, _)| acc | 1 << i);
    flags_word(bits(presence), bits(inliers))
}

/// The flags input from the contracts' slot bit sets: presence bit i at bit i, inlier bit i at
/// bit `INLIER_FLAG_OFFSET + i`.
pub fn flags_word(presence_bits: u64, inlier_bits: u64) -> Fr {
    let big = BigUint::from(presence_bits) | (BigUint::from(inlier_bits) << INLIER_FLAG_OFFSET);
    Fr::from_le_bytes_mod_order(&big.to_bytes_le())
}

/// Score `slot` of packed score words: bits `SCORE_BITS · (slot mod 5)` of word `⌊slot/5⌋`
/// (0 when the word is missing).
pub fn unpack_score(words: &[Word], slot: usize) -> u64 {
    let Some(word) = words.get(slot / SCORES_PER_WORD) else { return 0 };
    let shifted = BigUint::from_bytes_be(&word.0) >> (SCORE_BITS as usize * (slot % SCORES_PER_WORD));
    shifted.iter_u64_digits().next().unwrap_or(0) & ((1u64 << SCORE_BITS) - 1)
}

/// The scores of `n` slots from packed score words (the inverse of [`pack_scores`]).
pub fn unpack_scores(words: &[Word], n: usize) -> Vec<u64> {
    (0..n).map(|slot| unpack_score(words, slot)).collect()
}

/// Packs scores 5 per field element, 48 bits each.
pub fn pack_scores(scores: &[u64]) -> Vec<Fr> {
    scores
        .chunks(SCORES_PER_WORD)
        .map(|chunk| {
            let mut big = BigUint::default();
            for (t, s) in chunk.iter().enumerate() {
                big |= BigUint::from(*s) << (SCORE_BITS as usize * t);
            }
            Fr::from_le_bytes_mod_order(&big.to_bytes_le())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        let shape = Shape::new(7, 3).unwrap();
        let params =
            RoundParams { job_id: 9, round: 1, max_malicious: 1, tau: 1 << 17, lr: 10, next_lr: 9, dup_tol: 0 };
        let presence = [true, false, true, true, true, false, true];
        let inliers = [true, false, false, true, true, false, true];
        let scores = [5, 0, 0, (1 << 48) - 1, 7, 0, 123];
        let updates: Vec<Fr> = (0..7u64).map(Fr::from).collect();
        let pi = PublicInputs::new(&params, Fr::from(1u8), Fr::from(2u8), updates, &presence, &inliers, &scores);
        let v = pi.to_vec();
        assert_eq!(v.len(), shape.num_public_inputs());
        let back = PublicInputs::from_vec(&shape, &v).unwrap();
        assert_eq!(back, pi);
        assert_eq!(back.flags(7), (presence.to_vec(), inliers.to_vec()));
        assert_eq!(back.scores(7), scores.to_vec());
        assert!(PublicInputs::from_vec(&shape, &v[1..]).is_err());

        let words = pi.to_words();
        assert_eq!(PublicInputs::from_words(from_words_of(&words)).unwrap(), pi);
        assert_eq!(pi.flags, flags_word(0b1011101, 0b1011001));
        let short = InputWords { scores: &words[11..12], ..from_words_of(&words) };
        assert!(PublicInputs::from_words(short).is_err());
        let mut not_in_field = from_words_of(&words);
        not_in_field.flags = Word([0xff; 32]);
        assert!(PublicInputs::from_words(not_in_field).unwrap_err().to_string().contains("flags"));
    }

    fn from_words_of(words: &[Word]) -> InputWords<'_> {
        InputWords {
            context: words[0],
            model: words[1],
            new_model: words[2],
            updates: &words[3..10],
            flags: words[10],
            scores: &words[11..],
        }
    }
}
