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
    Poseidon::<Fr>::new(params(inputs.len() + 1).clone_params())
        .hash(inputs)
        .expect("input count checked above")
}

/// Parameters for a width (number of inputs + 1), built once and shared.
pub(crate) fn params(width: usize) -> &'static Params {
    static CACHE: [OnceLock<Params>; MAX_INPUTS + 2] = [const { OnceLock::new() }; MAX_INPUTS + 2];
    CACHE[width].get_or_init(|| {
        let p = get_poseidon_parameters::<Fr>(width as u8).expect("widths 2..=13 are built into light-poseidon");
        Params { ark: p.ark, mds: p.mds, full_rounds: p.full_rounds, partial_rounds: p.partial_rounds, width }
    })
}

/// The permutation's constants for one width.
pub(crate) struct Params {
    pub ark: Vec<Fr>,
    pub mds: Vec<Vec<Fr>>,
    pub full_rounds: usize,
    pub partial_rounds: usize,
    pub width: usize,
}

impl Params {
    fn clone_params(&self) -> PoseidonParameters<Fr> {
        PoseidonParameters::new(self.ark.clone(), self.mds.clone(), self.full_rounds, self.partial_rounds, self.width, 5)
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
        let want = Fr::from_str("7853200120776062878684798364095072458815029376092732009249414926327459813530").unwrap();
        assert_eq!(h, want);
        // circomlibjs: poseidon([1])
        let want1 = Fr::from_str("18586133768512220936620570745912940619677854269274689475585506675881198879027").unwrap();
        assert_eq!(hash(&[Fr::from(1u8)]), want1);
        assert_eq!(Fr::MODULUS_BIT_SIZE, 254);
    }
}
