//! The Gram matrix's randomized check, natively: the challenge and the equation the circuit's
//! "gram check" step enforces (prover/README.md, "Gram matrix by a randomized check").
//!
//! The prover supplies `G`; the circuit hashes the update commitments (which bind every present
//! update) and `G` into a seed ρ, derives one coefficient per slot, `r_i = Poseidon(ρ, i)`, and
//! checks `rᵀ G r = ‖Σ_i r_i Δ_i‖²` over the present slots. If `G` differs from the true Gram
//! matrix `X Xᵀ` on the present slots, `rᵀ (G − XXᵀ) r` is a non-zero quadratic form in the
//! independent `r_i`, so (Schwartz–Zippel) it vanishes for at most a 2/p fraction of them.
//! Because ρ is a hash of `G` itself, a prover that wants another `G` to pass must try one
//! hash per candidate: grinding wins with probability 2/p per Poseidon call.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{Field, Zero};

use crate::commitment::commit_packed;
use crate::gadgets::{fr, pow2};
use crate::poseidon;
use crate::shape::Shape;

/// Domain tag of the Gram challenge's header (updates are 1, models 2).
pub const GRAM_TAG: u64 = 3;

/// The header of round `round`'s Gram challenge in the job with `domain`.
pub fn challenge_header(domain: Fr, round: u32) -> Vec<Fr> {
    vec![Fr::from(GRAM_TAG), domain, Fr::from(round)]
}

/// Width of a diagonal entry `G_ii = ‖Δ_i‖² ≥ 0`: the circuit range-checks it to this, so that
/// packing the diagonal is injective.
pub fn diagonal_bits(shape: Shape) -> u32 {
    shape.gram_bits()
}

/// Width of a pair offset `t_ij = tol + 2^B − D_ij` (B = [`Shape::distance_bits`]): with
/// `0 ≤ D_ij < 2^B` and `tol < 2^B` it lies in `[1, 2^(B+1))`, and its top bit is `D_ij ≤ tol`.
pub fn offset_bits(shape: Shape) -> u32 {
    shape.distance_bits() + 1
}

/// The duplicate tolerance the pairs are compared with: `min(dup_tol, 2^B − 1)`. A distance is
/// below 2^B, so `D_ij ≤ dup_tol` and `D_ij ≤ tol` agree, and the offset keeps its B + 1 bits.
pub fn tolerance(shape: Shape, dup_tol: u32) -> u128 {
    (dup_tol as u128).min((1u128 << shape.distance_bits()) - 1)
}

/// Slot pair `i < j`'s offset `t_ij = tol + 2^B − D_ij`, `D_ij = G_ii + G_jj − 2G_ij` (negative or
/// beyond B + 1 bits only for a Gram matrix that is not one; the circuit then has no witness).
pub fn pair_offset(shape: Shape, dup_tol: u32, gram: &[Vec<i128>], i: usize, j: usize) -> i128 {
    let distance = gram[i][i] + gram[j][j] - 2 * gram[i][j];
    (tolerance(shape, dup_tol) + (1u128 << shape.distance_bits())) as i128 - distance
}

/// Offset entries per packed field element.
pub fn entries_per_element(bits: u32) -> usize {
    (252 / bits) as usize
}

/// Packs values little-endian in `bits`-wide slots, [`entries_per_element`] per field element.
fn packed(values: impl Iterator<Item = i128>, bits: u32) -> Vec<Fr> {
    let values: Vec<Fr> = values.map(fr).collect();
    values
        .chunks(entries_per_element(bits))
        .map(|c| c.iter().enumerate().map(|(t, v)| *v * pow2(bits * t as u32)).sum())
        .collect()
}

/// What the challenge hashes of `gram`: the diagonal `G_ii`, then the pair offsets `t_ij`,
/// `i < j` row by row, each packed little-endian in its own width. `G` is linear in them
/// (`G_ij = (G_ii + G_jj − tol − 2^B + t_ij) / 2`), so they fix it; and hashing the offsets
/// rather than the entries lets the duplicate test read `D_ij ≤ tol` off the offset's top bit:
/// one range check per pair serves both.
pub fn packed_gram(shape: Shape, dup_tol: u32, gram: &[Vec<i128>]) -> Vec<Fr> {
    let n = gram.len();
    let mut elements = packed((0..n).map(|i| gram[i][i]), diagonal_bits(shape));
    let offsets =
        (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| pair_offset(shape, dup_tol, gram, i, j));
    elements.extend(packed(offsets, offset_bits(shape)));
    elements
}

/// The seed ρ: the Poseidon chain over the header, then every slot's commitment, then
/// [`packed_gram`].
pub fn seed(shape: Shape, dup_tol: u32, domain: Fr, round: u32, commitments: &[Fr], gram: &[Vec<i128>]) -> Fr {
    let mut elements = commitments.to_vec();
    elements.extend(packed_gram(shape, dup_tol, gram));
    commit_packed(&challenge_header(domain, round), &elements)
}

/// The coefficients `r_i = Poseidon(ρ, i)` under the [`seed`] of these commitments and `gram`.
pub fn coefficients(
    shape: Shape,
    dup_tol: u32,
    domain: Fr,
    round: u32,
    commitments: &[Fr],
    gram: &[Vec<i128>],
) -> Vec<Fr> {
    let seed = seed(shape, dup_tol, domain, round, commitments, gram);
    (0..commitments.len()).map(|i| coefficient(seed, i)).collect()
}

/// Slot `slot`'s coefficient under seed ρ, `r_i = Poseidon(ρ, i)` (also what each chunk of a
/// chunked round weighs its slice with, `crate::chunk`).
pub fn coefficient(seed: Fr, slot: usize) -> Fr {
    poseidon::hash(&[seed, Fr::from(slot as u64)])
}

/// Whether `rᵀ G r = ‖Σ_i r_i Δ_i‖²` over the present slots (absent slots weigh 0), `Δ_i` the
/// present slots' updates.
pub fn holds(gram: &[Vec<i128>], updates: &[Option<Vec<i64>>], r: &[Fr]) -> bool {
    let weight: Vec<Fr> = updates.iter().zip(r).map(|(u, r)| if u.is_some() { *r } else { Fr::zero() }).collect();
    let quadratic_form: Fr =
        (0..gram.len()).map(|i| weight[i] * (0..gram.len()).map(|j| fr(gram[i][j]) * weight[j]).sum::<Fr>()).sum();
    let params = updates.iter().flatten().map(Vec::len).next().unwrap_or(0);
    let norm_sq: Fr = (0..params)
        .map(|k| {
            let y: Fr = updates.iter().zip(&weight).filter_map(|(u, w)| u.as_ref().map(|u| *w * fr(u[k].into()))).sum();
            y.square()
        })
        .sum();
    quadratic_form == norm_sq
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: u32 = 5;

    fn shape() -> Shape {
        Shape::new(4, 3).unwrap()
    }

    fn updates() -> Vec<Option<Vec<i64>>> {
        vec![Some(vec![3, -1, 4]), None, Some(vec![-5, 9, 2]), Some(vec![6, 5, -3])]
    }

    fn gram(updates: &[Option<Vec<i64>>]) -> Vec<Vec<i128>> {
        let zero = vec![0; 3];
        let u: Vec<&Vec<i64>> = updates.iter().map(|u| u.as_ref().unwrap_or(&zero)).collect();
        u.iter()
            .map(|a| u.iter().map(|b| a.iter().zip(b.iter()).map(|(x, y)| (*x * *y) as i128).sum()).collect())
            .collect()
    }

    /// A round of `updates()` in round 2 of domain 7: its updates, commitments, true Gram
    /// matrix and the coefficients that matrix hashes to.
    struct Round {
        updates: Vec<Option<Vec<i64>>>,
        commitments: Vec<Fr>,
        g: Vec<Vec<i128>>,
        r: Vec<Fr>,
    }

    fn round() -> Round {
        let updates = updates();
        let commitments: Vec<Fr> = (0..4u64).map(|i| Fr::from(100 + i)).collect();
        let g = gram(&updates);
        let r = coefficients(shape(), TOL, Fr::from(7u8), 2, &commitments, &g);
        Round { updates, commitments, g, r }
    }

    #[test]
    fn the_true_gram_matrix_passes_and_a_forged_one_does_not() {
        let Round { updates, commitments, g, r } = round();
        assert!(holds(&g, &updates, &r));
        // A symmetric forgery, with the coefficients it itself hashes to.
        let mut forged = g.clone();
        forged[0][2] += 1;
        forged[2][0] += 1;
        let r = coefficients(shape(), TOL, Fr::from(7u8), 2, &commitments, &forged);
        assert!(!holds(&forged, &updates, &r));
    }

    #[test]
    fn the_coefficients_depend_on_every_bound_value() {
        let Round { commitments, g, r, .. } = round();
        assert_ne!(r, coefficients(shape(), TOL, Fr::from(8u8), 2, &commitments, &g), "domain");
        assert_ne!(r, coefficients(shape(), TOL, Fr::from(7u8), 3, &commitments, &g), "round");
        assert_ne!(r, coefficients(shape(), TOL + 1, Fr::from(7u8), 2, &commitments, &g), "tolerance");
        let mut other = commitments.clone();
        other[3] += Fr::from(1u8);
        assert_ne!(r, coefficients(shape(), TOL, Fr::from(7u8), 2, &other, &g), "commitments");
        let mut forged = g.clone();
        forged[3][3] += 1;
        assert_ne!(r, coefficients(shape(), TOL, Fr::from(7u8), 2, &commitments, &forged), "gram");
        assert!(r.windows(2).all(|w| w[0] != w[1]), "independent per slot");
    }
}
