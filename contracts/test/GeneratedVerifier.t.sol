// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ToyVerifier} from "../src/generated/ToyVerifier.sol";
import {vm} from "./utils/Vm.sol";

/// @notice End-to-end check of the Solidity verifier the Rust side renders: a proof made by
///         arkworks for the toy circuit (x*y = z, x+y = s, z*x = k; inputs [z, s, k]) verifies
///         on the EVM, and tampering is caught. Regenerate the verifier and the fixture with
///         `cargo run -p fedproof-prover --example toy_verifier_fixture`.
contract GeneratedVerifierTest {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    ToyVerifier internal verifier;
    uint256[8] internal proof;
    uint256[3] internal inputs;
    bytes internal rustCalldata;

    function setUp() public {
        verifier = new ToyVerifier();
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/toy_proof.json"));
        uint256[] memory p = vm.parseJsonUintArray(json, ".proof");
        uint256[] memory x = vm.parseJsonUintArray(json, ".inputs");
        require(p.length == 8 && x.length == 3, "fixture has the wrong shape");
        for (uint256 i = 0; i < 8; ++i) proof[i] = p[i];
        for (uint256 i = 0; i < 3; ++i) inputs[i] = x[i];
        rustCalldata = vm.parseJsonBytes(json, ".calldata");
    }

    function test_VerifiesTheFixtureProof() public view {
        require(verifier.verifyProof(proof, inputs), "valid proof rejected");
    }

    function test_RustCalldataIsTheAbiEncodedCall() public view {
        bytes memory expected = abi.encodeCall(ToyVerifier.verifyProof, (proof, inputs));
        require(keccak256(rustCalldata) == keccak256(expected), "Rust calldata differs from abi.encodeCall");
        (bool ok, bytes memory result) = address(verifier).staticcall(rustCalldata);
        require(ok && abi.decode(result, (bool)), "raw Rust calldata does not verify");
    }

    function test_RejectsAProofWithWrongButValidPoints() public view {
        uint256[8] memory swapped = proof;
        (swapped[0], swapped[1], swapped[6], swapped[7]) = (proof[6], proof[7], proof[0], proof[1]);
        require(!verifier.verifyProof(swapped, inputs), "proof with A and C swapped accepted");
    }

    function test_RevertsOnAProofPointOffTheCurve() public {
        uint256[8] memory tampered = proof;
        tampered[0] = (tampered[0] + 1) % Q;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PrecompileFailed.selector, 8));
        verifier.verifyProof(tampered, inputs);
    }

    function test_RevertsOnAProofCoordinateNotInField() public {
        uint256[8] memory tampered = proof;
        // The same field element, written non-canonically: accepting it would make proofs malleable.
        tampered[1] += Q;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.ProofCoordinateNotInField.selector, 1));
        verifier.verifyProof(tampered, inputs);
    }

    function test_RejectsATamperedPublicInput() public view {
        uint256[3] memory tampered = inputs;
        tampered[1] += 1;
        require(!verifier.verifyProof(proof, tampered), "tampered public input accepted");
    }

    function test_RevertsOnAPublicInputNotInField() public {
        uint256[3] memory tampered = inputs;
        // inputs[2] + r is the same scalar mod r, so only the range check can reject it.
        tampered[2] += R;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PublicInputNotInField.selector, 2));
        verifier.verifyProof(proof, tampered);
    }

    function test_PartialInputsAgreeWithVerifyProof() public view {
        // Every split of the inputs into accumulated ones (bit set in `mask`) and passed ones.
        for (uint256 mask = 0; mask < 8; ++mask) {
            require(_verifyPartial(mask, inputs), "valid proof rejected with partial inputs");
            uint256[3] memory tampered = inputs;
            tampered[mask % 3] += 1;
            require(!_verifyPartial(mask, tampered), "tampered input accepted with partial inputs");
        }
    }

    function test_PartialInputsRevertOnBadArguments() public {
        uint256[] memory indices = new uint256[](1);
        uint256[] memory values = new uint256[](2);
        uint256[2] memory infinity;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.LengthMismatch.selector, 1, 2));
        verifier.verifyProofWithPartialInputs(proof, infinity, indices, values);

        values = new uint256[](1);
        indices[0] = 3;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.InputIndexOutOfRange.selector, 3));
        verifier.verifyProofWithPartialInputs(proof, infinity, indices, values);

        indices[0] = 1;
        values[0] = R;
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PublicInputNotInField.selector, 1));
        verifier.verifyProofWithPartialInputs(proof, infinity, indices, values);

        values[0] = 0;
        uint256[2] memory offCurve = [uint256(1), uint256(1)];
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PrecompileFailed.selector, 6));
        verifier.verifyProofWithPartialInputs(proof, offCurve, indices, values);

        uint256[2] memory notInField = [Q, uint256(0)];
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.AccumulatorCoordinateNotInField.selector, 0));
        verifier.verifyProofWithPartialInputs(proof, notInField, indices, values);
    }

    function test_InputPointRevertsOnBadArguments() public {
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.InputIndexOutOfRange.selector, 3));
        verifier.inputPoint(3, 1);
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PublicInputNotInField.selector, 0));
        verifier.inputPoint(0, R);
    }

    /// @dev verifyProofWithPartialInputs with the inputs whose bit is set in `mask` folded into
    ///      the accumulator via inputPoint, and the others passed as (index, value).
    function _verifyPartial(uint256 mask, uint256[3] memory values_) internal view returns (bool) {
        uint256[2] memory accumulated; // (0, 0): the point at infinity
        uint256 passed;
        for (uint256 i = 0; i < 3; ++i) {
            if ((mask >> i) & 1 == 0) ++passed;
        }
        uint256[] memory indices = new uint256[](passed);
        uint256[] memory values = new uint256[](passed);
        uint256 k;
        for (uint256 i = 0; i < 3; ++i) {
            if ((mask >> i) & 1 == 1) {
                (uint256 x, uint256 y) = verifier.inputPoint(i, values_[i]);
                accumulated = _ecAdd(accumulated, [x, y]);
            } else {
                (indices[k], values[k]) = (i, values_[i]);
                ++k;
            }
        }
        return verifier.verifyProofWithPartialInputs(proof, accumulated, indices, values);
    }

    function _ecAdd(uint256[2] memory a, uint256[2] memory b) internal view returns (uint256[2] memory sum) {
        (bool ok, bytes memory result) = address(0x06).staticcall(abi.encode(a[0], a[1], b[0], b[1]));
        require(ok, "ecAdd failed");
        (sum[0], sum[1]) = abi.decode(result, (uint256, uint256));
    }
}
