//! The final proof of a chunked round as an R1CS circuit, step for step the same as
//! [`super::split`]. The rule's steps are the round circuit's own ([`crate::round::constraints`]),
//! so the two statements cannot drift apart; only the per-parameter steps are replaced by the
//! chunk bindings.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
};

use super::{tree, FinalPublic, FinalWitness, AGGREGATE_TAG, ROUND_UPDATE_TAG};
use crate::chunk;
use crate::commitment::constraints::commit_packed;
use crate::gadgets::{materialize, sum};
use crate::round::constraints::{Assignment, Synth, Var};
use crate::round::gram_check::constraints::quadratic_form;
use crate::shape::Shape;
use crate::slot_bits;
use crate::steps::StepConstraints;

type Synthesis<T> = std::result::Result<T, SynthesisError>;

/// The final circuit for a shape (d, the whole round's parameters, sets the bit widths) cut into
/// `chunks` chunks; `witness` is `None` during key generation.
#[derive(Debug, Clone)]
pub struct FinalCircuit {
    /// The round's shape.
    pub shape: Shape,
    /// The number of chunks K.
    pub chunks: usize,
    /// The assignment, when proving.
    pub witness: Option<FinalWitness>,
}

impl ConstraintSynthesizer<Fr> for FinalCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Synthesis<()> {
        self.synthesize(cs).map(|_| ())
    }
}

impl FinalCircuit {
    /// Synthesizes into `cs` and returns each step's constraints, in the order of
    /// [`super::split`].
    pub fn synthesize(self, cs: ConstraintSystemRef<Fr>) -> Synthesis<Vec<StepConstraints>> {
        let w = self.witness.as_ref();
        if w.is_some_and(|w| w.input.shape != self.shape || w.chunks.len() != self.chunks) {
            return Err(SynthesisError::Unsatisfiable);
        }
        let assignment = w.map(|w| Assignment { input: &w.input, output: &w.output });
        let round = Synth::new(cs.clone(), self.shape, assignment, None);
        FinalSynth { cs, steps: Vec::new(), round, chunks: self.chunks, w }.run()
    }
}

/// The final circuit's constraints per step for a shape cut into `chunks` chunks.
pub fn constraint_breakdown(shape: Shape, chunks: usize) -> Synthesis<Vec<StepConstraints>> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
    FinalCircuit { shape, chunks, witness: None }.synthesize(cs)
}

struct FinalSynth<'a> {
    cs: ConstraintSystemRef<Fr>,
    steps: Vec<StepConstraints>,
    /// The round's synthesizer, whose rule steps this statement runs unchanged.
    round: Synth<'a>,
    chunks: usize,
    w: Option<&'a FinalWitness>,
}

/// The public inputs as variables, in verifier order.
struct Inputs {
    context: Var,
    domain: Var,
    aggregate: Var,
    digest: Var,
    updates: Vec<Var>,
    order_words: Vec<Var>,
    flags: Vec<Var>,
    score_words: Vec<Var>,
}

/// Each chunk's public values, as witnesses: `C_i^c` (indexed `[c][i]`), `P_c` and `C(S^c)`.
struct ChunkVars {
    commitments: Vec<Vec<Var>>,
    partial_norms: Vec<Var>,
    aggregates: Vec<Var>,
}

impl FinalSynth<'_> {
    fn witness(&self, f: impl FnOnce(&FinalWitness) -> Fr) -> Synthesis<Var> {
        FpVar::new_witness(self.cs.clone(), || self.w.map(f).ok_or(SynthesisError::AssignmentMissing))
    }

    fn input(&self, f: impl FnOnce(&FinalPublic) -> Fr) -> Synthesis<Var> {
        FpVar::new_input(self.cs.clone(), || self.w.map(|w| f(&w.public)).ok_or(SynthesisError::AssignmentMissing))
    }

    /// The statement, step by step, in the order of [`super::split`].
    fn run(mut self) -> Synthesis<Vec<StepConstraints>> {
        let inputs = step!(self, "public inputs", self.public_inputs())?;
        let params = step!(self, "context", self.round.context(&inputs.context))?;
        let slots = step!(self, "presence", self.round.presence(&inputs.updates))?;
        let presence = slots.presence;
        let chunks = step!(self, "chunk commitments", self.chunk_commitments(&inputs, &params.round, &presence))?;
        let order = step!(self, "order", self.round.order(&inputs.order_words))?;
        let gram = step!(self, "gram matrix", self.round.gram_matrix(&params.dup_tol))?;
        let seed = step!(self, "gram check", {
            let (seed, weights) =
                self.round.challenge(&inputs.domain, &params.round, &inputs.updates, &presence, &gram)?;
            quadratic_form(&weights, &gram)?.enforce_equal(&sum(chunks.partial_norms.iter().cloned()))?;
            Ok::<_, SynthesisError>(seed)
        })?;
        let unique = step!(self, "duplicates", self.round.duplicates(&gram, &presence, &order))?;
        let krum = step!(self, "krum", self.round.krum(&gram, &unique, &params.max_malicious))?;
        let krum_inliers = step!(self, "median", self.round.median(&unique, &krum, &params.tau))?;
        let inliers = step!(self, "alignment", self.round.alignment(&gram, &krum_inliers))?;
        step!(self, "aggregate", {
            let header = [FpVar::constant(Fr::from(AGGREGATE_TAG)), inputs.domain.clone(), params.round.clone()];
            commit_packed(&header, &chunks.aggregates)?.enforce_equal(&inputs.aggregate)
        })?;
        let (scores, norm_sq) = step!(self, "scores", self.round.scores(&gram, &inliers))?;
        step!(
            self,
            "outputs",
            self.round.outputs(&inputs.flags, &inputs.score_words, &slots.unavailable, &inliers, &norm_sq, &scores)
        )?;
        step!(self, "chunk digest", self.chunk_digest(&inputs, &params.round, &seed, &presence, &inliers, &chunks))?;
        Ok(self.steps)
    }

    /// The public inputs, allocated in verifier order.
    fn public_inputs(&self) -> Synthesis<Inputs> {
        let shape = self.round.shape;
        let context = self.input(|p| p.context)?;
        let domain = self.input(|p| p.domain)?;
        let aggregate = self.input(|p| p.aggregate)?;
        let digest = self.input(|p| p.digest)?;
        let updates = (0..shape.trainers).map(|i| self.input(|p| p.updates[i])).collect::<Synthesis<Vec<_>>>()?;
        let order_words =
            (0..shape.order_inputs()).map(|c| self.input(|p| p.order[c])).collect::<Synthesis<Vec<_>>>()?;
        let flags = (0..shape.flag_inputs()).map(|c| self.input(|p| p.flags[c])).collect::<Synthesis<Vec<_>>>()?;
        let score_words =
            (0..shape.score_inputs()).map(|c| self.input(|p| p.scores[c])).collect::<Synthesis<Vec<_>>>()?;
        Ok(Inputs { context, domain, aggregate, digest, updates, order_words, flags, score_words })
    }

    /// 2. Each chunk's public values as witnesses; a present slot's round commitment is the
    ///    chain over its chunk commitments, an absent slot's chunk commitments are 0.
    fn chunk_commitments(&self, inputs: &Inputs, round: &Var, presence: &[Boolean<Fr>]) -> Synthesis<ChunkVars> {
        let n = self.round.shape.trainers;
        let commitments = (0..self.chunks)
            .map(|c| (0..n).map(|i| self.witness(|w| w.chunks[c].commitments[i])).collect::<Synthesis<Vec<_>>>())
            .collect::<Synthesis<Vec<_>>>()?;
        let partial_norms =
            (0..self.chunks).map(|c| self.witness(|w| w.chunks[c].partial_norm)).collect::<Synthesis<_>>()?;
        let aggregates = (0..self.chunks).map(|c| self.witness(|w| w.chunks[c].aggregate)).collect::<Synthesis<_>>()?;
        for (slot, (present, commitment)) in presence.iter().zip(&inputs.updates).enumerate() {
            let slot_chunks: Vec<Var> = commitments.iter().map(|c| c[slot].clone()).collect();
            let header = [
                FpVar::constant(Fr::from(ROUND_UPDATE_TAG)),
                inputs.domain.clone(),
                round.clone(),
                FpVar::constant(Fr::from(slot as u64)),
            ];
            let computed = commit_packed(&header, &slot_chunks)?;
            FpVar::from(present.clone()).mul_equals(&(commitment - computed), &FpVar::zero())?;
            let absent = FpVar::from(!present);
            for chunk in &slot_chunks {
                absent.mul_equals(chunk, &FpVar::zero())?;
            }
        }
        Ok(ChunkVars { commitments, partial_norms, aggregates })
    }

    /// 6. `d_c` per chunk, over the values the steps above used, and `H`, the root of the
    ///    digest tree over them: `H` equals the public input only for the chunks proven above.
    fn chunk_digest(
        &self,
        inputs: &Inputs,
        round: &Var,
        seed: &Var,
        presence: &[Boolean<Fr>],
        inliers: &[Boolean<Fr>],
        chunks: &ChunkVars,
    ) -> Synthesis<()> {
        let mask = slot_bits::pack(presence, inliers).iter().map(materialize).collect::<Synthesis<Vec<_>>>()?;
        let digests = (0..self.chunks)
            .map(|c| {
                chunk::constraints::Inputs {
                    domain: inputs.domain.clone(),
                    round: round.clone(),
                    chunk: FpVar::constant(Fr::from(c as u64)),
                    seed: seed.clone(),
                    mask: mask.clone(),
                    commitments: chunks.commitments[c].clone(),
                    partial_norm: chunks.partial_norms[c].clone(),
                    aggregate: chunks.aggregates[c].clone(),
                }
                .digest()
            })
            .collect::<Synthesis<Vec<_>>>()?;
        tree::root_gadget(&digests)?.enforce_equal(&inputs.digest)
    }
}

#[cfg(test)]
mod tests {
    use ark_ff::{One, Zero};

    use super::*;
    use crate::chunk::constraints::{ChunkCircuit, ChunkWitness};
    use crate::chunked::{split, ChunkedRound};
    use crate::round::sample::synthetic;
    use crate::round::RoundWitness;

    /// A round of 6 slots × 40 parameters (one attacker), cut into chunks of 15 (15, 15, 10).
    fn chunked() -> (RoundWitness, ChunkedRound) {
        let input = synthetic(Shape::new(6, 40).unwrap(), 1, 11).input;
        (RoundWitness::new(input.clone()).unwrap(), split(input, 15).unwrap())
    }

    /// Whether the final circuit holds for `witness`.
    fn satisfied(witness: FinalWitness) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let (shape, chunks) = (witness.input.shape, witness.chunks.len());
        FinalCircuit { shape, chunks, witness: Some(witness) }.synthesize(cs.clone()).unwrap();
        cs.is_satisfied().unwrap()
    }

    fn chunk_satisfied(witness: ChunkWitness) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (trainers, params) = (witness.input.trainers(), witness.input.params());
        ChunkCircuit { trainers, params, witness: Some(witness) }.synthesize(cs.clone()).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn chunked_and_whole_rounds_agree_with_the_reference() {
        let (whole, chunked) = chunked();
        assert_eq!(chunked.chunks.len(), 3);
        let public = &chunked.witness.public;
        // The outcome the contract pays by is the whole round's.
        assert_eq!(public.flags, whole.public.flags);
        assert_eq!(public.scores, whole.public.scores);
        assert_eq!(public.order, whole.public.order);
        assert_eq!(public.context, whole.public.context);
        assert!(whole.output.inliers.iter().any(|i| !i) && whole.output.inliers.iter().filter(|i| **i).count() >= 3);
        // Every chunk proof and the final proof hold.
        for (input, public) in chunked.chunks.iter().zip(&chunked.witness.chunks) {
            assert!(chunk_satisfied(ChunkWitness { input: input.clone(), public: public.clone() }));
        }
        assert!(satisfied(chunked.witness.clone()));
        // A trainer computes its round commitment from its update alone.
        for (slot, update) in chunked.witness.input.updates.iter().enumerate() {
            let Some(update) = update else { continue };
            let c = crate::chunked::commit_update(
                whole.input.domain,
                whole.input.params.round,
                slot,
                update,
                chunked.chunking,
            );
            assert_eq!(c.unwrap(), public.updates[slot]);
        }
    }

    /// A slot that committed on chain but whose update is missing: its commitment stays in the
    /// public inputs and the seed, its presence bit is 0, and the final proof still holds; the
    /// same commitment without the declaration is another seed, which no proof takes.
    #[test]
    fn an_unavailable_slot_keeps_its_commitment_and_the_round_proves() {
        let mut input = synthetic(Shape::new(6, 40).unwrap(), 1, 11).input;
        let committed = crate::chunked::commit_update(
            input.domain,
            input.params.round,
            2,
            input.updates[2].as_ref().unwrap(),
            crate::chunked::Chunking::new(40, 15).unwrap(),
        )
        .unwrap();
        input.updates[2] = None;
        let round = crate::chunked::split_with_unavailable(input.clone(), 15, &[(2, committed)]).unwrap();
        assert_eq!(round.witness.public.updates[2], committed);
        assert!(satisfied(round.witness.clone()));
        let mut forged = split(input.clone(), 15).unwrap().witness;
        forged.public.updates[2] = committed;
        assert!(!satisfied(forged), "a commitment patched in after the seed was drawn");
        assert!(crate::chunked::split_with_unavailable(input, 15, &[(0, committed)]).is_err(), "slot 0 is present");
    }

    /// Real Groth16 proofs: one key for every chunk (the last is padded), one for the final
    /// proof, and each proof verifies against its own public inputs only.
    #[test]
    fn a_chunked_round_proves_and_verifies() {
        use crate::snark::{prove_chunk, prove_final, setup_chunk, setup_final, verify_inputs};
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let (_, chunked) = chunked();
        let (chunk_pk, chunk_vk) = setup_chunk(6, 15, &mut rng).unwrap();
        let root = chunked.witness.public.digest;
        for (c, (input, public)) in chunked.chunks.iter().zip(&chunked.witness.chunks).enumerate() {
            let proof = prove_chunk(&chunk_pk, ChunkWitness { input: input.clone(), public: public.clone() }, &mut rng);
            assert!(verify_inputs(&chunk_vk, &public.to_vec(), &proof.unwrap()).unwrap());
            // What a challenged chunk's answer shows the contract: its proof's one input opens in H.
            let (digest, path) = crate::chunked::opening(&chunked.witness.chunks, c).unwrap();
            assert_eq!(public.to_vec(), [digest]);
            assert!(tree::verify(digest, c, &path, root), "chunk {c} opens in H");
        }
        assert!(crate::chunked::opening(&chunked.witness.chunks, chunked.chunks.len()).is_none());
        let (final_pk, final_vk) = setup_final(chunked.witness.input.shape, 3, &mut rng).unwrap();
        let public = chunked.witness.public.clone();
        let proof = prove_final(&final_pk, chunked.witness.clone(), &mut rng).unwrap();
        assert!(verify_inputs(&final_vk, &public.to_vec(), &proof).unwrap());
        let mut other = public.clone();
        other.scores[0] += Fr::one();
        assert!(!verify_inputs(&final_vk, &other.to_vec(), &proof).unwrap(), "other scores");
        let mut forged = chunked.witness;
        forged.public = other;
        assert!(prove_final(&final_pk, forged, &mut rng).is_err(), "no final proof of a false outcome");
    }

    #[test]
    fn a_final_proof_with_a_forged_partial_norm_is_refused() {
        let (_, chunked) = chunked();
        // Moving norm between chunks keeps the sum but not the digest.
        let mut w = chunked.witness.clone();
        w.chunks[0].partial_norm += Fr::one();
        w.chunks[1].partial_norm -= Fr::one();
        assert!(!satisfied(w.clone()));
        // With the digest recomputed the final proof holds, and the forged chunk fails its own proof.
        w.public.digest = crate::chunked::digest(&w.chunks);
        assert!(satisfied(w.clone()));
        assert!(!chunk_satisfied(ChunkWitness { input: chunked.chunks[0].clone(), public: w.chunks[0].clone() }));
        // Changing only one partial norm breaks Σ P_c = rᵀ G r.
        let mut w = chunked.witness.clone();
        w.chunks[2].partial_norm += Fr::one();
        w.public.digest = crate::chunked::digest(&w.chunks);
        assert!(!satisfied(w));
    }

    #[test]
    fn a_final_proof_over_other_chunks_is_refused() {
        let (_, chunked) = chunked();
        let tamper = |f: &dyn Fn(&mut FinalWitness)| {
            let mut w = chunked.witness.clone();
            f(&mut w);
            satisfied(w)
        };
        assert!(tamper(&|_| {}));
        assert!(!tamper(&|w| w.chunks[1].commitments[0] += Fr::one()), "a chunk commitment its slot did not post");
        assert!(!tamper(&|w| w.chunks[2].aggregate += Fr::one()), "another aggregate");
        assert!(!tamper(&|w| w.chunks.swap(0, 1)), "chunks in another order");
        assert!(!tamper(&|w| w.public.aggregate = Fr::zero()), "another C(S)");
        // The same updates in the next round: each of its chunks is a valid chunk, of another round.
        let mut next = chunked.witness.input.clone();
        next.params.round += 1;
        let next = split(next, 15).unwrap();
        assert!(!tamper(&|w| w.chunks[1] = next.witness.chunks[1].clone()), "a chunk from another round");
        assert!(!tamper(&|w| w.public.digest += Fr::one()), "another digest");
        let absent = (0..6).find(|&i| chunked.witness.input.updates[i].is_none());
        if let Some(slot) = absent {
            assert!(!tamper(&|w| w.chunks[0].commitments[slot] = Fr::one()), "junk in an absent slot");
        }
    }

    #[test]
    fn the_final_proof_grows_with_the_chunks_not_the_parameters() {
        let count = |params: usize, chunks: usize| -> usize {
            constraint_breakdown(Shape::new(10, params).unwrap(), chunks).unwrap().iter().map(|s| s.constraints).sum()
        };
        // Ten times the parameters in ten times the chunks: nothing grows per parameter, only the
        // hashing of each chunk's n + 4 values (about 200 constraints per slot and chunk) and its
        // share of the digest tree.
        let (small, large) = (count(10_000, 4), count(100_000, 40));
        assert!(large - small < 36 * (200 * 10 + 1_000), "{small} → {large}");
        assert!(large < 110_000, "{large}");
        let steps = constraint_breakdown(Shape::new(10, 2_410).unwrap(), 1).unwrap();
        let names: Vec<_> = steps.iter().map(|s| s.step).collect();
        assert_eq!(
            names,
            [
                "public inputs",
                "context",
                "presence",
                "chunk commitments",
                "order",
                "gram matrix",
                "gram check",
                "duplicates",
                "krum",
                "median",
                "alignment",
                "aggregate",
                "scores",
                "outputs",
                "chunk digest"
            ]
        );
    }
}
