//! A Solidity Groth16 verifier contract rendered from a verifying key.
//!
//! The contract is a hand-written template (`Groth16Verifier.sol.tmpl`, next to this file) with
//! `{{PLACEHOLDER}}`s filled in from the key: no maintained Rust crate generates Solidity
//! verifiers, and a template keeps the contract readable and reviewable as Solidity. Its
//! interface, error behaviour and gas notes are documented in the template's NatSpec.
//!
//! The verifying key's `IC` points are stored in the contract's bytecode (64 bytes each), so a
//! key with more than about 300 public inputs exceeds the 24 KiB contract size limit (EIP-170).

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::Zero;
use ark_groth16::VerifyingKey;

use super::field::{to_decimal, to_word};

/// The contract template; see the module documentation.
const TEMPLATE: &str = include_str!("Groth16Verifier.sol.tmpl");

/// The contract name used when the caller has no preference.
pub const DEFAULT_CONTRACT_NAME: &str = "Groth16Verifier";

/// Why a verifier cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolidityError {
    /// The contract name is not a Solidity identifier.
    #[error("contract name {name:?} is not a Solidity identifier (ASCII letters, digits, `_` or `$`, not starting with a digit)")]
    InvalidContractName {
        /// The rejected name.
        name: String,
    },
    /// The key has no public inputs; `verifyProof` takes `uint256[N]` and Solidity needs `N ≥ 1`.
    #[error("verifying key has {points} IC points, so no public inputs; the verifier takes uint256[N] with N >= 1")]
    NoPublicInputs {
        /// Points in the key's `gamma_abc_g1` (IC).
        points: usize,
    },
}

/// Renders the verifier contract `contract_name` for `vk`.
pub fn render_verifier(vk: &VerifyingKey<Bn254>, contract_name: &str) -> Result<String, SolidityError> {
    check_identifier(contract_name)?;
    let n_public = vk.gamma_abc_g1.len().saturating_sub(1);
    if n_public == 0 {
        return Err(SolidityError::NoPublicInputs { points: vk.gamma_abc_g1.len() });
    }

    let (alpha_x, alpha_y) = g1_decimal(&vk.alpha_g1);
    let [beta_x1, beta_x0, beta_y1, beta_y0] = g2_decimal(&vk.beta_g2);
    let [gamma_x1, gamma_x0, gamma_y1, gamma_y0] = g2_decimal(&vk.gamma_g2);
    let [delta_x1, delta_x0, delta_y1, delta_y0] = g2_decimal(&vk.delta_g2);
    let values = [
        ("CONTRACT_NAME", contract_name.to_owned()),
        ("N_PUBLIC", n_public.to_string()),
        ("ALPHA_X", alpha_x),
        ("ALPHA_Y", alpha_y),
        ("BETA_X1", beta_x1),
        ("BETA_X0", beta_x0),
        ("BETA_Y1", beta_y1),
        ("BETA_Y0", beta_y0),
        ("GAMMA_X1", gamma_x1),
        ("GAMMA_X0", gamma_x0),
        ("GAMMA_Y1", gamma_y1),
        ("GAMMA_Y0", gamma_y0),
        ("DELTA_X1", delta_x1),
        ("DELTA_X0", delta_x0),
        ("DELTA_Y1", delta_y1),
        ("DELTA_Y0", delta_y0),
        ("IC_TABLE", ic_table(&vk.gamma_abc_g1)),
    ];
    let mut contract = TEMPLATE.to_owned();
    for (name, value) in values {
        contract = contract.replace(&format!("{{{{{name}}}}}"), &value);
    }
    Ok(contract)
}

fn check_identifier(name: &str) -> Result<(), SolidityError> {
    let mut chars = name.chars();
    let valid_start = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$');
    if valid_start && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
        Ok(())
    } else {
        Err(SolidityError::InvalidContractName { name: name.to_owned() })
    }
}

/// A G1 point's coordinates; infinity is (0, 0) for the precompiles.
fn g1_decimal(point: &G1Affine) -> (String, String) {
    let (x, y) = point.xy().unwrap_or((Fq::zero(), Fq::zero()));
    (to_decimal(&x), to_decimal(&y))
}

/// A G2 point's coordinates in EIP-197 order: x.c1, x.c0, y.c1, y.c0.
fn g2_decimal(point: &G2Affine) -> [String; 4] {
    let (x, y) = point.xy().unwrap_or((Fq2::zero(), Fq2::zero()));
    [x.c1, x.c0, y.c1, y.c0].map(|c| to_decimal(&c))
}

/// The IC byte table: one `hex"…"` literal per coordinate (Solidity concatenates adjacent hex
/// literals), each labelled, so the table stays readable.
fn ic_table(points: &[G1Affine]) -> String {
    let mut lines = Vec::with_capacity(points.len() * 2);
    for (i, point) in points.iter().enumerate() {
        let (x, y) = point.xy().unwrap_or((Fq::zero(), Fq::zero()));
        lines.push(format!("        hex\"{}\" /* IC[{i}].x */", hex::encode(to_word(&x))));
        lines.push(format!("        hex\"{}\" /* IC[{i}].y */", hex::encode(to_word(&y))));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::toy::toy_proof;

    #[test]
    fn renders_every_placeholder() {
        let contract = render_verifier(&toy_proof(1).vk, "ToyVerifier").expect("render");
        assert!(!contract.contains("{{"), "unfilled placeholder in:\n{contract}");
        assert!(contract.contains("contract ToyVerifier {"));
        assert!(contract.contains("uint256[3] calldata input"));
        assert!(contract.contains("uint256 public constant N_PUBLIC = 3;"));
        assert!(contract.contains("/* IC[3].y */"));
        assert!(!contract.contains("IC[4]"));
    }

    #[test]
    fn writes_the_key_in_eip197_order() {
        let vk = toy_proof(1).vk;
        let contract = render_verifier(&vk, DEFAULT_CONTRACT_NAME).expect("render");
        let (beta_x, _) = vk.beta_g2.xy().expect("beta is finite");
        assert!(contract.contains(&format!("BETA_X1 = {};", to_decimal(&beta_x.c1))));
        assert!(contract.contains(&format!("BETA_X0 = {};", to_decimal(&beta_x.c0))));
        let (ic0_x, _) = vk.gamma_abc_g1[0].xy().expect("IC[0] is finite");
        assert!(contract.contains(&format!("hex\"{}\" /* IC[0].x */", hex::encode(to_word(&ic0_x)))));
    }

    #[test]
    fn rejects_bad_names_and_keys_without_inputs() {
        let mut vk = toy_proof(1).vk;
        for name in ["", "1Verifier", "My Verifier", "Verifier;", "Vérifier"] {
            assert!(
                matches!(render_verifier(&vk, name), Err(SolidityError::InvalidContractName { .. })),
                "{name:?} should be rejected"
            );
        }
        assert!(render_verifier(&vk, "_$Verifier2").is_ok());
        vk.gamma_abc_g1.truncate(1);
        assert_eq!(render_verifier(&vk, "V"), Err(SolidityError::NoPublicInputs { points: 1 }));
    }
}
