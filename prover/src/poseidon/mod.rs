//! Poseidon over BN254 with circomlib's parameters (x^5 S-box, widths 2..=13).
//!
//! Native hashing is `light-poseidon`'s circom-compatible implementation, so values here match
//! circomlib/circomlibjs `poseidon([...])`; [`constraints`] mirrors the same permutation in R1CS.

pub mod constraints;

use std::sync::OnceLock;

use ark_bn254::Fr;
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::{Poseidon, PoseidonHasher, PoseidonParameters};

/// The most inputs one Poseidon call takes (width 13).
pub const MAX_INPUTS: usize = 12;

/// circomlib's Poseidon of `inputs` (1..=12 field elements).
pub fn hash(inputs: &[Fr]) -> Fr {
    assert!(
        (1..=MAX_INPUTS).contains(&inputs.len()),
        "internal: Poseidon takes 1..=12 inputs, callers chunk their data"
    );
    Poseidon::<Fr>::new(params(inputs.len() + 1).clone_params()).hash(inputs).expect("input count checked above")
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

impl Params {
    fn clone_params(&self) -> PoseidonParameters<Fr> {
        PoseidonParameters::new(
            self.ark.clone(),
            self.mds.clone(),
            self.full_rounds,
            self.partial_rounds,
            self.width,
            5,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::PrimeField;
    use std::str::FromStr;

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
