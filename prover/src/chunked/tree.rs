//! The digest tree of a chunked round: a binary Merkle tree over the chunks' digests, whose
//! root `H` the final proof makes public and the contract stores. A challenged chunk is then
//! checked on chain with its digest, its index and `depth` sibling hashes: `depth` Poseidon
//! calls of width 3 (the widest the on-chain Poseidon library offers is 6, and width 3 is its
//! cheapest, about 21k gas) instead of rehashing every chunk.
//!
//! Leaves are the K chunk digests in chunk order, padded with zeros to `2^depth`, `depth =
//! ⌈log2 K⌉` (a single chunk is its own root). An inner node is `Poseidon(left, right)`. Written
//! here rather than taken from `ark-crypto-primitives`' Merkle tree, whose Poseidon is a sponge
//! with other parameters than circomlib's, which the contract's Poseidon must match.

use ark_bn254::Fr;
use ark_ff::Zero;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use crate::poseidon;

/// The tree's depth for `leaves` leaves: `⌈log2 leaves⌉`.
pub fn depth(leaves: usize) -> usize {
    leaves.max(1).next_power_of_two().trailing_zeros() as usize
}

/// The root over `leaves`.
pub fn root(leaves: &[Fr]) -> Fr {
    levels(leaves).last().map_or_else(Fr::zero, |top| top[0])
}

/// The sibling hashes from leaf `index` up to the root (bottom first), `depth` of them.
pub fn path(leaves: &[Fr], index: usize) -> Vec<Fr> {
    let levels = levels(leaves);
    let mut i = index;
    let mut siblings = Vec::with_capacity(levels.len() - 1);
    for level in &levels[..levels.len() - 1] {
        siblings.push(level[i ^ 1]);
        i /= 2;
    }
    siblings
}

/// Whether `leaf` at `index` with `siblings` hashes up to `root` (what the contract checks).
pub fn verify(leaf: Fr, index: usize, siblings: &[Fr], root: Fr) -> bool {
    let mut h = leaf;
    for (level, sibling) in siblings.iter().enumerate() {
        h = if (index >> level) & 1 == 0 { node(h, *sibling) } else { node(*sibling, h) };
    }
    index >> siblings.len() == 0 && h == root
}

/// Every level, the padded leaves first and the root last.
fn levels(leaves: &[Fr]) -> Vec<Vec<Fr>> {
    let mut level = leaves.to_vec();
    level.resize(1 << depth(leaves.len()), Fr::zero());
    let mut levels = vec![level];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let next = levels.last().map(|l| l.chunks(2).map(|p| node(p[0], p[1])).collect()).unwrap_or_default();
        levels.push(next);
    }
    levels
}

fn node(left: Fr, right: Fr) -> Fr {
    poseidon::hash(&[left, right])
}

/// The root over `leaves` in the circuit, as [`root`] computes it: `2^depth − 1` hashes.
pub fn root_gadget(leaves: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut level = leaves.to_vec();
    level.resize(1 << depth(leaves.len()), FpVar::zero());
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match (&p[0], &p[1]) {
                // The padding's subtrees are constants, hashed natively (the gadget needs a variable).
                (FpVar::Constant(l), FpVar::Constant(r)) => Ok(FpVar::constant(node(*l, *r))),
                _ => poseidon::constraints::hash(&[p[0].clone(), p[1].clone()]),
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(level.pop().unwrap_or_else(FpVar::zero))
}

#[cfg(test)]
mod tests {
    use ark_ff::One;
    use ark_relations::r1cs::ConstraintSystem;

    use super::*;

    fn leaves(k: usize) -> Vec<Fr> {
        (0..k).map(|i| Fr::from(1_000 + i as u64)).collect()
    }

    #[test]
    fn every_leaf_opens_to_the_root_and_no_other_value_or_index_does() {
        for k in [1, 2, 3, 5, 8, 40] {
            let leaves = leaves(k);
            let root = root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let siblings = path(&leaves, i);
                assert_eq!(siblings.len(), depth(k));
                assert!(verify(*leaf, i, &siblings, root), "k = {k}, leaf {i}");
                assert!(!verify(*leaf + Fr::one(), i, &siblings, root), "k = {k}, another value at {i}");
                if k > 1 {
                    assert!(!verify(*leaf, i ^ 1, &siblings, root), "k = {k}, leaf {i} as its sibling");
                }
                assert!(!verify(*leaf, i + (1 << depth(k)), &siblings, root), "an index past the tree");
            }
        }
    }

    #[test]
    fn gadget_agrees_with_native() {
        for k in [1, 3, 8] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<_> = leaves(k).iter().map(|l| FpVar::new_witness(cs.clone(), || Ok(*l)).unwrap()).collect();
            assert_eq!(root_gadget(&vars).unwrap().value().unwrap(), root(&leaves(k)));
            assert!(cs.is_satisfied().unwrap());
        }
    }
}
