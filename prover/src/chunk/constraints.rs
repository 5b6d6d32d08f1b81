//! A chunk as an R1CS circuit, step for step the same as [`super::run`], each step under its
//! own `ns!` namespace so that constraint counts trace to steps.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::{ChunkInput, ChunkPublic, CHUNK_AGGREGATE_TAG, CHUNK_DIGEST_TAG, CHUNK_UPDATE_TAG};
use crate::commitment::constraints::commit_packed;
use crate::commitment::UPDATE_VALUES_PER_ELEMENT;
use crate::error::Result;
use crate::fixed_point::UPDATE_BITS;
use crate::gadgets::{alloc_uint, big, materialize, pack, sum};
use crate::poseidon::constraints::hash as poseidon_hash;
use crate::round::StepConstraints;
use crate::slot_bits;

type Var = FpVar<Fr>;
type Bits = Vec<Boolean<Fr>>;
type Synthesis<T> = std::result::Result<T, SynthesisError>;

/// A chunk's assignment: its input and the public inputs the reference computed.
#[derive(Debug, Clone)]
pub struct ChunkWitness {
    /// What the chunk is proven from.
    pub input: ChunkInput,
    /// The public inputs the proof is for.
    pub public: ChunkPublic,
}

impl ChunkWitness {
    /// Runs the reference.
    pub fn new(input: ChunkInput) -> Result<Self> {
        let public = super::run(&input)?;
        Ok(Self { input, public })
    }
}

/// The circuit for chunks of `params` parameters of `trainers` slots; `witness` is `None`
/// during key generation.
#[derive(Debug, Clone)]
pub struct ChunkCircuit {
    /// Slots n.
    pub trainers: usize,
    /// Parameters in the chunk.
    pub params: usize,
    /// The assignment, when proving.
    pub witness: Option<ChunkWitness>,
}

impl ConstraintSynthesizer<Fr> for ChunkCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Synthesis<()> {
        self.synthesize(cs).map(|_| ())
    }
}

impl ChunkCircuit {
    /// Synthesizes into `cs` and returns each step's constraints, in the order of [`super::run`].
    pub fn synthesize(self, cs: ConstraintSystemRef<Fr>) -> Synthesis<Vec<StepConstraints>> {
        let w = self.witness.as_ref();
        if w.is_some_and(|w| w.input.trainers() != self.trainers || w.input.params() != self.params) {
            return Err(SynthesisError::Unsatisfiable);
        }
        Synth { cs, n: self.trainers, d: self.params, w, steps: Vec::new() }.run()
    }
}

struct Synth<'a> {
    cs: ConstraintSystemRef<Fr>,
    n: usize,
    d: usize,
    w: Option<&'a ChunkWitness>,
    steps: Vec<StepConstraints>,
}

/// A chunk's stated values as variables (witnesses: the proof's one public input is their
/// digest, [`Inputs::digest`]). The final proof builds them for every chunk too.
pub(crate) struct Inputs {
    pub(crate) domain: Var,
    pub(crate) round: Var,
    pub(crate) chunk: Var,
    pub(crate) seed: Var,
    pub(crate) mask: Vec<Var>,
    pub(crate) commitments: Vec<Var>,
    pub(crate) partial_norm: Var,
    pub(crate) aggregate: Var,
}

impl Inputs {
    /// `d_c` as [`ChunkPublic::digest`] computes it.
    pub(crate) fn digest(&self) -> Synthesis<Var> {
        let header =
            [FpVar::constant(Fr::from(CHUNK_DIGEST_TAG)), self.domain.clone(), self.round.clone(), self.chunk.clone()];
        let mut elements = vec![self.seed.clone()];
        elements.extend(self.mask.iter().cloned());
        elements.extend([self.partial_norm.clone(), self.aggregate.clone()]);
        elements.extend(self.commitments.iter().cloned());
        commit_packed(&header, &elements)
    }
}

impl Synth<'_> {
    fn hint<T>(&self, f: impl FnOnce(&ChunkWitness) -> T) -> Synthesis<T> {
        self.w.map(f).ok_or(SynthesisError::AssignmentMissing)
    }

    fn input(&self, f: impl FnOnce(&ChunkPublic) -> Fr) -> Synthesis<Var> {
        FpVar::new_witness(self.cs.clone(), || self.hint(|w| f(&w.public)))
    }

    fn run(mut self) -> Synthesis<Vec<StepConstraints>> {
        let inputs = step!(self, "values", self.values())?;
        step!(self, "digest", self.digest(&inputs))?;
        let (presence, inliers) = step!(self, "mask", self.mask(&inputs.mask))?;
        let values = step!(self, "update commitments", self.update_commitments(&inputs, &presence))?;
        step!(self, "partial norm", self.partial_norm(&inputs, &presence, &values))?;
        step!(self, "aggregate", self.aggregate(&inputs, &inliers, &values))?;
        Ok(self.steps)
    }

    fn values(&self) -> Synthesis<Inputs> {
        Ok(Inputs {
            domain: self.input(|p| p.domain)?,
            round: self.input(|p| p.round)?,
            chunk: self.input(|p| p.chunk)?,
            seed: self.input(|p| p.seed)?,
            mask: (0..slot_bits::word_count(self.n))
                .map(|k| self.input(|p| p.mask[k]))
                .collect::<std::result::Result<_, _>>()?,
            commitments: (0..self.n)
                .map(|i| self.input(|p| p.commitments[i]))
                .collect::<std::result::Result<_, _>>()?,
            partial_norm: self.input(|p| p.partial_norm)?,
            aggregate: self.input(|p| p.aggregate)?,
        })
    }

    /// 0. The one public input is the digest of the stated values.
    fn digest(&self, inputs: &Inputs) -> Synthesis<()> {
        let public = FpVar::new_input(self.cs.clone(), || self.hint(|w| w.public.digest()))?;
        inputs.digest()?.enforce_equal(&public)
    }

    /// 1. The presence and inlier bits pack to the mask words; an inlier is present.
    fn mask(&self, mask: &[Var]) -> Synthesis<(Bits, Bits)> {
        let bits = |f: fn(&ChunkWitness, usize) -> bool| {
            (0..self.n)
                .map(|i| Boolean::new_witness(self.cs.clone(), || self.hint(|w| f(w, i))))
                .collect::<std::result::Result<Vec<_>, _>>()
        };
        let presence = bits(|w, i| w.input.updates[i].is_some())?;
        let inliers = bits(|w, i| w.input.inliers[i])?;
        for (packed, word) in slot_bits::pack(&presence, &inliers).iter().zip(mask) {
            packed.enforce_equal(word)?;
        }
        for (present, inlier) in presence.iter().zip(&inliers) {
            FpVar::from(inlier.clone()).mul_equals(&FpVar::from(!present), &FpVar::zero())?;
        }
        Ok((presence, inliers))
    }

    /// 2. Every value range-checked as the offset value `Δ + 2^7`; each present slot's slice
    ///    matches its chunk commitment.
    fn update_commitments(&self, inputs: &Inputs, presence: &[Boolean<Fr>]) -> Synthesis<Vec<Vec<Var>>> {
        let offset = 1i64 << (UPDATE_BITS - 1);
        let mut all = Vec::with_capacity(self.n);
        for (slot, commitment) in inputs.commitments.iter().enumerate() {
            let values = (0..self.d)
                .map(|k| {
                    let value = self.hint(|w| w.input.updates[slot].as_ref().map_or(0, |u| u[k]) + offset);
                    alloc_uint(&self.cs, value.map(|v| big(v.max(0) as u64)), UPDATE_BITS)
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let header = [
                FpVar::constant(Fr::from(CHUNK_UPDATE_TAG)),
                inputs.domain.clone(),
                inputs.round.clone(),
                FpVar::constant(Fr::from(slot as u64)),
                inputs.chunk.clone(),
            ];
            let computed = commit_packed(&header, &pack(&values, UPDATE_VALUES_PER_ELEMENT, UPDATE_BITS))?;
            FpVar::from(presence[slot].clone()).mul_equals(&(commitment - computed), &FpVar::zero())?;
            all.push(values);
        }
        Ok(all)
    }

    /// 3. `P_c = Σ_k (Σ_i r_i Δ_ik)²` with `r_i = Poseidon(ρ, i)` on present slots: n + 1
    ///    products per parameter.
    fn partial_norm(&self, inputs: &Inputs, presence: &[Boolean<Fr>], values: &[Vec<Var>]) -> Synthesis<()> {
        let weights = (0..self.n)
            .map(|i| {
                let r = poseidon_hash(&[inputs.seed.clone(), FpVar::constant(Fr::from(i as u64))])?;
                materialize(&(r * FpVar::from(presence[i].clone())))
            })
            .collect::<Synthesis<Vec<_>>>()?;
        // Σ_i r_i Δ_ik = Σ_i r_i x_ik − 2^7 Σ_i r_i, with x the offset values.
        let offset_total = materialize(&(sum(weights.iter().cloned()) * Fr::from(1u64 << (UPDATE_BITS - 1))))?;
        let norm = sum((0..self.d)
            .map(|k| {
                let y = sum(weights.iter().zip(values).map(|(r, x)| r * &x[k])) - &offset_total;
                y.square()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?);
        norm.enforce_equal(&inputs.partial_norm)
    }

    /// 4. The inliers' offset sums commit to the aggregate's slice.
    fn aggregate(&self, inputs: &Inputs, inliers: &[Boolean<Fr>], values: &[Vec<Var>]) -> Synthesis<()> {
        let header = [
            FpVar::constant(Fr::from(CHUNK_AGGREGATE_TAG)),
            inputs.domain.clone(),
            inputs.round.clone(),
            inputs.chunk.clone(),
        ];
        commit_inlier_sums(&header, inliers, values)?.enforce_equal(&inputs.aggregate)
    }
}

/// The commitment under `header` to the inliers' offset sums `Σ_{i∈I} x_ik` (every lane below
/// `2^8·n`), packed as [`super::commit_aggregate`] packs them: per element
/// `Σ_i inlier_i · pack(x_i)`, n products per element rather than per parameter. The chunk
/// circuit commits its slice with it, the round circuit the whole aggregate.
pub(crate) fn commit_inlier_sums(header: &[Var], inliers: &[Boolean<Fr>], values: &[Vec<Var>]) -> Synthesis<Var> {
    let bits = super::aggregate_lane_bits(inliers.len());
    let per = (252 / bits) as usize;
    let d = values.first().map_or(0, Vec::len);
    let packed_slots: Vec<Vec<Var>> = values.iter().map(|x| pack(x, per, bits)).collect();
    let elements = (0..d.div_ceil(per))
        .map(|e| {
            materialize(&sum(inliers.iter().zip(&packed_slots).map(|(inlier, p)| FpVar::from(inlier.clone()) * &p[e])))
        })
        .collect::<Synthesis<Vec<_>>>()?;
    commit_packed(header, &elements)
}

/// The chunk circuit's constraints by step for `trainers` × `params`, without a witness.
pub fn constraint_breakdown(trainers: usize, params: usize) -> Synthesis<Vec<StepConstraints>> {
    let cs = ark_relations::r1cs::ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(ark_relations::r1cs::OptimizationGoal::Constraints);
    cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
    ChunkCircuit { trainers, params, witness: None }.synthesize(cs)
}

#[cfg(test)]
mod tests {
    use ark_ff::Zero;
    use ark_relations::r1cs::{ConstraintSystem, OptimizationGoal};

    use super::*;
    use crate::round::gram_check::coefficient;
    use crate::round::sample::synthetic;
    use crate::round::RoundInput;
    use crate::shape::Shape;

    const CHUNK: usize = 15;

    /// A reference round of 4 slots × 30 parameters (one attacker) and its inlier bits.
    fn round() -> (RoundInput, Vec<bool>, Vec<Vec<i128>>) {
        let input = synthetic(Shape::new(4, 30).unwrap(), 1, 3).input;
        let output = crate::round::run(&input).unwrap();
        (input, output.inliers, output.trace.gram)
    }

    /// Chunk `c` (parameters `[15c, 15c + 15)`) of the round under seed ρ = 99.
    fn chunk(input: &RoundInput, inliers: &[bool], c: u32) -> ChunkInput {
        let range = c as usize * CHUNK..(c as usize + 1) * CHUNK;
        ChunkInput {
            domain: input.domain,
            round: input.params.round,
            chunk: c,
            seed: Fr::from(99u8),
            inliers: inliers.to_vec(),
            updates: input.updates.iter().map(|u| u.as_ref().map(|u| u[range.clone()].to_vec())).collect(),
        }
    }

    /// Whether the circuit holds for `input` claiming `public`.
    fn satisfied(input: ChunkInput, public: ChunkPublic) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let (trainers, params) = (input.trainers(), input.params());
        let witness = Some(ChunkWitness { input, public });
        ChunkCircuit { trainers, params, witness }.synthesize(cs.clone()).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn the_chunks_of_a_round_hold_and_their_partial_norms_add_up_to_the_gram_check() {
        let (input, inliers, gram) = round();
        let mut total = Fr::zero();
        for c in 0..2 {
            let w = ChunkWitness::new(chunk(&input, &inliers, c)).unwrap();
            total += w.public.partial_norm;
            assert!(satisfied(w.input, w.public), "chunk {c}");
        }
        // rᵀ G r with the round's Gram matrix: what the final proof checks the sum against.
        let r: Vec<Fr> = (0..4)
            .map(|i| if input.updates[i].is_some() { coefficient(Fr::from(99u8), i) } else { Fr::zero() })
            .collect();
        let quadratic_form: Fr =
            (0..4).map(|i| (0..4).map(|j| r[i] * r[j] * crate::gadgets::fr(gram[i][j])).sum::<Fr>()).sum();
        assert_eq!(total, quadratic_form);
    }

    #[test]
    fn a_tampered_chunk_is_refused() {
        let (input, inliers, _) = round();
        let w = ChunkWitness::new(chunk(&input, &inliers, 0)).unwrap();
        let other = ChunkWitness::new(chunk(&input, &inliers, 1)).unwrap();
        let tamper = |f: &dyn Fn(&mut ChunkPublic)| {
            let mut public = w.public.clone();
            f(&mut public);
            satisfied(w.input.clone(), public)
        };
        assert!(!tamper(&|p| p.partial_norm += Fr::from(1u8)), "wrong partial norm");
        assert!(!tamper(&|p| p.aggregate = other.public.aggregate), "another chunk's aggregate");
        assert!(!tamper(&|p| p.commitments = other.public.commitments.clone()), "another chunk's commitments");
        assert!(!tamper(&|p| p.chunk = other.public.chunk), "claimed as another chunk");
        assert!(!tamper(&|p| p.round += Fr::from(1u8)), "from another round");
        assert!(!tamper(&|p| p.seed = Fr::from(98u8)), "under another challenge");
        let outlier = inliers.iter().position(|b| !b).expect("the attacker is an outlier");
        let wider = {
            let mut flags = inliers.clone();
            flags[outlier] = true;
            ChunkWitness::new(ChunkInput { inliers: flags, ..w.input.clone() }).unwrap()
        };
        assert!(!tamper(&|p| p.mask = wider.public.mask.clone()), "another inlier mask");
        assert!(!tamper(&|p| p.aggregate = wider.public.aggregate), "the outlier summed in");
    }

    #[test]
    fn a_value_out_of_range_is_refused() {
        let (input, inliers, _) = round();
        let mut bad = chunk(&input, &inliers, 0);
        bad.updates[0].as_mut().unwrap()[3] = 128;
        let err = super::super::run(&bad).unwrap_err().to_string();
        assert!(err.contains("slot 0"), "{err}");
        // The circuit cannot be fed it either: the honest public inputs with the value swapped in.
        let honest = ChunkWitness::new(chunk(&input, &inliers, 0)).unwrap();
        assert!(!satisfied(bad, honest.public));
    }

    #[test]
    fn a_chunk_proof_verifies_for_its_own_inputs_only() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let (input, inliers, _) = round();
        let (pk, vk) = crate::snark::setup_chunk(4, CHUNK, &mut rng).unwrap();
        let w = ChunkWitness::new(chunk(&input, &inliers, 0)).unwrap();
        let public = w.public.clone();
        let proof = crate::snark::prove_chunk(&pk, w.clone(), &mut rng).unwrap();
        assert!(crate::snark::verify_inputs(&vk, &public.to_vec(), &proof).unwrap());
        let mut other = public.clone();
        other.partial_norm += Fr::from(1u8);
        assert!(!crate::snark::verify_inputs(&vk, &other.to_vec(), &proof).unwrap(), "another partial norm");
        let forged = ChunkWitness { input: w.input, public: other };
        let err = crate::snark::prove_chunk(&pk, forged, &mut rng).unwrap_err();
        assert!(matches!(err, crate::error::Error::Unsatisfied(_)), "no proof of a false claim: {err}");
    }

    #[test]
    fn the_breakdown_names_every_step_and_stays_below_twelve_per_trainer_param() {
        let steps = constraint_breakdown(10, 1000).unwrap();
        let names: Vec<_> = steps.iter().map(|s| s.step).collect();
        assert_eq!(names, ["values", "digest", "mask", "update commitments", "partial norm", "aggregate"]);
        let per_update_param = steps.iter().map(|s| s.constraints).sum::<usize>() as f64 / 10_000.0;
        assert!(per_update_param > 9.0 && per_update_param < 12.0, "{per_update_param}");
    }
}
