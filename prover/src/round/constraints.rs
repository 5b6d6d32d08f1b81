//! The round as an R1CS circuit, step for step the same as [`super::reference::run`]: the
//! public inputs, the steps before and after the rule, and the order they run in. The Gram
//! matrix's steps are in [`super::gram_check::constraints`], the rule's in [`super::rule`].
//!
//! The native reference supplies only *hints* the circuit cannot compute cheaply (the Gram
//! matrix, Krum selections and thresholds, the median, quotients and remainders); everything
//! else — distances, duplicates, scores, outlier and inlier bits, the aggregate's commitment —
//! is computed by constraints and checked against the public inputs. No model enters the
//! circuit: the new model is public arithmetic on the committed aggregate (section 4).

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;

use super::{PublicInputs, RoundInput, RoundOutput};
use crate::chunk::constraints::commit_inlier_sums;
use crate::chunk::CHUNK_AGGREGATE_TAG;
use crate::chunked::{aggregate, AGGREGATE_TAG};
use crate::commitment::{constraints::commit_packed, UPDATE_TAG, UPDATE_VALUES_PER_ELEMENT};
use crate::error::Result;
use crate::fixed_point::UPDATE_BITS;
use crate::gadgets::{alloc_uint, big, enforce_range, pack, pow2, sum};
use crate::layout::Layout;
use crate::params::{CONTEXT_LAYOUT, LR_BITS, TAU_FRAC_BITS};
use crate::shape::{Shape, ORDER_RANK_BITS, RANKS_PER_WORD, SCORES_PER_WORD, SCORE_BITS};

use super::public_inputs::{Flags, NORM_FLAG_OFFSET};
use crate::slot_bits;
pub use crate::steps::StepConstraints;

/// A round's full assignment: inputs, the reference outcome, and the public inputs it claims.
#[derive(Debug, Clone)]
pub struct RoundWitness {
    /// What the round starts from.
    pub input: RoundInput,
    /// What the native reference computed.
    pub output: RoundOutput,
    /// The public inputs the proof is for.
    pub public: PublicInputs,
}

impl RoundWitness {
    /// Runs the reference and assembles the public inputs.
    pub fn new(input: RoundInput) -> Result<Self> {
        Self::with_unavailable(input, &[])
    }

    /// [`RoundWitness::new`] of a round where the slots of `unavailable` committed `(slot, C_i)`
    /// on chain but their update is missing (their slot in `input` is empty): their commitments
    /// stay in the public inputs (the contract folded them in at submission) and their
    /// unavailable bits are set ([`RoundInput::declare_unavailable`]).
    pub fn with_unavailable(input: RoundInput, unavailable: &[(usize, Fr)]) -> Result<Self> {
        let output = super::run(&input)?;
        Self::claiming(input, unavailable, output)
    }

    /// The witness claiming `output` for `input` (the reference's, or a test's forgery).
    #[cfg(test)]
    pub(crate) fn with_output(input: RoundInput, output: RoundOutput) -> Result<Self> {
        Self::claiming(input, &[], output)
    }

    fn claiming(input: RoundInput, unavailable: &[(usize, Fr)], output: RoundOutput) -> Result<Self> {
        let mut commitments = input.update_commitments();
        let flags = Flags {
            unavailable: input.declare_unavailable(&mut commitments, unavailable)?,
            inliers: output.inliers.clone(),
            aggregate_norm_sq: output.aggregate_norm_sq,
        };
        let inlier_count = output.inliers.iter().filter(|i| **i).count();
        let sums = aggregate::sums(input.shape.params, &input.updates, &output.inliers);
        let (domain, round, trainers) = (input.domain, input.params.round, input.shape.trainers);
        let aggregate = Layout::Whole.commit_aggregate(domain, round, trainers, inlier_count, &sums)?;
        let public = PublicInputs::new(
            &input.params,
            input.domain,
            [aggregate, Fr::from(0u8)],
            commitments,
            &input.order,
            &flags,
            &output.scores,
        );
        Ok(RoundWitness { input, output, public })
    }
}

/// The circuit for one shape; `witness` is `None` during key generation.
#[derive(Debug, Clone)]
pub struct RoundCircuit {
    /// The shape the circuit is built for.
    pub shape: Shape,
    /// The assignment, when proving.
    pub witness: Option<RoundWitness>,
}

impl RoundCircuit {
    /// A circuit without assignment, for setup.
    pub fn blank(shape: Shape) -> Self {
        RoundCircuit { shape, witness: None }
    }
}

pub(crate) type Var = FpVar<Fr>;

impl ConstraintSynthesizer<Fr> for RoundCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize(cs).map(|_| ())
    }
}

impl RoundCircuit {
    /// Synthesizes the circuit into `cs` and returns what each step of the statement cost, in
    /// the order of the statement (each step also runs under its own `ns!` namespace).
    pub fn synthesize(self, cs: ConstraintSystemRef<Fr>) -> Result<Vec<StepConstraints>, SynthesisError> {
        let w = self.witness.as_ref();
        if w.is_some_and(|w| w.input.shape != self.shape) {
            return Err(SynthesisError::Unsatisfiable);
        }
        Synth::new(cs, self.shape, w.map(|w| Assignment { input: &w.input, output: &w.output }), w.map(|w| &w.public))
            .run()
    }
}

/// What the round's hints are read from: its input and the reference outcome. The round
/// circuit and a chunked round's final proof ([`crate::chunked`]) share it, and with it the
/// rule's steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assignment<'a> {
    pub(crate) input: &'a RoundInput,
    pub(crate) output: &'a RoundOutput,
}

/// Reads a hint from the assignment; `AssignmentMissing` during setup.
pub(crate) fn hint<T>(w: Option<Assignment<'_>>, f: impl FnOnce(&Assignment<'_>) -> T) -> Result<T, SynthesisError> {
    w.as_ref().map(f).ok_or(SynthesisError::AssignmentMissing)
}

/// The round's synthesizer. Its rule steps (context to outputs, without the per-parameter
/// ones) are also the final proof's ([`crate::chunked::constraints`]).
pub(crate) struct Synth<'a> {
    pub(crate) cs: ConstraintSystemRef<Fr>,
    pub(crate) shape: Shape,
    pub(crate) w: Option<Assignment<'a>>,
    public: Option<&'a PublicInputs>,
    pub(crate) steps: Vec<StepConstraints>,
}

/// The public inputs as variables, in verifier order.
pub(super) struct InputVars {
    context: Var,
    pub(super) domain: Var,
    aggregate: Var,
    digest: Var,
    pub(super) update_commitments: Vec<Var>,
    order_words: Vec<Var>,
    flags: Vec<Var>,
    score_words: Vec<Var>,
}

/// The round parameters the rule reads, unpacked from the context (every field range-checked
/// to its width). The job id is bound through the domain, and lr and next lr only through the
/// context: the model step that uses them is public arithmetic outside the proof.
pub(crate) struct ParamVars {
    pub(crate) round: Var,
    pub(crate) max_malicious: Var,
    pub(crate) tau: Var,
    pub(crate) dup_tol: Var,
}

/// Each slot's presence bit and its update as offset values `x = Δ + 2^(b−1)` (zero vectors for
/// an empty slot).
pub(super) struct UpdateVars {
    pub(super) presence: Vec<Boolean<Fr>>,
    pub(super) offset_values: Vec<Vec<Var>>,
}

/// Which slots take part: `present_i = C_i ≠ 0 ∧ ¬unavailable_i`, from the commitments the
/// contract folded in and the unavailable bits the aggregator claims in the flags.
pub(crate) struct SlotVars {
    pub(crate) presence: Vec<Boolean<Fr>>,
    pub(crate) unavailable: Vec<Boolean<Fr>>,
}

/// The Gram matrix `G_ij = ⟨Δ_i, Δ_j⟩` of all slots and the distances
/// `D_ij = G_ii + G_jj − 2G_ij = ‖Δ_i − Δ_j‖²`, linear in the "gram matrix" step's witnesses:
/// the diagonal and one offset `t_ij = tol + 2^B − D_ij` per pair `i < j`
/// ([`super::gram_check::constraints`]).
pub(crate) struct Gram {
    /// `G_ij`, every i and j.
    pub(crate) entries: Vec<Vec<Var>>,
    /// `D_ij`, every i and j (0 on the diagonal).
    pub(crate) distances: Vec<Vec<Var>>,
    /// `close[i][j − i − 1]` for `i < j`: `D_ij ≤ tol`, the offset's top bit.
    pub(crate) close: Vec<Vec<Boolean<Fr>>>,
    /// The diagonal `G_ii`, range-checked.
    pub(crate) diagonal: Vec<Var>,
    /// The offsets `t_ij`, `i < j` row by row, as their bits' sums.
    pub(crate) offsets: Vec<Var>,
}

/// The submission order: per pair `i < j`, `earlier[i][j − i − 1]` says that j submitted
/// before i. The ranks pin these bits down on every pair of slots that submitted (step "order").
pub(crate) struct OrderVars {
    pub(crate) earlier: Vec<Vec<Boolean<Fr>>>,
}

impl<'a> Synth<'a> {
    /// A synthesizer for `shape`; `public` is read by the round's own public inputs only.
    pub(crate) fn new(
        cs: ConstraintSystemRef<Fr>,
        shape: Shape,
        w: Option<Assignment<'a>>,
        public: Option<&'a PublicInputs>,
    ) -> Self {
        Synth { cs, shape, w, public, steps: Vec::new() }
    }

    pub(crate) fn witness(&self, f: impl FnOnce(&Assignment<'_>) -> Fr) -> Result<Var, SynthesisError> {
        FpVar::new_witness(self.cs.clone(), || hint(self.w, f))
    }

    pub(crate) fn boolean(&self, f: impl FnOnce(&Assignment<'_>) -> bool) -> Result<Boolean<Fr>, SynthesisError> {
        Boolean::new_witness(self.cs.clone(), || hint(self.w, f))
    }

    pub(crate) fn uint(&self, bits: u32, f: impl FnOnce(&Assignment<'_>) -> BigUint) -> Result<Var, SynthesisError> {
        alloc_uint(&self.cs, hint(self.w, f), bits)
    }

    fn input(&self, f: impl FnOnce(&PublicInputs) -> Fr) -> Result<Var, SynthesisError> {
        FpVar::new_input(self.cs.clone(), || self.public.map(f).ok_or(SynthesisError::AssignmentMissing))
    }

    /// The statement, step by step, in the order of `reference::run`.
    fn run(mut self) -> Result<Vec<StepConstraints>, SynthesisError> {
        let inputs = step!(self, "public inputs", self.public_inputs())?;
        let params = step!(self, "context", self.context(&inputs.context))?;
        let slots = step!(self, "presence", self.presence(&inputs.update_commitments))?;
        let updates = step!(self, "update commitments", self.update_commitments(&params, &inputs, slots.presence))?;
        let order = step!(self, "order", self.order(&inputs.order_words))?;
        let gram = step!(self, "gram matrix", self.gram_matrix(&params.dup_tol))?;
        step!(self, "gram check", self.gram_check(&inputs, &params, &updates, &gram))?;
        let unique = step!(self, "duplicates", self.duplicates(&gram, &updates.presence, &order))?;
        let krum = step!(self, "krum", self.krum(&gram, &unique, &params.max_malicious))?;
        let krum_inliers = step!(self, "median", self.median(&unique, &krum, &params.tau))?;
        let inliers = step!(self, "alignment", self.alignment(&gram, &krum_inliers))?;
        step!(self, "aggregate", self.aggregate(&inputs, &params, &updates.offset_values, &inliers))?;
        let (scores, norm_sq) = step!(self, "scores", self.scores(&gram, &inliers))?;
        step!(
            self,
            "outputs",
            self.outputs(&inputs.flags, &inputs.score_words, &slots.unavailable, &inliers, &norm_sq, &scores)
        )?;
        Ok(self.steps)
    }

    /// The public inputs, allocated in verifier order.
    fn public_inputs(&self) -> Result<InputVars, SynthesisError> {
        let context = self.input(|p| p.context)?;
        let domain = self.input(|p| p.domain)?;
        let aggregate = self.input(|p| p.aggregate)?;
        let digest = self.input(|p| p.digest)?;
        let update_commitments =
            (0..self.shape.trainers).map(|i| self.input(|p| p.updates[i])).collect::<Result<Vec<_>, _>>()?;
        let order_words =
            (0..self.shape.order_inputs()).map(|c| self.input(|p| p.order[c])).collect::<Result<Vec<_>, _>>()?;
        let flags = (0..self.shape.flag_inputs()).map(|c| self.input(|p| p.flags[c])).collect::<Result<Vec<_>, _>>()?;
        let score_words =
            (0..self.shape.score_inputs()).map(|c| self.input(|p| p.scores[c])).collect::<Result<Vec<_>, _>>()?;
        Ok(InputVars { context, domain, aggregate, digest, update_commitments, order_words, flags, score_words })
    }

    /// Context: the parameters, each range-checked, packed back into the public input; τ ≥ 1
    /// (below it nobody is an inlier) and lr < 2^LR_BITS (what `createJob` accepts, so that a
    /// context the contract builds is one the circuit takes).
    pub(crate) fn context(&self, context: &Var) -> Result<ParamVars, SynthesisError> {
        let fields = CONTEXT_LAYOUT
            .iter()
            .enumerate()
            .map(|(k, (_, _, width))| self.uint(*width, |w| big(w.input.params.fields()[k])))
            .collect::<Result<Vec<_>, _>>()?;
        sum(CONTEXT_LAYOUT.iter().zip(&fields).map(|((_, offset, _), v)| v * pow2(*offset))).enforce_equal(context)?;
        let [_job_id, round, max_malicious, tau, lr, _next_lr, dup_tol] =
            <[Var; 7]>::try_from(fields).map_err(|_| SynthesisError::Unsatisfiable)?;
        enforce_range(&(&tau - pow2(TAU_FRAC_BITS)), 32)?;
        enforce_range(&lr, LR_BITS)?;
        Ok(ParamVars { round, max_malicious, tau, dup_tol })
    }

    /// Updates: every value range-checked as UPDATE_BITS bits of `Δ + 2^(b-1)` (the offset
    /// value, which is also what packing uses); each present slot matches its commitment, whose
    /// header binds the domain, the round and the slot.
    fn update_commitments(
        &self,
        params: &ParamVars,
        inputs: &InputVars,
        presence: Vec<Boolean<Fr>>,
    ) -> Result<UpdateVars, SynthesisError> {
        let Shape { trainers: n, params: d } = self.shape;
        let offset = 1i64 << (UPDATE_BITS - 1);
        let mut offset_values = Vec::with_capacity(n);
        for (slot, commitment) in inputs.update_commitments.iter().enumerate() {
            let values = (0..d)
                .map(|k| {
                    self.uint(UPDATE_BITS, |w| {
                        big(w.input.updates[slot].as_ref().map_or(0, |u| u[k]).wrapping_add(offset) as u64)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let packed = pack(&values, UPDATE_VALUES_PER_ELEMENT, UPDATE_BITS);
            let header = [
                FpVar::constant(Fr::from(UPDATE_TAG)),
                inputs.domain.clone(),
                params.round.clone(),
                FpVar::constant(Fr::from(slot as u64)),
            ];
            let computed = commit_packed(&header, &packed)?;
            FpVar::from(presence[slot].clone()).mul_equals(&(commitment - computed), &FpVar::zero())?;
            offset_values.push(values);
        }
        Ok(UpdateVars { presence, offset_values })
    }

    /// Presence: a slot takes part if it has a commitment (`C_i ≠ 0`: the contract refuses a zero
    /// one, and passes 0 for a slot that did not submit) and is not declared unavailable; a slot
    /// may be declared unavailable only if it has a commitment. So the contract passes the
    /// aggregator's unavailable bits as they are, without its own submitted bitmap (three
    /// constraints per slot).
    pub(crate) fn presence(&self, commitments: &[Var]) -> Result<SlotVars, SynthesisError> {
        let mut slots = SlotVars { presence: Vec::new(), unavailable: Vec::new() };
        for (slot, commitment) in commitments.iter().enumerate() {
            let absent = commitment.is_zero()?;
            let unavailable = Boolean::new_witness(self.cs.clone(), || {
                Ok(commitment.value()? != Fr::from(0u8) && hint(self.w, |w| w.input.updates[slot].is_none())?)
            })?;
            (&unavailable & &absent).enforce_equal(&Boolean::FALSE)?;
            slots.presence.push(&!&absent & &!&unavailable);
            slots.unavailable.push(unavailable);
        }
        Ok(slots)
    }

    /// Order: each slot's submission rank, ORDER_RANK_BITS bits, packed into the order words;
    /// and who submitted first, one bit per pair, pinned down by the ranks: a slot with rank
    /// `r ≥ 1` has exactly `r − 1` slots before it. The contract gives the submitters the ranks
    /// 1..m, so by induction on r the slot of rank r is before every slot but those of lower rank
    /// (one constraint per slot and a bit per pair, instead of a rank comparison per pair).
    pub(crate) fn order(&self, order_words: &[Var]) -> Result<OrderVars, SynthesisError> {
        let n = self.shape.trainers;
        let ranks =
            (0..n).map(|i| self.uint(ORDER_RANK_BITS, |w| big(w.input.order[i]))).collect::<Result<Vec<_>, _>>()?;
        for (word, chunk) in order_words.iter().zip(ranks.chunks(RANKS_PER_WORD)) {
            sum(chunk.iter().enumerate().map(|(t, r)| r * pow2(ORDER_RANK_BITS * t as u32))).enforce_equal(word)?;
        }
        let mut earlier = vec![Vec::new(); n];
        let mut ahead: Vec<Vec<Var>> = vec![Vec::new(); n];
        for i in 0..n {
            for j in i + 1..n {
                let j_first = self.boolean(|w| w.input.submitted_before(j, i))?;
                ahead[i].push(FpVar::from(j_first.clone()));
                ahead[j].push(FpVar::one() - FpVar::from(j_first.clone()));
                earlier[i].push(j_first);
            }
        }
        for (rank, ahead) in ranks.iter().zip(ahead) {
            rank.mul_equals(&(sum(ahead) - rank + FpVar::one()), &FpVar::zero())?;
        }
        Ok(OrderVars { earlier })
    }

    /// 5. The aggregate: `C(S)` over the inliers' offset sums `S_k + 2^7·|I|`, as the chunk of a
    ///    round cut into one chunk commits it ([`Layout::commit_aggregate`] of
    ///    [`Layout::Whole`]), so a round's `C(S)` does not depend on how it is proven; and
    ///    `H = 0`: a round proven whole has no chunk digests. The new model `w' = clamp(w + γ·S)`,
    ///    `γ = ⌊lr/|I|⌋`, is public arithmetic on the published `S` that everyone replays, so
    ///    neither model is a witness (prover/README.md, section 4).
    fn aggregate(
        &self,
        inputs: &InputVars,
        params: &ParamVars,
        offset_values: &[Vec<Var>],
        inliers: &[Boolean<Fr>],
    ) -> Result<(), SynthesisError> {
        let chunk = [
            FpVar::constant(Fr::from(CHUNK_AGGREGATE_TAG)),
            inputs.domain.clone(),
            params.round.clone(),
            FpVar::zero(),
        ];
        let slice = commit_inlier_sums(&chunk, inliers, offset_values)?;
        let header = [FpVar::constant(Fr::from(AGGREGATE_TAG)), inputs.domain.clone(), params.round.clone()];
        commit_packed(&header, &[slice])?.enforce_equal(&inputs.aggregate)?;
        inputs.digest.enforce_equal(&FpVar::zero())
    }

    /// Outputs against the public inputs: the flags words (unavailable and inlier bits, ‖S‖² in
    /// the first) and the packed score words.
    pub(crate) fn outputs(
        &self,
        flags_inputs: &[Var],
        score_words: &[Var],
        unavailable: &[Boolean<Fr>],
        inliers: &[Boolean<Fr>],
        norm_sq: &Var,
        scores: &[Var],
    ) -> Result<(), SynthesisError> {
        let mut flags = slot_bits::pack(unavailable, inliers);
        flags[0] += norm_sq * pow2(NORM_FLAG_OFFSET as u32);
        for (word, input) in flags.iter().zip(flags_inputs) {
            word.enforce_equal(input)?;
        }
        for (word, chunk) in score_words.iter().zip(scores.chunks(SCORES_PER_WORD)) {
            sum(chunk.iter().enumerate().map(|(t, s)| s * pow2(SCORE_BITS * t as u32))).enforce_equal(word)?;
        }
        Ok(())
    }
}
