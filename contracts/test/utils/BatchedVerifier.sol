// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Bn254} from "../../src/Bn254.sol";
import {RoundVerifier} from "../../src/RoundVerifier.sol";

/// @title BatchedVerifier
/// @notice Measurement harness (GasBench only, not part of the market): checks K Groth16 proofs
///         of one key in a single pairing-product check, the first route issue 14 names for
///         settling a chunked round in one transaction. With a random rho_i per proof (rho_0 =
///         1, the others by Fiat-Shamir over every proof and input), the K equations
///         e(A_i, B_i) = e(alpha, beta) e(vk_i, gamma) e(C_i, delta) hold together iff
///           prod_i e(-rho_i A_i, B_i) * e(S alpha, beta) * e(sum_i rho_i vk_i, gamma)
///             * e(sum_i rho_i C_i, delta) = 1,   S = sum_i rho_i,
///         except with probability about K / r. sum_i rho_i vk_i is S IC_0 + sum_j s_j IC_{j+1}
///         with s_j = sum_i rho_i x_ij, so the inputs cost one ecMul per input index whatever K
///         is; each proof costs a pairing and two ecMuls (rho_i A_i, rho_i C_i).
/// @dev The key is a deployed RoundVerifier's: alpha, beta, gamma and delta are passed again
///      (immutables, as there), the IC table is read from its data contract.
contract BatchedVerifier {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    address internal immutable icStore;
    uint256 internal immutable nPublic;
    uint256 internal immutable alphaX;
    uint256 internal immutable alphaY;
    uint256 internal immutable beta0;
    uint256 internal immutable beta1;
    uint256 internal immutable beta2;
    uint256 internal immutable beta3;
    uint256 internal immutable gamma0;
    uint256 internal immutable gamma1;
    uint256 internal immutable gamma2;
    uint256 internal immutable gamma3;
    uint256 internal immutable delta0;
    uint256 internal immutable delta1;
    uint256 internal immutable delta2;
    uint256 internal immutable delta3;

    constructor(
        RoundVerifier key,
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta
    ) {
        icStore = key.IC_STORE();
        nPublic = key.N_PUBLIC();
        (alphaX, alphaY) = (alpha[0], alpha[1]);
        (beta0, beta1, beta2, beta3) = (beta[0], beta[1], beta[2], beta[3]);
        (gamma0, gamma1, gamma2, gamma3) = (gamma[0], gamma[1], gamma[2], gamma[3]);
        (delta0, delta1, delta2, delta3) = (delta[0], delta[1], delta[2], delta[3]);
    }

    /// @notice Whether every proof verifies for its inputs (inputs[i] has N_PUBLIC values < r).
    function verifyBatch(uint256[8][] calldata proofs, uint256[][] calldata inputs) external view returns (bool) {
        uint256 k = proofs.length;
        require(k > 0 && inputs.length == k, "batch shape");
        uint256[] memory rho = _weights(proofs, inputs);
        uint256[] memory pairing = new uint256[](6 * (k + 3));
        uint256 total; // S = sum rho_i
        uint256 cx;
        uint256 cy; // sum rho_i C_i
        for (uint256 i; i < k; ++i) {
            uint256[8] calldata p = proofs[i];
            for (uint256 w; w < 8; ++w) {
                require(p[w] < Q, "proof coordinate");
            }
            (uint256 ax, uint256 ay) = _mul(p[0], (Q - p[1]) % Q, rho[i]);
            (uint256 tx_, uint256 ty) = _mul(p[6], p[7], rho[i]);
            (cx, cy) = i == 0 ? (tx_, ty) : _add(cx, cy, tx_, ty);
            total = addmod(total, rho[i], R);
            _pair(pairing, i, [ax, ay, p[2], p[3], p[4], p[5]]);
        }
        (uint256 vx, uint256 vy) = _combinedInputs(inputs, rho, total);
        (uint256 sx, uint256 sy) = _mul(alphaX, alphaY, total);
        _pair(pairing, k, [sx, sy, beta0, beta1, beta2, beta3]);
        _pair(pairing, k + 1, [vx, vy, gamma0, gamma1, gamma2, gamma3]);
        _pair(pairing, k + 2, [cx, cy, delta0, delta1, delta2, delta3]);
        bool ok;
        uint256 result;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, add(pairing, 0x20), mul(mload(pairing), 0x20), 0x00, 0x20)
            result := mload(0x00)
        }
        require(ok, "pairing precompile");
        return result == 1;
    }

    /// @dev rho_0 = 1; rho_i = keccak256(proofs, inputs, i) mod r, fixed by everything checked.
    function _weights(uint256[8][] calldata proofs, uint256[][] calldata inputs)
        internal
        pure
        returns (uint256[] memory rho)
    {
        bytes32 seed = keccak256(abi.encode(proofs, inputs));
        rho = new uint256[](proofs.length);
        rho[0] = 1;
        for (uint256 i = 1; i < proofs.length; ++i) {
            rho[i] = uint256(keccak256(abi.encode(seed, i))) % R;
        }
    }

    /// @dev S IC_0 + sum_j (sum_i rho_i x_ij) IC_{j+1}: one ecMul per input index.
    function _combinedInputs(uint256[][] calldata inputs, uint256[] memory rho, uint256 total)
        internal
        view
        returns (uint256 x, uint256 y)
    {
        (x, y) = _ic(0);
        (x, y) = _mul(x, y, total);
        for (uint256 j; j < nPublic; ++j) {
            uint256 s;
            for (uint256 i; i < inputs.length; ++i) {
                require(inputs[i].length == nPublic && inputs[i][j] < R, "input");
                s = addmod(s, mulmod(rho[i], inputs[i][j], R), R);
            }
            (uint256 px, uint256 py) = _ic(j + 1);
            (px, py) = _mul(px, py, s);
            (x, y) = _add(x, y, px, py);
        }
    }

    function _pair(uint256[] memory pairing, uint256 at, uint256[6] memory words) internal pure {
        for (uint256 w; w < 6; ++w) {
            pairing[6 * at + w] = words[w];
        }
    }

    function _ic(uint256 i) internal view returns (uint256 x, uint256 y) {
        address store = icStore;
        assembly ("memory-safe") {
            let m := mload(0x40)
            extcodecopy(store, m, add(1, mul(i, 0x40)), 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
    }

    function _add(uint256 ax, uint256 ay, uint256 bx, uint256 by) internal view returns (uint256 x, uint256 y) {
        bool ok;
        (x, y, ok) = Bn254.add(ax, ay, bx, by);
        require(ok, "ecAdd");
    }

    function _mul(uint256 px, uint256 py, uint256 s) internal view returns (uint256 x, uint256 y) {
        bool ok;
        (x, y, ok) = Bn254.mul(px, py, s);
        require(ok, "ecMul");
    }
}
