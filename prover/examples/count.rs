//! Prints the constraint count of a shape: `cargo run --release --example count -- N D`.
use ark_bn254::Fr;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode};
use fedproof_prover::round::RoundCircuit;
use fedproof_prover::shape::Shape;
fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("number")).collect();
    let shape = Shape::new(args[0], args[1]).expect("shape");
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    let t = std::time::Instant::now();
    RoundCircuit::blank(shape).generate_constraints(cs.clone()).expect("synthesis");
    println!("{shape}: {} constraints, {} witness vars, {:.2}/update-param, synth {:?}", cs.num_constraints(), cs.num_witness_variables(), cs.num_constraints() as f64 / (shape.trainers * shape.params) as f64, t.elapsed());
}
