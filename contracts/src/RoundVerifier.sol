// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Bn254} from "./Bn254.sol";
import {IRoundVerifier} from "./IRoundVerifier.sol";

/// @title Groth16 verifier over BN254 whose verifying key is given at deployment
/// @notice The same checks, functions and errors as the verifiers generated per key
///         (prover/src/export/Groth16Verifier.sol.tmpl), except that `verifyProof` takes a
///         dynamic `uint256[]` and reverts with InputCountMismatch on a wrong length. A node can
///         deploy it for any circuit shape from its key store without compiling Solidity; the
///         constructor arguments come from `fedproof_prover::export::calldata::verifier_constructor_args`.
/// @dev Checks e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta), where
///      vk_x = IC[0] + sum_i input[i] * IC[i + 1], with the EIP-196 (ecAdd 0x06, ecMul 0x07) and
///      EIP-197 (pairing 0x08) precompiles. Outcomes of every verify function:
///      - `true`: the proof verifies for the public inputs.
///      - `false`: the arguments are well-formed, but the pairing equation does not hold.
///      - revert with a custom error: a malformed argument or a failed precompile call
///        (`PrecompileFailed`, also on out-of-gas, so too little gas never turns a valid proof
///        into a `false`).
///      Storage of the key: alpha, beta, gamma and delta are immutables (PUSH32 in the runtime
///      code, 3 gas each). The IC table has a length known only at deployment, which immutables
///      cannot hold, so it is written once as the runtime code of a data contract created by the
///      constructor (the SSTORE2 pattern) and read with EXTCODECOPY: one cold account access
///      (2,600 gas) per call and about 100 gas per point after that, where SLOAD would cost 2,100
///      per cold word, 4,200 per point. The data contract's code starts with STOP (0x00), so
///      calling it does nothing.
///      G2 coordinates are ordered (c1, c0), as EIP-197 expects.
contract RoundVerifier is IRoundVerifier {
    /// @notice A public input is not a canonical element of the scalar field (it is >= r).
    /// @param index Position of the input in the circuit's public inputs.
    error PublicInputNotInField(uint256 index);
    /// @notice A proof coordinate is not a canonical element of the base field (it is >= q).
    /// @param index Position of the coordinate in the `proof` array.
    error ProofCoordinateNotInField(uint256 index);
    /// @notice A coordinate of the `accumulated` point is >= q.
    /// @param index 0 for x, 1 for y.
    error AccumulatorCoordinateNotInField(uint256 index);
    /// @notice A public input index is not below the number of public inputs.
    /// @param index The offending index.
    error InputIndexOutOfRange(uint256 index);
    /// @notice `indices` and `values` have different lengths.
    /// @param indices Length of `indices`.
    /// @param values Length of `values`.
    error LengthMismatch(uint256 indices, uint256 values);
    /// @notice `verifyProof` got a number of public inputs other than N_PUBLIC.
    /// @param expected N_PUBLIC.
    /// @param actual Length of the `input` argument.
    error InputCountMismatch(uint256 expected, uint256 actual);
    /// @notice A precompile call failed: an input point is invalid, or the call ran out of gas.
    /// @param precompile Address of the precompile: 6 (ecAdd), 7 (ecMul) or 8 (pairing).
    error PrecompileFailed(uint256 precompile);
    /// @notice Constructor: the IC table does not hold between 2 and MAX_IC_POINTS (x, y) points.
    /// @param words Length of the `ic` argument (two words per point).
    error IcLengthInvalid(uint256 words);
    /// @notice Constructor: a key coordinate is not a canonical base field element (>= q).
    /// @param word Position of the coordinate in the key's words: alpha 0-1, beta 2-5,
    ///        gamma 6-9, delta 10-13, then IC from 14 (the order of verifier_constructor_args).
    error KeyCoordinateNotInField(uint256 word);
    /// @notice Constructor: a key point is not on its curve (G2: or not in the subgroup), or is
    ///         the point at infinity where the key needs a real point (alpha, beta, gamma, delta).
    /// @param word Position of the point's first coordinate in the key's words (see above).
    error KeyPointInvalid(uint256 word);
    /// @notice Constructor: creating the contract that stores the IC table failed.
    error IcStoreFailed();

    /// @dev BN254 scalar field modulus r: public inputs are elements of this field.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev BN254 base field modulus q: point coordinates are elements of this field.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice Most IC points a key may have: the data contract's code (1 + 64 bytes per point)
    ///         must fit the 24,576-byte contract size limit (EIP-170).
    uint256 public constant MAX_IC_POINTS = 383;

    /// @notice Number of public inputs of the circuit (IC points - 1).
    uint256 public immutable override N_PUBLIC;
    /// @notice The contract whose runtime code is 0x00 followed by the IC table (64 bytes per point).
    address public immutable IC_STORE;

    uint256 internal immutable ALPHA_X;
    uint256 internal immutable ALPHA_Y;
    uint256 internal immutable BETA_X1;
    uint256 internal immutable BETA_X0;
    uint256 internal immutable BETA_Y1;
    uint256 internal immutable BETA_Y0;
    uint256 internal immutable GAMMA_X1;
    uint256 internal immutable GAMMA_X0;
    uint256 internal immutable GAMMA_Y1;
    uint256 internal immutable GAMMA_Y0;
    uint256 internal immutable DELTA_X1;
    uint256 internal immutable DELTA_X0;
    uint256 internal immutable DELTA_Y1;
    uint256 internal immutable DELTA_Y0;

    /// @notice Deploys the verifier of one verifying key after checking the key.
    /// @param alpha alpha in G1 as (x, y).
    /// @param beta beta in G2 as (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma gamma in G2, same order.
    /// @param delta delta in G2, same order.
    /// @param ic IC[0..N_PUBLIC] flattened as x0, y0, x1, y1, ... ((0, 0) is infinity).
    /// @dev Reverts with IcLengthInvalid, KeyCoordinateNotInField, KeyPointInvalid or
    ///      IcStoreFailed. G2 points are checked with the pairing precompile, which rejects points
    ///      off the twist or outside the r-torsion subgroup; writing that check in Solidity would
    ///      cost far more code and gas.
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[] memory ic
    ) {
        if (ic.length % 2 != 0 || ic.length < 4 || ic.length > 2 * MAX_IC_POINTS) revert IcLengthInvalid(ic.length);
        _checkG1(alpha[0], alpha[1], 0, false);
        _checkG2(beta, 2);
        _checkG2(gamma, 6);
        _checkG2(delta, 10);
        for (uint256 i = 0; i < ic.length; i += 2) {
            _checkG1(ic[i], ic[i + 1], 14 + i, true);
        }
        IC_STORE = _storeIc(ic);
        N_PUBLIC = ic.length / 2 - 1;
        (ALPHA_X, ALPHA_Y) = (alpha[0], alpha[1]);
        (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0) = (beta[0], beta[1], beta[2], beta[3]);
        (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0) = (gamma[0], gamma[1], gamma[2], gamma[3]);
        (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0) = (delta[0], delta[1], delta[2], delta[3]);
    }

    /// @notice The verifying key, in the constructor's argument order, so that whoever approves
    ///         this verifier can compare it with the key the prover uses.
    /// @return key alpha (2 words), beta, gamma, delta (4 words each).
    /// @return ic IC[0..N_PUBLIC] flattened as x0, y0, x1, y1, ...
    function verifyingKey() external view returns (uint256[14] memory key, uint256[] memory ic) {
        key = [
            ALPHA_X, ALPHA_Y,
            BETA_X1, BETA_X0, BETA_Y1, BETA_Y0,
            GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0,
            DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0
        ];
        ic = new uint256[](2 * (N_PUBLIC + 1));
        address store = IC_STORE;
        assembly ("memory-safe") {
            extcodecopy(store, add(ic, 0x20), 1, mul(mload(ic), 0x20))
        }
    }

    /// @notice Verifies a Groth16 proof for the given public inputs.
    /// @param proof The proof as [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y].
    /// @param input The N_PUBLIC public inputs in circuit order, each < r.
    /// @return True if the proof verifies; false if the pairing check fails.
    /// @dev Reverts with InputCountMismatch, ProofCoordinateNotInField, PublicInputNotInField or
    ///      PrecompileFailed.
    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool) {
        uint256 n = N_PUBLIC;
        if (input.length != n) revert InputCountMismatch(n, input.length);
        _checkProof(proof);
        address store = IC_STORE;
        (uint256 x, uint256 y) = _icPoint(store, 0);
        for (uint256 i = 0; i < n; ++i) {
            if (input[i] >= R) revert PublicInputNotInField(i);
            (uint256 px, uint256 py) = _icPoint(store, i + 1);
            (px, py) = _ecMul(px, py, input[i]);
            (x, y) = _ecAdd(x, y, px, py);
        }
        return _pairingCheck(proof, x, y);
    }

    /// @inheritdoc IRoundVerifier
    /// @dev Reverts with InputIndexOutOfRange or PublicInputNotInField.
    function inputPoint(uint256 index, uint256 value) external view returns (uint256 x, uint256 y) {
        if (index >= N_PUBLIC) revert InputIndexOutOfRange(index);
        if (value >= R) revert PublicInputNotInField(index);
        (uint256 px, uint256 py) = _icPoint(IC_STORE, index + 1);
        return _ecMul(px, py, value);
    }

    /// @inheritdoc IRoundVerifier
    /// @dev vk_x = IC[0] + accumulated + sum_k values[k] * IC[indices[k] + 1].
    ///      TRUSTED ARGUMENT: the caller must have computed `accumulated` as the ecAdd sum of
    ///      inputPoint(j, input[j]) over exactly the public inputs j that are NOT in `indices`
    ///      ((0, 0) if there are none); with any other point the proof is verified against
    ///      different public inputs. `indices` must be distinct (a repeat counts twice).
    ///      Reverts with LengthMismatch, InputIndexOutOfRange, PublicInputNotInField,
    ///      ProofCoordinateNotInField, AccumulatorCoordinateNotInField or PrecompileFailed.
    function verifyProofWithPartialInputs(
        uint256[8] calldata proof,
        uint256[2] calldata accumulated,
        uint256[] calldata indices,
        uint256[] calldata values
    ) external view returns (bool) {
        uint256 count = indices.length;
        if (count != values.length) revert LengthMismatch(count, values.length);
        _checkProof(proof);
        if (accumulated[0] >= Q) revert AccumulatorCoordinateNotInField(0);
        if (accumulated[1] >= Q) revert AccumulatorCoordinateNotInField(1);
        uint256 n = N_PUBLIC;
        address store = IC_STORE;
        // vk_x is summed in place in a 5-word block [x, y | px, py, s], as in the generated
        // verifiers (prover/src/export/Groth16Verifier.sol.tmpl): IC[index + 1] is copied from
        // the data contract straight to (px, py), the ecMul writes its result there, and the
        // ecAdd reads it (separate _icPoint, _ecMul and _ecAdd calls cost ~1k gas more).
        uint256 m;
        uint256 failed; // the precompile that failed, if any
        assembly ("memory-safe") {
            m := mload(0x40)
            mstore(0x40, add(m, 0xa0))
            extcodecopy(store, m, 1, 0x40) // IC[0], after the store's leading STOP byte
            calldatacopy(add(m, 0x40), accumulated, 0x40)
            if iszero(staticcall(gas(), 0x06, m, 0x80, m, 0x40)) { failed := 0x06 }
        }
        for (uint256 k = 0; k < count; ++k) {
            uint256 index = indices[k];
            uint256 value = values[k];
            if (index >= n) revert InputIndexOutOfRange(index);
            if (value >= R) revert PublicInputNotInField(index);
            assembly ("memory-safe") {
                extcodecopy(store, add(m, 0x40), add(1, shl(6, add(index, 1))), 0x40) // IC[index + 1]
                mstore(add(m, 0x80), value)
                if iszero(staticcall(gas(), 0x07, add(m, 0x40), 0x60, add(m, 0x40), 0x40)) { failed := 0x07 }
                if iszero(staticcall(gas(), 0x06, m, 0x80, m, 0x40)) { failed := 0x06 }
            }
        }
        if (failed != 0) revert PrecompileFailed(failed);
        uint256 x;
        uint256 y;
        assembly ("memory-safe") {
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        return _pairingCheck(proof, x, y);
    }

    /// @dev Reverts unless (x, y) is on y^2 = x^3 + 3 with canonical coordinates; (0, 0), the
    ///      point at infinity, passes only if `infinityAllowed`. G1 has cofactor 1, so a point on
    ///      the curve is in the group.
    function _checkG1(uint256 x, uint256 y, uint256 word, bool infinityAllowed) private pure {
        if (x >= Q) revert KeyCoordinateNotInField(word);
        if (y >= Q) revert KeyCoordinateNotInField(word + 1);
        if (x == 0 && y == 0) {
            if (infinityAllowed) return;
            revert KeyPointInvalid(word);
        }
        if (mulmod(y, y, Q) != addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q)) revert KeyPointInvalid(word);
    }

    /// @dev Reverts unless `p` (x.c1, x.c0, y.c1, y.c0) is a canonical, finite G2 point in the
    ///      subgroup: the pairing precompile fails on any other G2 input, so e(G1 generator, p)
    ///      is computed and only its success is used.
    function _checkG2(uint256[4] memory p, uint256 word) private view {
        for (uint256 i = 0; i < 4; ++i) {
            if (p[i] >= Q) revert KeyCoordinateNotInField(word + i);
        }
        if (p[0] | p[1] | p[2] | p[3] == 0) revert KeyPointInvalid(word);
        uint256[6] memory input = [uint256(1), 2, p[0], p[1], p[2], p[3]];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, input, 0xc0, 0x00, 0x20)
        }
        if (!ok) revert KeyPointInvalid(word);
    }

    /// @dev Creates the data contract holding `ic` (SSTORE2 pattern; see the contract notes).
    ///      Its creation code is a 12-byte header that returns the rest of itself as runtime code:
    ///      PUSH2 size, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN; then 0x00 (STOP) and
    ///      the table. No library is used because this is the whole of what SSTORE2 libraries do.
    function _storeIc(uint256[] memory ic) private returns (address store) {
        uint256 size = 1 + 32 * ic.length;
        bytes memory init =
            abi.encodePacked(hex"61", uint16(size), hex"80600c6000396000f3", hex"00", ic);
        assembly ("memory-safe") {
            store := create(0, add(init, 0x20), mload(init))
        }
        if (store == address(0)) revert IcStoreFailed();
    }

    /// @dev Rejects coordinates >= q. The precompiles would reject them for B and C, but A is
    ///      negated here first, and q - A.y would silently reduce a non-canonical A.y. Assembly:
    ///      the checked Solidity loop costs ~1k gas more per verification.
    function _checkProof(uint256[8] calldata proof) private pure {
        uint256 bad = 8;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 8) { i := add(i, 1) } {
                if iszero(lt(calldataload(add(proof, shl(5, i))), Q)) {
                    bad := i
                    break
                }
            }
        }
        if (bad != 8) revert ProofCoordinateNotInField(bad);
    }

    /// @dev e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1, with the pairing
    ///      precompile. Requires every proof coordinate < q (see _checkProof). The 24-word input
    ///      is written word by word (a `uint256[24] memory` array costs ~0.6k gas more: it is
    ///      zeroed first and every write is bounds-checked); the key's words go through `_put`,
    ///      as inline assembly cannot read immutables.
    function _pairingCheck(uint256[8] calldata proof, uint256 x, uint256 y) private view returns (bool) {
        uint256 p;
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, 0x300))
            // -A = (A.x, q - A.y); the modulo keeps the point at infinity (0, 0) as it is.
            mstore(p, calldataload(proof))
            mstore(add(p, 0x20), mod(sub(Q, calldataload(add(proof, 0x20))), Q))
            calldatacopy(add(p, 0x40), add(proof, 0x40), 0x80) // B
            mstore(add(p, 0x180), x)
            mstore(add(p, 0x1a0), y)
            calldatacopy(add(p, 0x240), add(proof, 0xc0), 0x40) // C
        }
        _put(p, 6, ALPHA_X);
        _put(p, 7, ALPHA_Y);
        _put(p, 8, BETA_X1);
        _put(p, 9, BETA_X0);
        _put(p, 10, BETA_Y1);
        _put(p, 11, BETA_Y0);
        _put(p, 14, GAMMA_X1);
        _put(p, 15, GAMMA_X0);
        _put(p, 16, GAMMA_Y1);
        _put(p, 17, GAMMA_Y0);
        _put(p, 20, DELTA_X1);
        _put(p, 21, DELTA_X0);
        _put(p, 22, DELTA_Y1);
        _put(p, 23, DELTA_Y0);
        bool ok;
        uint256 result;
        assembly ("memory-safe") {
            // The 32-byte answer goes to the scratch space at 0x00.
            ok := staticcall(gas(), 0x08, p, 0x300, 0x00, 0x20)
            result := mload(0x00)
        }
        if (!ok) revert PrecompileFailed(0x08);
        return result == 1;
    }

    /// @dev Word `i` of the memory block at `p` := `value`.
    function _put(uint256 p, uint256 i, uint256 value) private pure {
        assembly ("memory-safe") {
            mstore(add(p, shl(5, i)), value)
        }
    }

    /// @dev IC[i] read from the data contract's code (after its leading STOP byte); the callers
    ///      keep i <= N_PUBLIC.
    function _icPoint(address store, uint256 i) private view returns (uint256 x, uint256 y) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer: used and dropped, never allocated.
            let m := mload(0x40)
            extcodecopy(store, m, add(1, mul(i, 0x40)), 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
    }

    /// @dev (ax, ay) + (bx, by); a failed precompile is PrecompileFailed(0x06).
    function _ecAdd(uint256 ax, uint256 ay, uint256 bx, uint256 by) private view returns (uint256 x, uint256 y) {
        bool ok;
        (x, y, ok) = Bn254.add(ax, ay, bx, by);
        if (!ok) revert PrecompileFailed(0x06);
    }

    /// @dev s · (px, py); a failed precompile is PrecompileFailed(0x07).
    function _ecMul(uint256 px, uint256 py, uint256 s) private view returns (uint256 x, uint256 y) {
        bool ok;
        (x, y, ok) = Bn254.mul(px, py, s);
        if (!ok) revert PrecompileFailed(0x07);
    }
}
