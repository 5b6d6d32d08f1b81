//! The Groth16 public inputs of a round, in their fixed order:
//!
//! | index            | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | 0                | context: job, round and hyper-parameters (`params::CONTEXT_LAYOUT`) |
//! | 1                | domain: chain, market, job and roster (`crate::domain`)      |
//! | 2                | `C(S)`, commitment to the inliers' aggregate `S = Σ_{i∈I} Δ_i` |
//! | 3                | `H`, root of a chunked round's chunk digests; 0 for a round proven whole |
//! | 4 .. 4+n         | `C_1..C_n`, update commitments (0 for an empty slot)         |
//! | 4+n .. 4+n+o     | order: slot i's submission rank (1 = first, 0 = none) at bits 9·(i mod 28) of word ⌊i/28⌋, o = ⌈n/28⌉ |
//! | 4+n+o .. +f      | flags, f = ⌈n/64⌉ words: slot i's *unavailable* bit at bit i mod 64 of word ⌊i/64⌋, its inlier bit at bit 64 + i mod 64; ‖S‖² at bit 128 of word 0 |
//! | 4+n+o+f ..       | scores, 5 per input, score i at bits 48·(i mod 5) of input ⌊i/5⌋ |
//!
//! The flags state which slots the aggregator declared unavailable, not which were present: the
//! circuit derives presence as `C_i ≠ 0 ∧ ¬unavailable_i` from the commitments the contract
//! folded in, so the contract passes the aggregator's bitmaps without reading its own submitted
//! bitmap, and an unavailable bit on a slot without a commitment does not prove.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::export::calldata::Word;
use crate::params::RoundParams;
use crate::shape::{flag_word_count, order_word_count, score_word_count, Shape};
pub use crate::shape::{ORDER_RANK_BITS, RANKS_PER_WORD, SCORES_PER_WORD, SCORE_BITS};
use crate::slot_bits;

/// Bit offset of the inlier bits in a flags word ([`slot_bits::SECOND_OFFSET`]).
pub const INLIER_FLAG_OFFSET: usize = slot_bits::SECOND_OFFSET;
/// Bit offset of ‖S‖², the squared norm of the sum of inlier updates, in the first flags word
/// (at most SCORE_BITS wide: `Shape::new` bounds it).
pub const NORM_FLAG_OFFSET: usize = 128;

/// What the round claims besides the scores: unavailable slots, inliers and ‖S‖².
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// Slots that committed on chain but whose update the aggregator declared unavailable.
    pub unavailable: Vec<bool>,
    /// Slots whose update was averaged into the model.
    pub inliers: Vec<bool>,
    /// `‖S‖²`, S the sum of the inliers' updates.
    pub aggregate_norm_sq: u64,
}

/// The public inputs of a round, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInputs {
    /// Packed round parameters.
    pub context: Fr,
    /// The job's domain ([`crate::domain::JobDomain::value`]).
    pub domain: Fr,
    /// `C(S)` ([`crate::chunked::aggregate::commit`]): the new model `w' = clamp(w + γ·S)` is
    /// public arithmetic on the published `S`, so no proof carries a model.
    pub aggregate: Fr,
    /// `H` of a chunked round ([`crate::chunked::digest`]); 0 for a round proven whole.
    pub digest: Fr,
    /// `C_1..C_n`.
    pub updates: Vec<Fr>,
    /// Packed submission ranks.
    pub order: Vec<Fr>,
    /// Unavailable and inlier bits and ‖S‖², `⌈n/64⌉` words.
    pub flags: Vec<Fr>,
    /// Packed contribution scores.
    pub scores: Vec<Fr>,
}

impl PublicInputs {
    /// Assembles the public inputs from the round's values.
    pub fn new(
        params: &RoundParams,
        domain: Fr,
        [aggregate, digest]: [Fr; 2],
        updates: Vec<Fr>,
        order: &[u16],
        flags: &Flags,
        scores: &[u64],
    ) -> Self {
        PublicInputs {
            context: params.context(),
            domain,
            aggregate,
            digest,
            updates,
            order: pack_order(order),
            flags: pack_flags(flags),
            scores: pack_scores(scores),
        }
    }

    /// The inputs in verifier order.
    pub fn to_vec(&self) -> Vec<Fr> {
        let mut v = vec![self.context, self.domain, self.aggregate, self.digest];
        v.extend_from_slice(&self.updates);
        v.extend_from_slice(&self.order);
        v.extend_from_slice(&self.flags);
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
        let (o, f) = (order_word_count(n), flag_word_count(n));
        Ok(PublicInputs {
            context: inputs[0],
            domain: inputs[1],
            aggregate: inputs[2],
            digest: inputs[3],
            updates: inputs[4..4 + n].to_vec(),
            order: inputs[4 + n..4 + n + o].to_vec(),
            flags: inputs[4 + n + o..4 + n + o + f].to_vec(),
            scores: inputs[4 + n + o + f..].to_vec(),
        })
    }

    /// Reads back unavailable and inlier bits and ‖S‖² for `n` slots.
    pub fn flags(&self, n: usize) -> Flags {
        let words: Vec<BigUint> = self.flags.iter().map(|w| (*w).into()).collect();
        let norm = words.first().map_or(0, |w| (w >> NORM_FLAG_OFFSET).iter_u64_digits().next().unwrap_or(0));
        let (unavailable, inliers) = slot_bits::read(&words, n);
        Flags { unavailable, inliers, aggregate_norm_sq: norm }
    }

    /// Reads back the submission ranks of `n` slots.
    pub fn order(&self, n: usize) -> Vec<u16> {
        let mask = (1u64 << ORDER_RANK_BITS) - 1;
        (0..n)
            .map(|i| {
                let word: BigUint = self.order[i / RANKS_PER_WORD].into();
                let rank = (word >> (ORDER_RANK_BITS as usize * (i % RANKS_PER_WORD))).iter_u64_digits().next();
                (rank.unwrap_or(0) & mask) as u16
            })
            .collect()
    }

    /// Reads back the scores of `n` slots.
    pub fn scores(&self, n: usize) -> Vec<u64> {
        unpack_scores(&self.scores.iter().map(Word::from_field).collect::<Vec<_>>(), n)
    }

    /// The public inputs from the words the contracts store (`JobMarket.context(job, round)`,
    /// `newModel` of `RoundFinalized` (C(S)) and `digest` of `ChunkedRoundFinalized`, the
    /// submitted commitments, the flags words and the score words), checking that each is a
    /// canonical field element and that the counts agree.
    pub fn from_words(words: InputWords<'_>) -> Result<Self> {
        let n = words.updates.len();
        for (what, expected, found) in [
            ("score words", score_word_count(n), words.scores.len()),
            ("order words", order_word_count(n), words.order.len()),
            ("flags words", flag_word_count(n), words.flags.len()),
        ] {
            if expected != found {
                return Err(Error::LengthMismatch { what: format!("{what} for {n} slots"), expected, found });
            }
        }
        let field = |what: &str, word: &Word| {
            word.to_field::<Fr>().map_err(|e| Error::InvalidWord { what: what.to_owned(), reason: e.to_string() })
        };
        let many = |what: &str, words: &[Word]| {
            words.iter().enumerate().map(|(i, w)| field(&format!("{what} {i}"), w)).collect::<Result<Vec<_>>>()
        };
        Ok(PublicInputs {
            context: field("context", &words.context)?,
            domain: field("domain", &words.domain)?,
            aggregate: field("aggregate commitment", &words.aggregate)?,
            digest: field("chunk digest", &words.digest)?,
            updates: many("update commitment", words.updates)?,
            order: many("order word", words.order)?,
            flags: many("flags word", words.flags)?,
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
    /// The job's domain (`JobMarket.domain(job)`).
    pub domain: Word,
    /// `C(S)` (`newModel` of `RoundFinalized`).
    pub aggregate: Word,
    /// `H` (`digest` of `ChunkedRoundFinalized`; 0 for a round proven whole).
    pub digest: Word,
    /// `C_1..C_n` as submitted (0 for a slot that never submitted).
    pub updates: &'a [Word],
    /// The `⌈n/28⌉` order words ([`pack_order`] of the submission ranks).
    pub order: &'a [Word],
    /// The `⌈n/64⌉` flags words ([`flags_words`]).
    pub flags: &'a [Word],
    /// The `⌈n/5⌉` score words.
    pub scores: &'a [Word],
}

/// Packs unavailable and inlier bits and ‖S‖² into the flags words.
pub fn pack_flags(flags: &Flags) -> Vec<Fr> {
    flags_words(&flags.unavailable, &flags.inliers, flags.aggregate_norm_sq)
}

/// The flags inputs from the contracts' slot bit sets (bit i of `unavailable` and `inliers` for
/// slot i) and ‖S‖²: [`slot_bits::words`], with ‖S‖² from bit `NORM_FLAG_OFFSET` of word 0.
pub fn flags_words(unavailable: &[bool], inliers: &[bool], aggregate_norm_sq: u64) -> Vec<Fr> {
    let mut words = slot_bits::words(unavailable, inliers);
    if let Some(first) = words.first_mut() {
        *first |= BigUint::from(aggregate_norm_sq) << NORM_FLAG_OFFSET;
    }
    words.iter().map(|w| Fr::from_le_bytes_mod_order(&w.to_bytes_le())).collect()
}

/// Packs submission ranks (1 for the round's first submitter, 0 for a slot that did not
/// submit) 28 per field element, 9 bits each.
pub fn pack_order(ranks: &[u16]) -> Vec<Fr> {
    ranks
        .chunks(RANKS_PER_WORD)
        .map(|chunk| {
            let mut big = BigUint::default();
            for (t, r) in chunk.iter().enumerate() {
                big |= BigUint::from(*r) << (ORDER_RANK_BITS as usize * t);
            }
            Fr::from_le_bytes_mod_order(&big.to_bytes_le())
        })
        .collect()
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
        let flags = Flags {
            unavailable: vec![false, true, false, false, false, false, false],
            inliers: vec![true, false, false, true, true, false, true],
            aggregate_norm_sq: (1 << 48) - 3,
        };
        let order = [2, 0, 1, 5, 3, 6, 4];
        let scores = [5, 0, 0, (1 << 48) - 1, 7, 0, 123];
        let updates: Vec<Fr> = (0..7u64).map(Fr::from).collect();
        let pi = PublicInputs::new(&params, Fr::from(9u8), [1u8, 2].map(Fr::from), updates, &order, &flags, &scores);
        let v = pi.to_vec();
        assert_eq!(v.len(), shape.num_public_inputs());
        let back = PublicInputs::from_vec(&shape, &v).unwrap();
        assert_eq!(back, pi);
        assert_eq!(back.flags(7), flags);
        assert_eq!(back.order(7), order.to_vec());
        assert_eq!(back.scores(7), scores.to_vec());
        assert!(PublicInputs::from_vec(&shape, &v[1..]).is_err());

        let words = pi.to_words();
        assert_eq!(PublicInputs::from_words(from_words_of(&words)).unwrap(), pi);
        let word = (1u128 << 1) | (0b1011001u128 << INLIER_FLAG_OFFSET);
        let norm = BigUint::from((1u64 << 48) - 3) << NORM_FLAG_OFFSET;
        assert_eq!(BigUint::from(pi.flags[0]), BigUint::from(word) | norm);
        let short = InputWords { scores: &words[13..14], ..from_words_of(&words) };
        assert!(PublicInputs::from_words(short).is_err());
        let mut not_in_field = from_words_of(&words);
        let bad = [Word([0xff; 32])];
        not_in_field.flags = &bad;
        assert!(PublicInputs::from_words(not_in_field).unwrap_err().to_string().contains("flags word 0"));
    }

    fn from_words_of(words: &[Word]) -> InputWords<'_> {
        InputWords {
            context: words[0],
            domain: words[1],
            aggregate: words[2],
            digest: words[3],
            updates: &words[4..11],
            order: &words[11..12],
            flags: &words[12..13],
            scores: &words[13..],
        }
    }
}
