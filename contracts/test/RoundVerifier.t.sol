// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture, VerifierArgs} from "./utils/MarketBase.sol";
import {RoundVerifier} from "../src/RoundVerifier.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";

/// @notice The generic RoundVerifier, deployed with the verifying key of each fixture shape
///         (n = 4, 10, 16 and the demo shape), against the real proofs of those fixtures and
///         against the generated per-key verifier of the same key.
contract RoundVerifierTest is MarketBase {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    function _names() internal pure returns (string[4] memory) {
        return ["n4", "n10", "n16", "demo"];
    }

    function test_VerifiesEveryFixtureProof() public {
        string[4] memory names = _names();
        for (uint256 k; k < 4; ++k) {
            RoundFixture memory f = loadFixture(names[k]);
            RoundVerifier v = deployGenericVerifier(names[k]);
            assertEq(v.N_PUBLIC(), f.publicInputs.length, "N_PUBLIC");
            assertTrue(v.verifyProof(f.proof, f.publicInputs), names[k]);
        }
    }

    function test_RejectsATamperedProof() public {
        string[4] memory names = _names();
        for (uint256 k; k < 4; ++k) {
            RoundFixture memory f = loadFixture(names[k]);
            RoundVerifier v = deployGenericVerifier(names[k]);
            // Valid curve points, wrong proof: A and C swapped.
            uint256[8] memory swapped = f.proof;
            (swapped[0], swapped[1], swapped[6], swapped[7]) = (f.proof[6], f.proof[7], f.proof[0], f.proof[1]);
            assertTrue(!v.verifyProof(swapped, f.publicInputs), "swapped A and C accepted");
            uint256[8] memory notInField = f.proof;
            notInField[1] += Q;
            vm.expectRevert(abi.encodeWithSelector(RoundVerifier.ProofCoordinateNotInField.selector, 1));
            v.verifyProof(notInField, f.publicInputs);
        }
    }

    function test_RevertsOnAProofPointOffTheCurve() public {
        RoundFixture memory f = loadFixture("n10");
        RoundVerifier v = deployGenericVerifier("n10");
        // Once per test: a failing precompile burns all the gas it was given.
        uint256[8] memory offCurve = f.proof;
        offCurve[0] = (offCurve[0] + 1) % Q;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.PrecompileFailed.selector, 8));
        v.verifyProof(offCurve, f.publicInputs);
    }

    function test_RejectsATamperedInput() public {
        string[4] memory names = _names();
        for (uint256 k; k < 4; ++k) {
            RoundFixture memory f = loadFixture(names[k]);
            RoundVerifier v = deployGenericVerifier(names[k]);
            uint256 last = f.publicInputs.length - 1;
            uint256[] memory x = _copy(f.publicInputs);
            x[last] = (x[last] + 1) % R;
            assertTrue(!v.verifyProof(f.proof, x), "tampered last input accepted");
            x = _copy(f.publicInputs);
            x[0] = (x[0] + 1) % R;
            assertTrue(!v.verifyProof(f.proof, x), "tampered context accepted");
        }
    }

    function test_RevertsOnAnInputNotInFieldOrAWrongCount() public {
        RoundFixture memory f = loadFixture("n10");
        RoundVerifier v = deployGenericVerifier("n10");
        uint256[] memory x = _copy(f.publicInputs);
        // The same scalar mod r, written non-canonically: only the range check can reject it.
        x[2] += R;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.PublicInputNotInField.selector, 2));
        v.verifyProof(f.proof, x);

        uint256[] memory short = new uint256[](x.length - 1);
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.InputCountMismatch.selector, x.length, x.length - 1));
        v.verifyProof(f.proof, short);
    }

    function test_PartialInputsAgreeWithVerifyProof() public {
        string[4] memory names = _names();
        for (uint256 k; k < 4; ++k) {
            RoundFixture memory f = loadFixture(names[k]);
            RoundVerifier v = deployGenericVerifier(names[k]);
            uint256 n = f.publicInputs.length;
            // Fold in the first `split` inputs, pass the rest: none, some and all accumulated.
            uint256[3] memory splits = [uint256(0), n / 2, n];
            for (uint256 s; s < 3; ++s) {
                assertTrue(_verifyPartial(v, f, f.publicInputs, splits[s]), "valid proof rejected");
                uint256[] memory x = _copy(f.publicInputs);
                x[n - 1] = (x[n - 1] + 1) % R;
                assertTrue(!_verifyPartial(v, f, x, splits[s]), "tampered input accepted");
            }
        }
    }

    function test_PartialInputsRevertOnBadArguments() public {
        RoundFixture memory f = loadFixture("n4");
        RoundVerifier v = deployGenericVerifier("n4");
        uint256[] memory indices = new uint256[](1);
        uint256[] memory values = new uint256[](2);
        uint256[2] memory infinity;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.LengthMismatch.selector, 1, 2));
        v.verifyProofWithPartialInputs(f.proof, infinity, indices, values);

        values = new uint256[](1);
        uint256 count = f.publicInputs.length; // the first index out of range
        indices[0] = count;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.InputIndexOutOfRange.selector, count));
        v.verifyProofWithPartialInputs(f.proof, infinity, indices, values);

        indices[0] = 1;
        values[0] = R;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.PublicInputNotInField.selector, 1));
        v.verifyProofWithPartialInputs(f.proof, infinity, indices, values);

        values[0] = 0;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.PrecompileFailed.selector, 6));
        v.verifyProofWithPartialInputs(f.proof, [uint256(1), uint256(1)], indices, values);

        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.AccumulatorCoordinateNotInField.selector, 0));
        v.verifyProofWithPartialInputs(f.proof, [Q, uint256(0)], indices, values);

        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.InputIndexOutOfRange.selector, count));
        v.inputPoint(count, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundVerifier.PublicInputNotInField.selector, 0));
        v.inputPoint(0, R);
    }

    /// @dev The generic verifier and the generated one hold the same IC points, and the key
    ///      reads back as it was given.
    function test_MatchesTheGeneratedVerifierOfTheSameKey() public {
        _deployMarket();
        string[4] memory names = _names();
        for (uint256 k; k < 4; ++k) {
            RoundVerifier v = deployGenericVerifier(names[k]);
            IRoundVerifier generated = deployVerifier(names[k]);
            assertEq(v.N_PUBLIC(), generated.N_PUBLIC(), "N_PUBLIC");
            for (uint256 i; i < v.N_PUBLIC(); ++i) {
                (uint256 gx, uint256 gy) = v.inputPoint(i, 7);
                (uint256 wx, uint256 wy) = generated.inputPoint(i, 7);
                assertEq(gx, wx, "inputPoint x");
                assertEq(gy, wy, "inputPoint y");
            }
            VerifierArgs memory a = loadVerifierArgs(names[k]);
            (uint256[14] memory key, uint256[] memory ic) = v.verifyingKey();
            assertEq(key[0], a.alpha[0], "alpha");
            assertEq(key[13], a.delta[3], "delta");
            assertEq(keccak256(abi.encode(ic)), keccak256(abi.encode(a.ic)), "IC table");
        }
    }

    function test_ConstructorRejectsBadKeys() public {
        VerifierArgs memory a = loadVerifierArgs("n4");
        uint256[] memory ic = _copy(a.ic);

        // Odd length, only IC[0] (no public input), and more points than fit a contract.
        uint256[] memory odd = new uint256[](5);
        _expectBadKey(a, odd, abi.encodeWithSelector(RoundVerifier.IcLengthInvalid.selector, 5));
        uint256[] memory one = new uint256[](2);
        _expectBadKey(a, one, abi.encodeWithSelector(RoundVerifier.IcLengthInvalid.selector, 2));
        uint256[] memory huge = new uint256[](2 * 384);
        _expectBadKey(a, huge, abi.encodeWithSelector(RoundVerifier.IcLengthInvalid.selector, 768));

        // A coordinate >= q, named by its position in the key's words.
        VerifierArgs memory b = loadVerifierArgs("n4");
        b.gamma[1] += Q;
        _expectBadKey(b, ic, abi.encodeWithSelector(RoundVerifier.KeyCoordinateNotInField.selector, 7));
        ic[3] = Q;
        _expectBadKey(a, ic, abi.encodeWithSelector(RoundVerifier.KeyCoordinateNotInField.selector, 17));

        // Points off their curve: IC[1] (words 16-17), alpha, and delta (off the twist).
        ic = _copy(a.ic);
        ic[3] = (ic[3] + 1) % Q;
        _expectBadKey(a, ic, abi.encodeWithSelector(RoundVerifier.KeyPointInvalid.selector, 16));
        b = loadVerifierArgs("n4");
        b.alpha[1] = (b.alpha[1] + 1) % Q;
        _expectBadKey(b, a.ic, abi.encodeWithSelector(RoundVerifier.KeyPointInvalid.selector, 0));
        b = loadVerifierArgs("n4");
        b.delta[3] = (b.delta[3] + 1) % Q;
        _expectBadKey(b, a.ic, abi.encodeWithSelector(RoundVerifier.KeyPointInvalid.selector, 10));

        // Infinity is refused for alpha and beta, but allowed in IC.
        b = loadVerifierArgs("n4");
        (b.alpha[0], b.alpha[1]) = (0, 0);
        _expectBadKey(b, a.ic, abi.encodeWithSelector(RoundVerifier.KeyPointInvalid.selector, 0));
        b = loadVerifierArgs("n4");
        b.beta = [uint256(0), 0, 0, 0];
        _expectBadKey(b, a.ic, abi.encodeWithSelector(RoundVerifier.KeyPointInvalid.selector, 2));
        ic = _copy(a.ic);
        (ic[2], ic[3]) = (0, 0);
        RoundVerifier v = new RoundVerifier(a.alpha, a.beta, a.gamma, a.delta, ic);
        assertEq(v.N_PUBLIC(), a.ic.length / 2 - 1, "a key with an IC point at infinity deploys");
    }

    function _expectBadKey(VerifierArgs memory a, uint256[] memory ic, bytes memory err) internal {
        vm.expectRevert(err);
        new RoundVerifier(a.alpha, a.beta, a.gamma, a.delta, ic);
    }

    /// @dev verifyProofWithPartialInputs with inputs [0, split) folded into the accumulator via
    ///      inputPoint and the others passed as (index, value).
    function _verifyPartial(RoundVerifier v, RoundFixture memory f, uint256[] memory x, uint256 split)
        internal
        view
        returns (bool)
    {
        uint256[2] memory acc; // (0, 0): the point at infinity
        for (uint256 i; i < split; ++i) {
            (uint256 px, uint256 py) = v.inputPoint(i, x[i]);
            acc = _ecAdd(acc, [px, py]);
        }
        uint256[] memory indices = new uint256[](x.length - split);
        uint256[] memory values = new uint256[](x.length - split);
        for (uint256 i = split; i < x.length; ++i) {
            (indices[i - split], values[i - split]) = (i, x[i]);
        }
        return v.verifyProofWithPartialInputs(f.proof, acc, indices, values);
    }

    function _ecAdd(uint256[2] memory a, uint256[2] memory b) internal view returns (uint256[2] memory sum) {
        (bool ok, bytes memory result) = address(0x06).staticcall(abi.encode(a[0], a[1], b[0], b[1]));
        require(ok, "ecAdd failed");
        (sum[0], sum[1]) = abi.decode(result, (uint256, uint256));
    }

    function _copy(uint256[] memory a) internal pure returns (uint256[] memory b) {
        b = new uint256[](a.length);
        for (uint256 i; i < a.length; ++i) {
            b[i] = a[i];
        }
    }
}
