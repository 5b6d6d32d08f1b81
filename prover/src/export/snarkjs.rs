//! snarkjs's Groth16 JSON files — `proof.json`, `public.json` and `verification_key.json` — in
//! both directions, so that `snarkjs groth16 verify` (or any tool that reads these files) can
//! check our proofs, and so that files from snarkjs can be read back into arkworks types.
//!
//! snarkjs writes curve points in projective form with decimal strings: a G1 point is
//! `[x, y, z]` and a G2 point `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`, where `z` is one for
//! an affine point and zero for the point at infinity.

use ark_bn254::{Bn254, Fq, Fq12, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr};
use ark_ff::{One, Zero};
use ark_groth16::{Proof, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::field::{from_decimal, to_decimal, FieldParseError};

/// The `protocol` value of snarkjs Groth16 files.
pub const PROTOCOL: &str = "groth16";
/// The `curve` value snarkjs writes for BN254 (it calls the curve by its older name).
pub const CURVE: &str = "bn128";

/// What is wrong with a snarkjs JSON file, and where.
#[derive(Debug, thiserror::Error)]
pub enum SnarkjsError {
    /// The text is not JSON of the expected shape.
    #[error("{file}: malformed JSON: {source}")]
    Json {
        /// Which file was being read, e.g. `proof.json`.
        file: &'static str,
        /// The parser's complaint, with line and column.
        source: serde_json::Error,
    },
    /// A value could not be written as JSON.
    #[error("{file}: could not serialize: {source}")]
    Serialize {
        /// Which file was being written.
        file: &'static str,
        /// The serializer's complaint.
        source: serde_json::Error,
    },
    /// An array has the wrong number of entries.
    #[error("{field}: expected {expected} entries, found {found}")]
    WrongLength {
        /// Path of the array, e.g. `pi_b[1]`.
        field: String,
        /// Entries the format requires.
        expected: usize,
        /// Entries present.
        found: usize,
    },
    /// A coordinate or public input is not a canonical field element.
    #[error("{field}: {source}")]
    Field {
        /// Path of the value, e.g. `pi_a[0]`.
        field: String,
        /// Why the value was rejected.
        source: FieldParseError,
    },
    /// The projective `z` coordinate is neither one (an affine point) nor zero (infinity).
    #[error("{field}: z coordinate must be 1 (affine point) or 0 (point at infinity)")]
    BadProjectiveZ {
        /// Path of the point, e.g. `pi_c`.
        field: String,
    },
    /// The coordinates do not satisfy the curve equation.
    #[error("{field}: point is not on the BN254 curve")]
    NotOnCurve {
        /// Path of the point.
        field: String,
    },
    /// The point is on the curve but outside the prime-order subgroup (possible only on G2).
    #[error("{field}: point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// Path of the point.
        field: String,
    },
    /// `protocol` is not `groth16`.
    #[error("protocol is {found:?}, expected \"groth16\"")]
    WrongProtocol {
        /// The value found.
        found: String,
    },
    /// `curve` is not BN254.
    #[error("curve is {found:?}, expected \"bn128\" (BN254)")]
    WrongCurve {
        /// The value found.
        found: String,
    },
    /// `IC` does not hold `nPublic + 1` points.
    #[error("IC has {ic} points but nPublic is {n_public}; expected nPublic + 1 points")]
    IcLength {
        /// The `nPublic` value.
        n_public: usize,
        /// Points in `IC`.
        ic: usize,
    },
    /// `vk_alphabeta_12` is not the pairing of `vk_alpha_1` and `vk_beta_2`.
    #[error("vk_alphabeta_12 is not e(vk_alpha_1, vk_beta_2)")]
    AlphaBetaMismatch,
}

/// `proof.json`: a Groth16 proof as snarkjs writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnarkjsProof {
    /// The G1 point A as `[x, y, z]`.
    pub pi_a: Vec<String>,
    /// The G2 point B as `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`.
    pub pi_b: Vec<Vec<String>>,
    /// The G1 point C as `[x, y, z]`.
    pub pi_c: Vec<String>,
    /// Always `groth16`.
    pub protocol: String,
    /// Always `bn128`.
    pub curve: String,
}

/// `public.json`: the public inputs as decimal strings, in circuit order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnarkjsPublic(pub Vec<String>);

/// `verification_key.json`: a Groth16 verifying key as snarkjs writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnarkjsVerifyingKey {
    /// Always `groth16`.
    pub protocol: String,
    /// Always `bn128`.
    pub curve: String,
    /// Number of public inputs.
    #[serde(rename = "nPublic")]
    pub n_public: usize,
    /// α in G1.
    pub vk_alpha_1: Vec<String>,
    /// β in G2.
    pub vk_beta_2: Vec<Vec<String>>,
    /// γ in G2.
    pub vk_gamma_2: Vec<Vec<String>>,
    /// δ in G2.
    pub vk_delta_2: Vec<Vec<String>>,
    /// e(α, β) in GT = Fq12, as `[[c0.c0, c0.c1, c0.c2], [c1.c0, c1.c1, c1.c2]]` of Fq2 pairs.
    /// Redundant (snarkjs's verifier recomputes it), so optional when reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vk_alphabeta_12: Option<Vec<Vec<Vec<String>>>>,
    /// The `nPublic + 1` G1 points that weigh the public inputs (arkworks' `gamma_abc_g1`).
    #[serde(rename = "IC")]
    pub ic: Vec<Vec<String>>,
}

impl SnarkjsProof {
    /// The snarkjs form of an arkworks proof.
    pub fn from_arkworks(proof: &Proof<Bn254>) -> Self {
        Self {
            pi_a: g1_to_strings(&proof.a),
            pi_b: g2_to_strings(&proof.b),
            pi_c: g1_to_strings(&proof.c),
            protocol: PROTOCOL.to_owned(),
            curve: CURVE.to_owned(),
        }
    }

    /// The arkworks proof, after checking that every point is a valid curve point.
    pub fn to_arkworks(&self) -> Result<Proof<Bn254>, SnarkjsError> {
        check_protocol_and_curve(&self.protocol, &self.curve)?;
        Ok(Proof {
            a: g1_from_strings("pi_a", &self.pi_a)?,
            b: g2_from_strings("pi_b", &self.pi_b)?,
            c: g1_from_strings("pi_c", &self.pi_c)?,
        })
    }
}

impl SnarkjsPublic {
    /// The snarkjs form of public inputs.
    pub fn from_arkworks(inputs: &[Fr]) -> Self {
        Self(inputs.iter().map(to_decimal).collect())
    }

    /// The public inputs as field elements; each must be a canonical decimal below r.
    pub fn to_arkworks(&self) -> Result<Vec<Fr>, SnarkjsError> {
        self.0.iter().enumerate().map(|(i, value)| parse(&format!("public[{i}]"), value)).collect()
    }
}

impl SnarkjsVerifyingKey {
    /// The snarkjs form of an arkworks verifying key, including e(α, β).
    pub fn from_arkworks(vk: &VerifyingKey<Bn254>) -> Self {
        Self {
            protocol: PROTOCOL.to_owned(),
            curve: CURVE.to_owned(),
            n_public: vk.gamma_abc_g1.len().saturating_sub(1),
            vk_alpha_1: g1_to_strings(&vk.alpha_g1),
            vk_beta_2: g2_to_strings(&vk.beta_g2),
            vk_gamma_2: g2_to_strings(&vk.gamma_g2),
            vk_delta_2: g2_to_strings(&vk.delta_g2),
            vk_alphabeta_12: Some(fq12_to_strings(&alpha_beta(vk))),
            ic: vk.gamma_abc_g1.iter().map(g1_to_strings).collect(),
        }
    }

    /// The arkworks verifying key, after checking every point and, if present, that
    /// `vk_alphabeta_12` is consistent with α and β.
    pub fn to_arkworks(&self) -> Result<VerifyingKey<Bn254>, SnarkjsError> {
        check_protocol_and_curve(&self.protocol, &self.curve)?;
        if self.ic.len() != self.n_public + 1 {
            return Err(SnarkjsError::IcLength { n_public: self.n_public, ic: self.ic.len() });
        }
        let vk = VerifyingKey {
            alpha_g1: g1_from_strings("vk_alpha_1", &self.vk_alpha_1)?,
            beta_g2: g2_from_strings("vk_beta_2", &self.vk_beta_2)?,
            gamma_g2: g2_from_strings("vk_gamma_2", &self.vk_gamma_2)?,
            delta_g2: g2_from_strings("vk_delta_2", &self.vk_delta_2)?,
            gamma_abc_g1: self
                .ic
                .iter()
                .enumerate()
                .map(|(i, point)| g1_from_strings(&format!("IC[{i}]"), point))
                .collect::<Result<_, _>>()?,
        };
        if let Some(strings) = &self.vk_alphabeta_12 {
            if fq12_from_strings("vk_alphabeta_12", strings)? != alpha_beta(&vk) {
                return Err(SnarkjsError::AlphaBetaMismatch);
            }
        }
        Ok(vk)
    }
}

/// `proof.json` text for a proof.
pub fn proof_to_json(proof: &Proof<Bn254>) -> Result<String, SnarkjsError> {
    to_json("proof.json", &SnarkjsProof::from_arkworks(proof))
}

/// Reads `proof.json` text into a checked arkworks proof.
pub fn proof_from_json(json: &str) -> Result<Proof<Bn254>, SnarkjsError> {
    from_json::<SnarkjsProof>("proof.json", json)?.to_arkworks()
}

/// `public.json` text for public inputs.
pub fn public_to_json(inputs: &[Fr]) -> Result<String, SnarkjsError> {
    to_json("public.json", &SnarkjsPublic::from_arkworks(inputs))
}

/// Reads `public.json` text into public inputs.
pub fn public_from_json(json: &str) -> Result<Vec<Fr>, SnarkjsError> {
    from_json::<SnarkjsPublic>("public.json", json)?.to_arkworks()
}

/// `verification_key.json` text for a verifying key.
pub fn verifying_key_to_json(vk: &VerifyingKey<Bn254>) -> Result<String, SnarkjsError> {
    to_json("verification_key.json", &SnarkjsVerifyingKey::from_arkworks(vk))
}

/// Reads `verification_key.json` text into a checked arkworks verifying key.
pub fn verifying_key_from_json(json: &str) -> Result<VerifyingKey<Bn254>, SnarkjsError> {
    from_json::<SnarkjsVerifyingKey>("verification_key.json", json)?.to_arkworks()
}

fn to_json<T: Serialize>(file: &'static str, value: &T) -> Result<String, SnarkjsError> {
    serde_json::to_string_pretty(value).map_err(|source| SnarkjsError::Serialize { file, source })
}

fn from_json<T: for<'de> Deserialize<'de>>(file: &'static str, json: &str) -> Result<T, SnarkjsError> {
    serde_json::from_str(json).map_err(|source| SnarkjsError::Json { file, source })
}

fn check_protocol_and_curve(protocol: &str, curve: &str) -> Result<(), SnarkjsError> {
    if protocol != PROTOCOL {
        return Err(SnarkjsError::WrongProtocol { found: protocol.to_owned() });
    }
    // Other tools in the ecosystem write the curve's modern name; it is the same curve.
    if !curve.eq_ignore_ascii_case(CURVE) && !curve.eq_ignore_ascii_case("bn254") {
        return Err(SnarkjsError::WrongCurve { found: curve.to_owned() });
    }
    Ok(())
}

/// e(α, β), the pairing snarkjs stores as `vk_alphabeta_12`.
fn alpha_beta(vk: &VerifyingKey<Bn254>) -> Fq12 {
    Bn254::pairing(vk.alpha_g1, vk.beta_g2).0
}

fn parse<F: ark_ff::PrimeField>(field: &str, value: &str) -> Result<F, SnarkjsError> {
    from_decimal(value).map_err(|source| SnarkjsError::Field { field: field.to_owned(), source })
}

fn expect_len<T>(field: &str, values: &[T], expected: usize) -> Result<(), SnarkjsError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(SnarkjsError::WrongLength { field: field.to_owned(), expected, found: values.len() })
    }
}

fn fq2_to_strings(value: &Fq2) -> Vec<String> {
    vec![to_decimal(&value.c0), to_decimal(&value.c1)]
}

fn fq2_from_strings(field: &str, values: &[String]) -> Result<Fq2, SnarkjsError> {
    expect_len(field, values, 2)?;
    Ok(Fq2::new(parse(&format!("{field}[0]"), &values[0])?, parse(&format!("{field}[1]"), &values[1])?))
}

fn g1_to_strings(point: &G1Affine) -> Vec<String> {
    match point.xy() {
        Some((x, y)) => vec![to_decimal(&x), to_decimal(&y), "1".to_owned()],
        // snarkjs's affine form of infinity.
        None => vec!["0".to_owned(), "1".to_owned(), "0".to_owned()],
    }
}

fn g1_from_strings(field: &str, values: &[String]) -> Result<G1Affine, SnarkjsError> {
    expect_len(field, values, 3)?;
    let x: Fq = parse(&format!("{field}[0]"), &values[0])?;
    let y: Fq = parse(&format!("{field}[1]"), &values[1])?;
    let z: Fq = parse(&format!("{field}[2]"), &values[2])?;
    if z.is_zero() {
        return Ok(G1Affine::identity());
    }
    if !z.is_one() {
        return Err(SnarkjsError::BadProjectiveZ { field: field.to_owned() });
    }
    checked_point(field, G1Affine::new_unchecked(x, y))
}

fn g2_to_strings(point: &G2Affine) -> Vec<Vec<String>> {
    match point.xy() {
        Some((x, y)) => vec![fq2_to_strings(&x), fq2_to_strings(&y), vec!["1".to_owned(), "0".to_owned()]],
        None => vec![
            vec!["0".to_owned(), "0".to_owned()],
            vec!["1".to_owned(), "0".to_owned()],
            vec!["0".to_owned(), "0".to_owned()],
        ],
    }
}

fn g2_from_strings(field: &str, values: &[Vec<String>]) -> Result<G2Affine, SnarkjsError> {
    expect_len(field, values, 3)?;
    let x = fq2_from_strings(&format!("{field}[0]"), &values[0])?;
    let y = fq2_from_strings(&format!("{field}[1]"), &values[1])?;
    let z = fq2_from_strings(&format!("{field}[2]"), &values[2])?;
    if z.is_zero() {
        return Ok(G2Affine::identity());
    }
    if !z.is_one() {
        return Err(SnarkjsError::BadProjectiveZ { field: field.to_owned() });
    }
    checked_point(field, G2Affine::new_unchecked(x, y))
}

/// Accepts a point only if it is on the curve and in the prime-order subgroup: pairing code
/// assumes both, and G2 of BN254 has points on the curve outside the subgroup.
fn checked_point<P>(
    field: &str,
    point: ark_ec::short_weierstrass::Affine<P>,
) -> Result<ark_ec::short_weierstrass::Affine<P>, SnarkjsError>
where
    P: ark_ec::short_weierstrass::SWCurveConfig,
{
    if !point.is_on_curve() {
        return Err(SnarkjsError::NotOnCurve { field: field.to_owned() });
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(SnarkjsError::NotInSubgroup { field: field.to_owned() });
    }
    Ok(point)
}

fn fq12_to_strings(value: &Fq12) -> Vec<Vec<Vec<String>>> {
    [value.c0, value.c1].iter().map(|fq6| [fq6.c0, fq6.c1, fq6.c2].iter().map(fq2_to_strings).collect()).collect()
}

fn fq12_from_strings(field: &str, values: &[Vec<Vec<String>>]) -> Result<Fq12, SnarkjsError> {
    expect_len(field, values, 2)?;
    let mut halves = Vec::with_capacity(2);
    for (i, fq6) in values.iter().enumerate() {
        let path = format!("{field}[{i}]");
        expect_len(&path, fq6, 3)?;
        halves.push(ark_bn254::Fq6::new(
            fq2_from_strings(&format!("{path}[0]"), &fq6[0])?,
            fq2_from_strings(&format!("{path}[1]"), &fq6[1])?,
            fq2_from_strings(&format!("{path}[2]"), &fq6[2])?,
        ));
    }
    Ok(Fq12::new(halves[0], halves[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::toy::toy_proof;
    use ark_groth16::Groth16;
    use ark_snark::SNARK;

    #[test]
    fn proof_inputs_and_key_round_trip_and_still_verify() {
        let toy = toy_proof(1);
        let proof = proof_from_json(&proof_to_json(&toy.proof).expect("json")).expect("proof");
        let inputs = public_from_json(&public_to_json(&toy.inputs).expect("json")).expect("inputs");
        let vk = verifying_key_from_json(&verifying_key_to_json(&toy.vk).expect("json")).expect("vk");
        assert_eq!(proof, toy.proof);
        assert_eq!(inputs, toy.inputs);
        assert_eq!(vk, toy.vk);
        assert_eq!(Groth16::<Bn254>::verify(&vk, &inputs, &proof), Ok(true));
    }

    #[test]
    fn layout_matches_snarkjs() {
        let toy = toy_proof(1);
        let proof = SnarkjsProof::from_arkworks(&toy.proof);
        assert_eq!(proof.pi_a.len(), 3);
        assert_eq!(proof.pi_a[2], "1");
        assert_eq!(proof.pi_b[2], ["1", "0"]);
        assert_eq!((proof.protocol.as_str(), proof.curve.as_str()), ("groth16", "bn128"));
        let a = toy.proof.a.xy().expect("A is not infinity");
        assert_eq!(proof.pi_a[0], to_decimal(&a.0));

        let vk = SnarkjsVerifyingKey::from_arkworks(&toy.vk);
        assert_eq!(vk.n_public, 3);
        assert_eq!(vk.ic.len(), 4);
        let alphabeta = vk.vk_alphabeta_12.as_ref().expect("always written");
        assert_eq!(alphabeta.len(), 2);
        assert!(alphabeta.iter().all(|fq6| fq6.len() == 3 && fq6.iter().all(|fq2| fq2.len() == 2)));

        let json: serde_json::Value =
            serde_json::from_str(&verifying_key_to_json(&toy.vk).expect("json")).expect("value");
        let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
        for key in [
            "protocol",
            "curve",
            "nPublic",
            "vk_alpha_1",
            "vk_beta_2",
            "vk_gamma_2",
            "vk_delta_2",
            "vk_alphabeta_12",
            "IC",
        ] {
            assert!(keys.contains(&key), "missing {key}");
        }
        assert!(serde_json::from_str::<Vec<String>>(&public_to_json(&toy.inputs).expect("json")).is_ok());
    }

    #[test]
    fn points_at_infinity_round_trip() {
        assert_eq!(g1_to_strings(&G1Affine::identity()), ["0", "1", "0"]);
        let g1 = g1_from_strings("p", &g1_to_strings(&G1Affine::identity())).expect("g1");
        let g2 = g2_from_strings("p", &g2_to_strings(&G2Affine::identity())).expect("g2");
        assert!(g1.is_zero() && g2.is_zero());
    }

    fn proof_json_with(edit: impl FnOnce(&mut SnarkjsProof)) -> String {
        let mut proof = SnarkjsProof::from_arkworks(&toy_proof(1).proof);
        edit(&mut proof);
        serde_json::to_string(&proof).expect("json")
    }

    #[test]
    fn malformed_proofs_give_typed_errors() {
        assert!(matches!(proof_from_json("{"), Err(SnarkjsError::Json { file: "proof.json", .. })));
        assert!(matches!(proof_from_json(r#"{"pi_a": 1}"#), Err(SnarkjsError::Json { .. })));

        let short = proof_json_with(|p| {
            p.pi_a.pop();
        });
        assert!(matches!(
            proof_from_json(&short),
            Err(SnarkjsError::WrongLength { ref field, expected: 3, found: 2 }) if field == "pi_a"
        ));

        let short_fq2 = proof_json_with(|p| {
            p.pi_b[1].pop();
        });
        assert!(matches!(
            proof_from_json(&short_fq2),
            Err(SnarkjsError::WrongLength { ref field, expected: 2, found: 1 }) if field == "pi_b[1]"
        ));

        let off_curve = proof_json_with(|p| {
            let y: Fq = from_decimal(&p.pi_c[1]).expect("y");
            p.pi_c[1] = to_decimal(&(y + Fq::one()));
        });
        assert!(matches!(
            proof_from_json(&off_curve),
            Err(SnarkjsError::NotOnCurve { ref field }) if field == "pi_c"
        ));

        let too_big = proof_json_with(|p| p.pi_a[0] = "1".repeat(80));
        let err = proof_from_json(&too_big).expect_err("coordinate ≥ q");
        assert!(matches!(
            err,
            SnarkjsError::Field { ref field, source: FieldParseError::NotInField { .. } } if field == "pi_a[0]"
        ));
        assert!(err.to_string().starts_with("pi_a[0]: "), "{err}");

        let hex = proof_json_with(|p| p.pi_b[0][1] = "0x01".to_owned());
        assert!(matches!(
            proof_from_json(&hex),
            Err(SnarkjsError::Field { ref field, source: FieldParseError::NotDecimal { .. } }) if field == "pi_b[0][1]"
        ));

        let bad_z = proof_json_with(|p| p.pi_a[2] = "2".to_owned());
        assert!(matches!(proof_from_json(&bad_z), Err(SnarkjsError::BadProjectiveZ { .. })));

        let plonk = proof_json_with(|p| p.protocol = "plonk".to_owned());
        assert!(matches!(proof_from_json(&plonk), Err(SnarkjsError::WrongProtocol { .. })));
        let bls = proof_json_with(|p| p.curve = "bls12381".to_owned());
        assert!(matches!(proof_from_json(&bls), Err(SnarkjsError::WrongCurve { .. })));
    }

    #[test]
    fn g2_points_outside_the_subgroup_are_rejected() {
        // Almost every point on BN254's twist lies outside the r-order subgroup (the cofactor is
        // about 2^254), so the first x with a point on the curve serves.
        let point = (1u64..)
            .find_map(|i| G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(i), Fq::one()), true))
            .expect("some x is on the curve");
        assert!(point.is_on_curve() && !point.is_in_correct_subgroup_assuming_on_curve());
        let json = proof_json_with(|p| p.pi_b = g2_to_strings(&point));
        assert!(matches!(
            proof_from_json(&json),
            Err(SnarkjsError::NotInSubgroup { ref field }) if field == "pi_b"
        ));
    }

    #[test]
    fn malformed_public_inputs_give_typed_errors() {
        assert!(matches!(public_from_json(r#"{"a": 1}"#), Err(SnarkjsError::Json { file: "public.json", .. })));
        assert!(matches!(
            public_from_json(r#"["1", "abc"]"#),
            Err(SnarkjsError::Field { ref field, source: FieldParseError::NotDecimal { .. } }) if field == "public[1]"
        ));
        let r = num_bigint::BigUint::from(<Fr as ark_ff::PrimeField>::MODULUS).to_string();
        assert!(matches!(
            public_from_json(&format!(r#"["{r}"]"#)),
            Err(SnarkjsError::Field { source: FieldParseError::NotInField { field: "scalar field r", .. }, .. })
        ));
    }

    #[test]
    fn malformed_keys_give_typed_errors() {
        let vk = SnarkjsVerifyingKey::from_arkworks(&toy_proof(1).vk);

        let mut missing_ic = vk.clone();
        missing_ic.ic.pop();
        assert!(matches!(missing_ic.to_arkworks(), Err(SnarkjsError::IcLength { n_public: 3, ic: 3 })));

        let mut bad_ic = vk.clone();
        bad_ic.ic[2][0] = "5".to_owned();
        assert!(matches!(bad_ic.to_arkworks(), Err(SnarkjsError::NotOnCurve { ref field }) if field == "IC[2]"));

        let mut bad_pairing = vk.clone();
        if let Some(alphabeta) = bad_pairing.vk_alphabeta_12.as_mut() {
            alphabeta[1][2][0] = "7".to_owned();
        }
        assert!(matches!(bad_pairing.to_arkworks(), Err(SnarkjsError::AlphaBetaMismatch)));

        let mut short_pairing = vk.clone();
        if let Some(alphabeta) = short_pairing.vk_alphabeta_12.as_mut() {
            alphabeta[0].pop();
        }
        assert!(matches!(
            short_pairing.to_arkworks(),
            Err(SnarkjsError::WrongLength { ref field, expected: 3, found: 2 }) if field == "vk_alphabeta_12[0]"
        ));

        // vk_alphabeta_12 is redundant, so a key without it is still usable.
        let mut no_pairing = serde_json::to_value(&vk).expect("value");
        no_pairing.as_object_mut().expect("object").remove("vk_alphabeta_12");
        assert!(verifying_key_from_json(&no_pairing.to_string()).is_ok());

        let mut no_n_public = serde_json::to_value(&vk).expect("value");
        no_n_public.as_object_mut().expect("object").remove("nPublic");
        let err = verifying_key_from_json(&no_n_public.to_string()).expect_err("nPublic is required");
        assert!(err.to_string().contains("nPublic"), "{err}");
    }
}
