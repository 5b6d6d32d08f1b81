//! Constraint counts per step: every circuit runs each step of its statement under the
//! [`step!`] macro, so `fedproof bench prover --count-only` can say where the constraints go.

use serde::Serialize;

/// The constraints one step of a statement adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepConstraints {
    /// The step, as named in `prover/README.md`'s statement (e.g. `"krum"`).
    pub step: &'static str,
    /// Constraints added by the step.
    pub constraints: usize,
}

/// Runs one step under its own `ns!` namespace and records its constraint count in
/// `$synth.steps` (a synthesizer with fields `cs` and `steps`).
macro_rules! step {
    ($synth:ident, $name:literal, $body:expr) => {{
        let before = $synth.cs.num_constraints();
        let namespace = ark_relations::ns!($synth.cs, $name);
        let result = $body;
        drop(namespace);
        $synth
            .steps
            .push($crate::steps::StepConstraints { step: $name, constraints: $synth.cs.num_constraints() - before });
        result
    }};
}
