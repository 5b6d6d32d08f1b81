//! Poseidon over BN254 with circomlib's parameters (x^5 S-box, widths 2..=13).
//!
//! The constants are `light-poseidon`'s circom-compatible ones, so values here match
//! circomlib/circomlibjs `poseidon([...])`. Native hashing ([`hash`]) evaluates the permutation
//! the way [`constraints`] proves it (partial rounds by a precomputed plan), which is 2.3 times
//! fewer products than `light-poseidon`'s own hash; the tests check the two agree.

pub mod constraints;

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;

/// The most inputs one Poseidon call takes (width 13).
pub const MAX_INPUTS: usize = 12;

/// circomlib's Poseidon of `inputs` (1..=12 field elements).
///
/// The permutation is evaluated as [`constraints::hash`] proves it, step for step: half the full
/// rounds, the partial rounds as the precomputed [`PartialPlan`], the other full rounds.
/// Written here rather than calling light-poseidon (the tests' reference, which it must equal)
/// because light-poseidon mixes the whole state with the MDS matrix in every partial round, 169
/// products per round at width 13; the plan needs about 2.3 times fewer products per hash, which
/// keeps committing a 1M-parameter update under a second (`fedproof bench blob`).
pub fn hash(inputs: &[Fr]) -> Fr {
    assert!(
        (1..=MAX_INPUTS).contains(&inputs.len()),
        "internal: Poseidon takes 1..=12 inputs, callers chunk their data"
    );
    let p = params(inputs.len() + 1);
    // circomlib's state starts with a zero domain tag, then the inputs.
    let mut state: Vec<Fr> = std::iter::once(Fr::zero()).chain(inputs.iter().copied()).collect();
    let half = p.full_rounds / 2;
    for round in 0..half {
        full_round(p, round, &mut state);
    }
    let plan = p.partial.as_ref().expect("plans are built with the parameters");
    let mut basis = state;
    basis.reserve(plan.sbox_inputs.len());
    for input in &plan.sbox_inputs {
        let x = affine(&basis, input);
        basis.push(sbox(x));
    }
    state = plan.outputs.iter().map(|row| affine(&basis, row)).collect();
    for round in half + p.partial_rounds..p.full_rounds + p.partial_rounds {
        full_round(p, round, &mut state);
    }
    state[0]
}

/// Round constants, S-box on every element, MDS mix.
fn full_round(p: &Params, round: usize, state: &mut Vec<Fr>) {
    for (i, s) in state.iter_mut().enumerate() {
        *s = sbox(*s + p.ark[round * p.width + i]);
    }
    *state = p.mds.iter().map(|row| row.iter().zip(state.iter()).map(|(m, s)| *m * s).sum()).collect();
}

/// `Σ coeffs[b]·basis[b] + constant`.
fn affine(basis: &[Fr], (coeffs, constant): &Affine) -> Fr {
    basis.iter().zip(coeffs).fold(*constant, |acc, (b, c)| acc + *b * c)
}

/// x ↦ x^5.
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Parameters for a width (number of inputs + 1), built once and shared.
pub(crate) fn params(width: usize) -> &'static Params {
    static CACHE: [OnceLock<Params>; MAX_INPUTS + 2] = [const { OnceLock::new() }; MAX_INPUTS + 2];
    CACHE[width].get_or_init(|| {
        let p = get_poseidon_parameters::<Fr>(width as u8).expect("widths 2..=13 are built into light-poseidon");
        let mut params = Params {
            ark: p.ark,
            mds: p.mds,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            width,
            partial: None,
        };
        params.partial = Some(PartialPlan::new(&params));
        params
    })
}

/// An affine form `Σ coeffs[b]·basis[b] + constant` over the partial-round basis.
pub(crate) type Affine = (Vec<Fr>, Fr);

/// The partial rounds as affine maps over a basis (the state entering them, then each
/// S-box output). They do not depend on the input, so they are computed once per width; the
/// gadget then builds one flat combination per S-box instead of chaining 13 per round.
pub(crate) struct PartialPlan {
    /// For each partial round, state[0] just before its S-box.
    pub sbox_inputs: Vec<Affine>,
    /// The state after the last partial round.
    pub outputs: Vec<Affine>,
}

impl PartialPlan {
    fn new(p: &Params) -> Self {
        let w = p.width;
        let half = p.full_rounds / 2;
        let zero = Fr::from(0u8);
        let mut rows: Vec<Affine> =
            (0..w).map(|i| ((0..w).map(|j| Fr::from(u8::from(i == j))).collect(), zero)).collect();
        let mut sbox_inputs = Vec::with_capacity(p.partial_rounds);
        for (r, round) in (half..half + p.partial_rounds).enumerate() {
            for (i, row) in rows.iter_mut().enumerate() {
                row.1 += p.ark[round * w + i];
            }
            sbox_inputs.push(rows[0].clone());
            for row in rows.iter_mut() {
                row.0.push(zero);
            }
            rows[0] = ((0..w + r + 1).map(|b| Fr::from(u8::from(b == w + r))).collect(), zero);
            rows = p
                .mds
                .iter()
                .map(|m| {
                    let mut acc = (vec![zero; w + r + 1], zero);
                    for (mij, row) in m.iter().zip(&rows) {
                        for (a, x) in acc.0.iter_mut().zip(&row.0) {
                            *a += *mij * x;
                        }
                        acc.1 += *mij * row.1;
                    }
                    acc
                })
                .collect();
        }
        PartialPlan { sbox_inputs, outputs: rows }
    }
}

/// The permutation's constants for one width.
pub(crate) struct Params {
    pub ark: Vec<Fr>,
    pub mds: Vec<Vec<Fr>>,
    pub full_rounds: usize,
    pub partial_rounds: usize,
    pub width: usize,
    pub partial: Option<PartialPlan>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::PrimeField;
    use std::str::FromStr;

    /// light-poseidon's circom-compatible hash with the same constants: the reference.
    fn light_poseidon_hash(inputs: &[Fr]) -> Fr {
        use light_poseidon::{Poseidon, PoseidonHasher, PoseidonParameters};
        let p = params(inputs.len() + 1);
        let params = PoseidonParameters::new(p.ark.clone(), p.mds.clone(), p.full_rounds, p.partial_rounds, p.width, 5);
        Poseidon::<Fr>::new(params).hash(inputs).expect("width matches")
    }

    #[test]
    fn equals_light_poseidon_for_every_width() {
        use ark_std::UniformRand;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        for n in 1..=MAX_INPUTS {
            for _ in 0..4 {
                let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                assert_eq!(hash(&xs), light_poseidon_hash(&xs), "width {}", n + 1);
            }
        }
    }

    #[test]
    fn matches_circomlib_reference_values() {
        // circomlibjs: poseidon([1, 2])
        let h = hash(&[Fr::from(1u8), Fr::from(2u8)]);
        let want =
            Fr::from_str("7853200120776062878684798364095072458815029376092732009249414926327459813530").unwrap();
        assert_eq!(h, want);
        // circomlibjs: poseidon([1])
        let want1 =
            Fr::from_str("18586133768512220936620570745912940619677854269274689475585506675881198879027").unwrap();
        assert_eq!(hash(&[Fr::from(1u8)]), want1);
        assert_eq!(Fr::MODULUS_BIT_SIZE, 254);
    }
}
