//! Solidity calldata for a proof and its public inputs: the words the generated verifier's
//! `verifyProof(uint256[8], uint256[N])` takes (like `snarkjs zkey export soliditycalldata`),
//! the ABI-encoded call itself, and the constructor arguments of the generic verifier contract
//! (`contracts/src/RoundVerifier.sol`) for a verifying key.
//!
//! The EVM's pairing precompile (EIP-197) writes an Fq2 element `c0 + c1·u` as `(c1, c0)`, the
//! reverse of arkworks and snarkjs JSON, so G2 coordinates are swapped here.

use std::fmt;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Proof, VerifyingKey};
use num_bigint::BigUint;
use serde::{Serialize, Serializer};
use sha3::{Digest, Keccak256};

use super::field::{from_decimal, to_word, FieldParseError};

/// Why calldata cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalldataError {
    /// A list of words has the wrong length.
    #[error("{what}: expected {expected} words, found {found}")]
    WrongLength {
        /// Which list, e.g. `verifyingKey().key`.
        what: &'static str,
        /// Words the format requires.
        expected: usize,
        /// Words given.
        found: usize,
    },
    /// A word is not a canonical base-field coordinate (it is not below q).
    #[error("{what}: {source}")]
    NotInField {
        /// Which coordinate, e.g. `proof.b.x.c1`.
        what: String,
        /// Why it was rejected.
        source: FieldParseError,
    },
    /// The coordinates are not a point of the curve.
    #[error("{what}: point is not on the BN254 curve")]
    NotOnCurve {
        /// Which point, e.g. `proof.a`.
        what: String,
    },
    /// The point is on the curve but outside the prime-order subgroup (possible only on G2).
    #[error("{what}: point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// Which point.
        what: String,
    },
    /// There are no public inputs; the verifier's `uint256[N]` needs `N ≥ 1`.
    #[error("no public inputs: verifyProof takes uint256[N] with N >= 1 (Solidity has no zero-length static arrays)")]
    NoPublicInputs,
    /// The verifying key has fewer than 2 IC points (no public input) or more than the generic
    /// verifier can store.
    #[error("verifying key has {points} IC points; the generic verifier takes 2 to {MAX_IC_POINTS} (1 to {} public inputs)", MAX_IC_POINTS - 1)]
    IcPointCount {
        /// Points in the key's `gamma_abc_g1` (IC).
        points: usize,
    },
}

/// Most IC points the generic verifier accepts: its `MAX_IC_POINTS`, set by the contract size
/// limit on the code that stores them (1 + 64 bytes per point <= 24,576 bytes, EIP-170).
pub const MAX_IC_POINTS: usize = 383;

/// One EVM word (`uint256`), big-endian. Serializes as a decimal string, the form snarkjs JSON
/// and Foundry's `vm.parseJson` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Word(pub [u8; 32]);

impl Word {
    /// The word holding a field element.
    pub fn from_field<F: PrimeField>(value: &F) -> Self {
        Self(to_word(value))
    }

    /// `0x` and 64 lowercase hex digits, as `snarkjs zkey export soliditycalldata` prints.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The word as an unsigned decimal integer.
    pub fn to_decimal(&self) -> String {
        BigUint::from_bytes_be(&self.0).to_string()
    }

    /// The field element in the word; an error unless it is canonical (below the modulus), so
    /// that no two words stand for one element.
    pub fn to_field<F: PrimeField>(&self) -> Result<F, FieldParseError> {
        from_decimal(&self.to_decimal())
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_decimal())
    }
}

/// The arguments of `verifyProof` for one proof, in the EVM's encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SolidityCalldata {
    /// A as `(x, y)`.
    pub a: [Word; 2],
    /// B as `[[x.c1, x.c0], [y.c1, y.c0]]` (EIP-197 order).
    pub b: [[Word; 2]; 2],
    /// C as `(x, y)`.
    pub c: [Word; 2],
    /// The public inputs, in circuit order.
    pub inputs: Vec<Word>,
}

impl SolidityCalldata {
    /// The calldata of a proof and its public inputs. The point at infinity is encoded as all
    /// zero coordinates, the EIP-196/197 convention.
    pub fn new(proof: &Proof<Bn254>, inputs: &[Fr]) -> Self {
        Self {
            a: g1_words(&proof.a),
            b: g2_words(&proof.b),
            c: g1_words(&proof.c),
            inputs: inputs.iter().map(Word::from_field).collect(),
        }
    }

    /// The proof as the verifier's `uint256[8]`: `[a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0,
    /// c.x, c.y]`.
    pub fn proof_words(&self) -> [Word; 8] {
        let [[bx1, bx0], [by1, by0]] = self.b;
        [self.a[0], self.a[1], bx1, bx0, by1, by0, self.c[0], self.c[1]]
    }

    /// The arguments in the text form of `snarkjs zkey export soliditycalldata`:
    /// `[a],[[b]],[c],[inputs]` with hex words.
    pub fn to_snarkjs_string(&self) -> String {
        let pair = |words: &[Word; 2]| format!("[\"{}\", \"{}\"]", words[0], words[1]);
        let inputs: Vec<String> = self.inputs.iter().map(|w| format!("\"{w}\"")).collect();
        format!(
            "{},[{},{}],{},[{}]",
            pair(&self.a),
            pair(&self.b[0]),
            pair(&self.b[1]),
            pair(&self.c),
            inputs.join(",")
        )
    }

    /// The Solidity signature of the verifier function these arguments are for.
    pub fn function_signature(&self) -> String {
        format!("verifyProof(uint256[8],uint256[{}])", self.inputs.len())
    }

    /// The ABI-encoded call `verifyProof(proof, inputs)`: the 4-byte selector, then the words
    /// (static arrays are encoded in place, one 32-byte word per element).
    pub fn encode_call(&self) -> Result<Vec<u8>, CalldataError> {
        if self.inputs.is_empty() {
            return Err(CalldataError::NoPublicInputs);
        }
        let mut call = Vec::with_capacity(4 + 32 * (8 + self.inputs.len()));
        call.extend_from_slice(&selector(&self.function_signature()));
        for word in self.proof_words().iter().chain(&self.inputs) {
            call.extend_from_slice(&word.0);
        }
        Ok(call)
    }
}

/// The constructor arguments of the generic `RoundVerifier` contract for one verifying key.
/// Serializes (decimal words) as the `verifier_args.json` that `fedproof prover export` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifierConstructorArgs {
    /// alpha as `(x, y)`.
    pub alpha: [Word; 2],
    /// beta as `[x.c1, x.c0, y.c1, y.c0]` (EIP-197 order).
    pub beta: [Word; 4],
    /// gamma, same order as beta.
    pub gamma: [Word; 4],
    /// delta, same order as beta.
    pub delta: [Word; 4],
    /// IC[0..=N] flattened as `x0, y0, x1, y1, …` (`(0, 0)` for the point at infinity).
    pub ic: Vec<Word>,
}

impl VerifierConstructorArgs {
    /// Every word in constructor order (alpha, beta, gamma, delta, then IC): the positions the
    /// contract's `KeyCoordinateNotInField(word)` and `KeyPointInvalid(word)` errors name.
    pub fn words(&self) -> Vec<Word> {
        let key = self.alpha.iter().chain(&self.beta).chain(&self.gamma).chain(&self.delta);
        key.chain(&self.ic).copied().collect()
    }
}

/// The constructor arguments of the generic verifier (`RoundVerifier`) for `vk`, as 32-byte
/// big-endian words, so that a node can deploy a verifier for any key without compiling Solidity.
pub fn verifier_constructor_args(vk: &VerifyingKey<Bn254>) -> Result<VerifierConstructorArgs, CalldataError> {
    let points = vk.gamma_abc_g1.len();
    if !(2..=MAX_IC_POINTS).contains(&points) {
        return Err(CalldataError::IcPointCount { points });
    }
    let flat_g2 = |point: &G2Affine| {
        let [[x1, x0], [y1, y0]] = g2_words(point);
        [x1, x0, y1, y0]
    };
    Ok(VerifierConstructorArgs {
        alpha: g1_words(&vk.alpha_g1),
        beta: flat_g2(&vk.beta_g2),
        gamma: flat_g2(&vk.gamma_g2),
        delta: flat_g2(&vk.delta_g2),
        ic: vk.gamma_abc_g1.iter().flat_map(g1_words).collect(),
    })
}

/// The verifying key a generic verifier holds, from the words its `verifyingKey()` returns (the
/// constructor's order: alpha, beta, gamma, delta, then IC flattened), checking every point; so an
/// auditor can verify against exactly the key the contract uses.
pub fn verifying_key_from_words(key: &[Word], ic: &[Word]) -> Result<VerifyingKey<Bn254>, CalldataError> {
    if key.len() != 14 {
        return Err(CalldataError::WrongLength { what: "verifyingKey().key", expected: 14, found: key.len() });
    }
    if ic.len() < 4 || ic.len() % 2 == 1 {
        let expected = 2 * (ic.len() / 2).max(2);
        return Err(CalldataError::WrongLength { what: "verifyingKey().ic", expected, found: ic.len() });
    }
    Ok(VerifyingKey {
        alpha_g1: g1_from_words("alpha", &key[0..2])?,
        beta_g2: g2_from_words("beta", &key[2..6])?,
        gamma_g2: g2_from_words("gamma", &key[6..10])?,
        delta_g2: g2_from_words("delta", &key[10..14])?,
        gamma_abc_g1: ic
            .chunks(2)
            .enumerate()
            .map(|(i, point)| g1_from_words(&format!("IC[{i}]"), point))
            .collect::<Result<_, _>>()?,
    })
}

/// A proof from the verifier's `uint256[8]` (the inverse of [`SolidityCalldata::proof_words`]):
/// `[a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y]`, each point checked to be on its curve
/// and in the prime-order subgroup; all-zero coordinates are the point at infinity (EIP-196/197).
pub fn proof_from_words(words: &[Word; 8]) -> Result<Proof<Bn254>, CalldataError> {
    Ok(Proof {
        a: g1_from_words("proof.a", &words[0..2])?,
        b: g2_from_words("proof.b", &words[2..6])?,
        c: g1_from_words("proof.c", &words[6..8])?,
    })
}

/// A G1 point from `(x, y)` words, checked.
fn g1_from_words(what: &str, words: &[Word]) -> Result<G1Affine, CalldataError> {
    let coordinate = |k: usize, name: &str| base_field(&format!("{what}.{name}"), &words[k]);
    let point = if words.iter().all(|w| *w == Word::default()) {
        G1Affine::identity()
    } else {
        G1Affine::new_unchecked(coordinate(0, "x")?, coordinate(1, "y")?)
    };
    checked_point(what, point)
}

/// A G2 point from `[x.c1, x.c0, y.c1, y.c0]` words (EIP-197 order), checked.
fn g2_from_words(what: &str, words: &[Word]) -> Result<G2Affine, CalldataError> {
    let coordinate = |k: usize, name: &str| base_field(&format!("{what}.{name}"), &words[k]);
    let point = if words.iter().all(|w| *w == Word::default()) {
        G2Affine::identity()
    } else {
        let x = Fq2::new(coordinate(1, "x.c0")?, coordinate(0, "x.c1")?);
        let y = Fq2::new(coordinate(3, "y.c0")?, coordinate(2, "y.c1")?);
        G2Affine::new_unchecked(x, y)
    };
    checked_point(what, point)
}

fn base_field(what: &str, word: &Word) -> Result<Fq, CalldataError> {
    word.to_field().map_err(|source| CalldataError::NotInField { what: what.to_owned(), source })
}

/// Accepts a point only if it is on the curve and in the prime-order subgroup: pairing code
/// assumes both, and G2 of BN254 has points on the curve outside the subgroup.
fn checked_point<P: SWCurveConfig>(what: &str, point: Affine<P>) -> Result<Affine<P>, CalldataError> {
    if !point.is_on_curve() {
        return Err(CalldataError::NotOnCurve { what: what.to_owned() });
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(CalldataError::NotInSubgroup { what: what.to_owned() });
    }
    Ok(point)
}

/// The 4-byte function selector: the first bytes of the Keccak-256 of the signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = Keccak256::digest(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

fn g1_words(point: &G1Affine) -> [Word; 2] {
    let (x, y) = point.xy().unwrap_or((Fq::zero(), Fq::zero()));
    [Word::from_field(&x), Word::from_field(&y)]
}

fn g2_words(point: &G2Affine) -> [[Word; 2]; 2] {
    let (x, y) = point.xy().unwrap_or((Fq2::zero(), Fq2::zero()));
    [[Word::from_field(&x.c1), Word::from_field(&x.c0)], [Word::from_field(&y.c1), Word::from_field(&y.c0)]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::field::to_decimal;
    use crate::export::toy::toy_proof;

    #[test]
    fn selector_matches_a_known_one() {
        // ERC-20 `transfer`, the best-known selector there is.
        assert_eq!(hex::encode(selector("transfer(address,uint256)")), "a9059cbb");
    }

    #[test]
    fn words_follow_the_proof_with_g2_coordinates_swapped() {
        let toy = toy_proof(1);
        let calldata = SolidityCalldata::new(&toy.proof, &toy.inputs);
        let (ax, ay) = toy.proof.a.xy().expect("A is finite");
        let (bx, by) = toy.proof.b.xy().expect("B is finite");
        let (cx, cy) = toy.proof.c.xy().expect("C is finite");
        let expected: Vec<String> = [ax, ay, bx.c1, bx.c0, by.c1, by.c0, cx, cy].iter().map(to_decimal).collect();
        let words: Vec<String> = calldata.proof_words().iter().map(Word::to_decimal).collect();
        assert_eq!(words, expected);
        let inputs: Vec<String> = calldata.inputs.iter().map(Word::to_decimal).collect();
        assert_eq!(inputs, ["33", "14", "99"]);
    }

    #[test]
    fn encoded_call_is_selector_then_words() {
        let toy = toy_proof(1);
        let calldata = SolidityCalldata::new(&toy.proof, &toy.inputs);
        let call = calldata.encode_call().expect("three inputs");
        assert_eq!(call.len(), 4 + 32 * 11);
        assert_eq!(calldata.function_signature(), "verifyProof(uint256[8],uint256[3])");
        assert_eq!(call[..4], selector("verifyProof(uint256[8],uint256[3])"));
        let words: Vec<&[u8]> = call[4..].chunks(32).collect();
        for (word, expected) in words.iter().zip(calldata.proof_words().iter().chain(&calldata.inputs)) {
            assert_eq!(*word, expected.0);
        }
        assert_eq!(words[10][31], 99);
    }

    #[test]
    fn no_inputs_cannot_be_encoded() {
        let calldata = SolidityCalldata::new(&toy_proof(1).proof, &[]);
        assert_eq!(calldata.encode_call(), Err(CalldataError::NoPublicInputs));
    }

    #[test]
    fn infinity_is_all_zero_words() {
        let proof = Proof::<Bn254> { a: G1Affine::identity(), b: G2Affine::identity(), c: G1Affine::identity() };
        let calldata = SolidityCalldata::new(&proof, &[Fr::from(1u64)]);
        assert!(calldata.proof_words().iter().all(|w| *w == Word::default()));
    }

    #[test]
    fn constructor_args_match_the_generated_verifier_constants() {
        let vk = toy_proof(1).vk;
        let args = verifier_constructor_args(&vk).expect("three inputs");
        let contract = crate::export::solidity::render_verifier(&vk, "ToyVerifier").expect("render");
        let names = ["ALPHA_X", "ALPHA_Y", "BETA_X1", "BETA_X0", "BETA_Y1", "BETA_Y0", "GAMMA_X1", "GAMMA_X0"]
            .into_iter()
            .chain(["GAMMA_Y1", "GAMMA_Y0", "DELTA_X1", "DELTA_X0", "DELTA_Y1", "DELTA_Y0"]);
        let words = args.words();
        for (name, word) in names.zip(&words) {
            let line = format!("uint256 internal constant {name} = {};", word.to_decimal());
            assert!(contract.contains(&line), "{line} not in the generated verifier");
        }
        assert_eq!(args.ic.len(), 2 * 4, "IC[0..=3], two words each");
        for (k, word) in words[14..].iter().enumerate() {
            let coordinate = if k % 2 == 0 { "x" } else { "y" };
            let line = format!("hex\"{}\" /* IC[{}].{coordinate} */", hex::encode(word.0), k / 2);
            assert!(contract.contains(&line), "{line} not in the generated verifier");
        }
        let json = serde_json::to_value(&args).expect("json");
        assert_eq!(json["delta"][3], serde_json::json!(args.delta[3].to_decimal()));
        assert_eq!(json["ic"].as_array().map(Vec::len), Some(8));
    }

    #[test]
    fn verifying_key_round_trips_through_the_verifier_words() {
        let vk = toy_proof(1).vk;
        let words = verifier_constructor_args(&vk).expect("three inputs").words();
        assert_eq!(verifying_key_from_words(&words[..14], &words[14..]).expect("valid key"), vk);
        let mut bad = words.clone();
        bad[0].0[31] ^= 1; // alpha.x off the curve
        assert!(matches!(
            verifying_key_from_words(&bad[..14], &bad[14..]),
            Err(CalldataError::NotOnCurve { ref what }) if what == "alpha"
        ));
        assert!(matches!(
            verifying_key_from_words(&words[..13], &words[14..]),
            Err(CalldataError::WrongLength { expected: 14, found: 13, .. })
        ));
        assert!(verifying_key_from_words(&words[..14], &words[14..17]).is_err());
    }

    #[test]
    fn proof_words_round_trip_and_bad_points_are_named() {
        let toy = toy_proof(1);
        let words = SolidityCalldata::new(&toy.proof, &toy.inputs).proof_words();
        assert_eq!(proof_from_words(&words), Ok(toy.proof));
        let zero = [Word::default(); 8];
        let infinity = Proof::<Bn254> { a: G1Affine::identity(), b: G2Affine::identity(), c: G1Affine::identity() };
        assert_eq!(proof_from_words(&zero), Ok(infinity));

        let mut off_curve = words;
        off_curve[7].0[31] ^= 1;
        assert_eq!(proof_from_words(&off_curve), Err(CalldataError::NotOnCurve { what: "proof.c".into() }));
        let mut too_big = words;
        too_big[2] = Word([0xff; 32]);
        let err = proof_from_words(&too_big).expect_err("b.x.c1 >= q");
        assert!(err.to_string().starts_with("proof.b.x.c1: "), "{err}");
        // Almost every point on BN254's twist lies outside the r-order subgroup.
        let outside = (1u64..)
            .find_map(|i| G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(i), Fq::from(1u64)), true))
            .expect("some x is on the curve");
        let mut not_in_subgroup = words;
        not_in_subgroup[2..6].copy_from_slice(&[
            Word::from_field(&outside.x.c1),
            Word::from_field(&outside.x.c0),
            Word::from_field(&outside.y.c1),
            Word::from_field(&outside.y.c0),
        ]);
        assert_eq!(proof_from_words(&not_in_subgroup), Err(CalldataError::NotInSubgroup { what: "proof.b".into() }));
    }

    #[test]
    fn constructor_args_reject_keys_the_contract_would() {
        let mut vk = toy_proof(1).vk;
        vk.gamma_abc_g1.truncate(1);
        assert_eq!(verifier_constructor_args(&vk), Err(CalldataError::IcPointCount { points: 1 }));
        vk.gamma_abc_g1 = vec![G1Affine::identity(); MAX_IC_POINTS + 1];
        assert_eq!(verifier_constructor_args(&vk), Err(CalldataError::IcPointCount { points: MAX_IC_POINTS + 1 }));
        vk.gamma_abc_g1.truncate(MAX_IC_POINTS);
        let args = verifier_constructor_args(&vk).expect("the largest key that fits");
        assert!(args.ic.iter().all(|w| *w == Word::default()), "infinity is (0, 0)");
    }

    #[test]
    fn text_and_json_forms() {
        let toy = toy_proof(1);
        let calldata = SolidityCalldata::new(&toy.proof, &toy.inputs);
        let text = calldata.to_snarkjs_string();
        assert!(text.starts_with(&format!("[\"{}\", ", calldata.a[0].to_hex())), "{text}");
        assert!(text.ends_with(&format!("\"{}\"]", calldata.inputs[2].to_hex())), "{text}");
        assert_eq!(calldata.inputs[2].to_hex().len(), 66);
        let json = serde_json::to_value(&calldata).expect("json");
        assert_eq!(json["inputs"], serde_json::json!(["33", "14", "99"]));
        assert_eq!(json["b"][0][0], serde_json::json!(calldata.b[0][0].to_decimal()));
    }
}
