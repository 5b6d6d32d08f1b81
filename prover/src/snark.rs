//! Groth16 over BN254 for the round circuit and a chunked round's chunk and final circuits:
//! setup, prove, verify.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError};
use ark_snark::SNARK;
use ark_std::UniformRand;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::chunk::constraints::{ChunkCircuit, ChunkWitness};
use crate::chunked::constraints::FinalCircuit;
use crate::chunked::FinalWitness;
use crate::error::{Error, Result};
use crate::round::{PublicInputs, RoundCircuit, RoundWitness, StepConstraints};
use crate::shape::Shape;

/// Which of the crate's circuits a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "circuit", rename_all = "snake_case")]
pub enum Circuit {
    /// A whole round of a shape.
    Round {
        /// The round's shape.
        shape: Shape,
    },
    /// One chunk of a chunked round: `params` parameters of `trainers` slots.
    Chunk {
        /// Slots n.
        trainers: usize,
        /// Parameters in a chunk, D.
        params: usize,
    },
    /// The final proof of rounds of `shape` cut into `chunks` chunks.
    Final {
        /// The round's shape.
        shape: Shape,
        /// The number of chunks K.
        chunks: usize,
    },
}

impl From<Shape> for Circuit {
    fn from(shape: Shape) -> Self {
        Circuit::Round { shape }
    }
}

impl From<&Shape> for Circuit {
    fn from(shape: &Shape) -> Self {
        Circuit::Round { shape: *shape }
    }
}

impl std::fmt::Display for Circuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Circuit::Round { shape } => write!(f, "{shape}"),
            Circuit::Chunk { trainers, params } => write!(f, "chunks of {trainers} trainers × {params} params"),
            Circuit::Final { shape, chunks } => write!(f, "the final proof of {shape} in {chunks} chunks"),
        }
    }
}

impl Circuit {
    /// A name for file paths: the shape's id, prefixed for the chunked circuits.
    pub fn id(&self) -> String {
        match self {
            Circuit::Round { shape } => shape.id(),
            Circuit::Chunk { trainers, params } => {
                format!("chunk-{}", Shape { trainers: *trainers, params: *params }.id())
            }
            Circuit::Final { shape, chunks } => format!("final-{}-k{chunks}", shape.id()),
        }
    }

    /// The tag a key file's header names the circuit by.
    pub(crate) fn tag(&self) -> u8 {
        match self {
            Circuit::Round { .. } => 0,
            Circuit::Chunk { .. } => 1,
            Circuit::Final { .. } => 2,
        }
    }

    /// The three sizes a key file's header holds: trainers, parameters, chunks.
    pub(crate) fn sizes(&self) -> [usize; 3] {
        match *self {
            Circuit::Round { shape } => [shape.trainers, shape.params, 0],
            Circuit::Chunk { trainers, params } => [trainers, params, 0],
            Circuit::Final { shape, chunks } => [shape.trainers, shape.params, chunks],
        }
    }

    /// The circuit a header's tag and sizes name, if any.
    pub(crate) fn from_header(tag: u8, [trainers, params, chunks]: [usize; 3]) -> Option<Circuit> {
        let shape = Shape { trainers, params };
        match tag {
            0 => Some(Circuit::Round { shape }),
            1 => Some(Circuit::Chunk { trainers, params }),
            2 => Some(Circuit::Final { shape, chunks }),
            _ => None,
        }
    }

    /// Circuit-specific setup (see [`setup`] on the toxic waste).
    pub fn setup<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>)> {
        match *self {
            Circuit::Round { shape } => setup(shape, rng),
            Circuit::Chunk { trainers, params } => setup_chunk(trainers, params, rng),
            Circuit::Final { shape, chunks } => setup_final(shape, chunks, rng),
        }
    }
}

/// Circuit-specific setup for a shape. The randomness is toxic waste: whoever knows it can forge
/// proofs, so production keys come from a multi-party ceremony, not from one machine.
pub fn setup<R: RngCore + CryptoRng>(shape: Shape, rng: &mut R) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>)> {
    Ok(Groth16::<Bn254>::circuit_specific_setup(RoundCircuit::blank(shape), rng)?)
}

/// Proves a round; refuses (rather than emitting a useless proof) when the witness is wrong.
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    witness: RoundWitness,
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    let shape = witness.input.shape;
    prove_circuit(pk, RoundCircuit { shape, witness: Some(witness) }, rng)
}

/// Setup for chunks of `params` parameters of `trainers` slots (a chunked round's chunk proofs).
pub fn setup_chunk<R: RngCore + CryptoRng>(
    trainers: usize,
    params: usize,
    rng: &mut R,
) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>)> {
    let blank = ChunkCircuit { trainers, params, witness: None };
    Ok(Groth16::<Bn254>::circuit_specific_setup(blank, rng)?)
}

/// Proves one chunk; refuses when the witness is wrong.
pub fn prove_chunk<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    witness: ChunkWitness,
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    let (trainers, params) = (witness.input.trainers(), witness.input.params());
    prove_circuit(pk, ChunkCircuit { trainers, params, witness: Some(witness) }, rng)
}

/// Setup for the final proof of rounds of `shape` cut into `chunks` chunks.
pub fn setup_final<R: RngCore + CryptoRng>(
    shape: Shape,
    chunks: usize,
    rng: &mut R,
) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>)> {
    Ok(Groth16::<Bn254>::circuit_specific_setup(FinalCircuit { shape, chunks, witness: None }, rng)?)
}

/// Proves a chunked round's final proof; refuses when the witness is wrong.
pub fn prove_final<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    witness: FinalWitness,
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    let (shape, chunks) = (witness.input.shape, witness.chunks.len());
    prove_circuit(pk, FinalCircuit { shape, chunks, witness: Some(witness) }, rng)
}

/// Proves any of the crate's circuits with its assignment.
fn prove_circuit<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    circuit: C,
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    // Synthesize once, check satisfaction, then prove from the matrices: arkworks' own
    // `prove` would synthesize again and, in debug builds, panic on an unsatisfied system.
    let clock = std::time::Instant::now();
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone())?;
    tracing::info!(seconds = clock.elapsed().as_secs_f64(), "synthesized");
    cs.finalize();
    tracing::info!(seconds = clock.elapsed().as_secs_f64(), "linear combinations inlined");
    let unsatisfied = cs.which_is_unsatisfied()?;
    tracing::info!(seconds = clock.elapsed().as_secs_f64(), "satisfaction checked");
    if let Some(index) = unsatisfied {
        return Err(Error::Unsatisfied(format!(
            "constraint {index} fails: the claimed outcome or a commitment does not match the inputs"
        )));
    }
    let matrices = cs.to_matrices().ok_or(SynthesisError::MissingCS)?;
    let (num_inputs, num_constraints) = (cs.num_instance_variables(), cs.num_constraints());
    let assignment = {
        let inner = cs.borrow().ok_or(SynthesisError::MissingCS)?;
        [inner.instance_assignment.as_slice(), inner.witness_assignment.as_slice()].concat()
    };
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    tracing::info!(seconds = clock.elapsed().as_secs_f64(), "matrices built");
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        &matrices,
        num_inputs,
        num_constraints,
        &assignment,
    )?;
    tracing::info!(seconds = clock.elapsed().as_secs_f64(), "proved");
    Ok(proof)
}

/// Verifies a proof against a round's public inputs.
pub fn verify(vk: &VerifyingKey<Bn254>, public: &PublicInputs, proof: &Proof<Bn254>) -> Result<bool> {
    verify_inputs(vk, &public.to_vec(), proof)
}

/// Verifies a proof against raw public inputs (checked for count first).
pub fn verify_inputs(vk: &VerifyingKey<Bn254>, inputs: &[Fr], proof: &Proof<Bn254>) -> Result<bool> {
    if inputs.len() + 1 != vk.gamma_abc_g1.len() {
        return Err(Error::LengthMismatch {
            what: "public inputs".into(),
            expected: vk.gamma_abc_g1.len() - 1,
            found: inputs.len(),
        });
    }
    let pvk: PreparedVerifyingKey<Bn254> = Groth16::<Bn254>::process_vk(vk)?;
    Ok(Groth16::<Bn254>::verify_with_processed_vk(&pvk, inputs, proof)?)
}

/// The number of trainer slots a verifying key was made for, read off its input count
/// ([`crate::shape::public_input_count`]).
pub fn trainers_of(vk: &VerifyingKey<Bn254>) -> Option<usize> {
    let inputs = vk.gamma_abc_g1.len().checked_sub(1)?;
    (1..=crate::shape::MAX_TRAINERS).find(|&n| crate::shape::public_input_count(n) == inputs)
}

/// Number of R1CS constraints of the round circuit for a shape.
pub fn constraint_count(shape: Shape) -> Result<usize> {
    Ok(constraint_breakdown(shape)?.iter().map(|step| step.constraints).sum())
}

/// The round circuit's constraints per step of the statement, in order (they add up to
/// [`constraint_count`]).
pub fn constraint_breakdown(shape: Shape) -> Result<Vec<StepConstraints>> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
    Ok(RoundCircuit::blank(shape).synthesize(cs)?)
}
