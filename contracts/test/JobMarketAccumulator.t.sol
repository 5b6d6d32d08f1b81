// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture, VerifierArgs} from "./utils/MarketBase.sol";
import {G1} from "./utils/G1.sol";
import {ExpectedInputs} from "./utils/ExpectedInputs.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {SCALAR_FIELD} from "../src/market/MarketStorage.sol";

/// @notice The accumulator JobMarket folds at submission time is exactly what a real verifier's
///         `inputPoint` terms add up to: for random job terms (hence contexts), models, subsets of
///         slots, submission orders and commitments, `jobState(id).accX/accY` equals
///         sum over the opening inputs (context, domain, C(w)), the submitted C_slot and each
///         submitter's rank term in its order word of value * IC[index + 1], computed here with
///         the ecMul/ecAdd precompiles from the IC table
///         of the verifier's key (test/fixtures/verifier_args_*.json), without the market's code.
///         IC[0] is not part of it (the verifier adds it). Round 0 uses the generated
///         RoundVerifierN4; a later round uses the generic RoundVerifier with the key of the
///         n4_chain fixtures, whose real proof of round 0 takes the job to round 1.
contract JobMarketAccumulatorTest is MarketBase {
    uint256 internal constant N = 4;
    uint256 internal constant R = SCALAR_FIELD;

    IRoundVerifier internal verifier;
    uint256[] internal ic;
    IRoundVerifier internal chainVerifier;
    uint256[] internal chainIc;
    RoundFixture internal chain0;

    function setUp() public {
        _deployMarket();
        verifier = deployVerifier("n4");
        ic = loadVerifierArgs("n4").ic;
        VerifierArgs memory a = loadVerifierArgs("n4_chain");
        chainIc = a.ic;
        chainVerifier = IRoundVerifier(address(deployGenericVerifier("n4_chain")));
        market.setVerifierApproval(address(chainVerifier), true);
        chain0 = loadFixture("n4_chain0");
    }

    /// @dev The IC table read from verifier_args_n4.json is the generated RoundVerifierN4's:
    ///      inputPoint(i, 1) = IC[i + 1] for every input (so the fuzz test below recomputes the
    ///      terms of the very verifier the job uses).
    function test_IcTableIsTheVerifiers() public view {
        _assertIcTable(verifier, ic);
        _assertIcTable(chainVerifier, chainIc);
    }

    /// @dev Round 0 of a job with random terms (job id 1-4, f, tau, lr, lr decay, dup_tol,
    ///      initial model): a random non-empty subset of the slots submits random commitments in
    ///      a random order.
    function testFuzz_AccumulatorEqualsVerifierInputPoint(
        uint256 termsSeed,
        uint8 priorJobs,
        uint8 mask,
        uint256[4] memory commitments,
        uint256 orderSeed
    ) public {
        uint256 jobId = _openRandomJob(termsSeed, priorJobs % 4);
        uint256[] memory slots = _submitSubset(jobId, 0, mask, commitments, orderSeed);
        JobMarket.State memory s = market.jobState(jobId);
        (uint256 x, uint256 y) =
            _expectedAccumulator(ic, market.jobConfig(jobId), jobId, 0, slots, commitments);
        assertEq(s.accX, x, "accX = sum of the verifier's input points");
        assertEq(s.accY, y, "accY = sum of the verifier's input points");
    }

    /// @dev Round 1, after a real proof settled round 0: the first submission of round 1 starts
    ///      over from round 1's context (not round 0's accumulator).
    function testFuzz_AccumulatorEqualsVerifierInputPoint_laterRound(
        uint8 mask,
        uint256[4] memory commitments,
        uint256 orderSeed
    ) public {
        uint256 jobId = setUpJob(chain0, chainVerifier, 2);
        submitAll(jobId, 0, chain0);
        JobMarket.Finalization memory fin = finalization(chain0);
        fin.unavailableBits = 1 << 1; // as the fixture was proven (JobMarketProofChain.t.sol)
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, fin);

        uint256[] memory slots = _submitSubset(jobId, 1, mask, commitments, orderSeed);
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.model, chain0.newModel, "round 0's C(S) is the job's model word");
        (uint256 x, uint256 y) =
            _expectedAccumulator(chainIc, market.jobConfig(jobId), jobId, 1, slots, commitments);
        assertEq(s.accX, x, "accX = sum of the verifier's input points");
        assertEq(s.accY, y, "accY = sum of the verifier's input points");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The expected accumulator: the terms of the round's opening inputs
    ///      (ExpectedInputs.openingInputs, with the domain of the job's roster, `trainers`), and
    ///      of C_slot and of the slot's rank (ExpectedInputs.orderInput) for every submitted slot,
    ///      `slots` being in submission order.
    function _expectedAccumulator(
        uint256[] memory icTable,
        JobMarket.Config memory c,
        uint256 jobId,
        uint256 round,
        uint256[] memory slots,
        uint256[4] memory commitments
    ) internal view returns (uint256 x, uint256 y) {
        uint256 domain = ExpectedInputs.domain(block.chainid, address(market), jobId, keccak256(abi.encodePacked(trainers)));
        (uint256[] memory indices, uint256[] memory values) = ExpectedInputs.openingInputs(c, jobId, round, domain);
        for (uint256 k; k < indices.length; ++k) {
            (uint256 px, uint256 py) = _term(icTable, indices[k], values[k]);
            (x, y) = G1.add(x, y, px, py);
        }
        for (uint256 k; k < slots.length; ++k) {
            uint256 slot = slots[k];
            (uint256 px, uint256 py) = _term(icTable, ExpectedInputs.updateIndex(slot), commitments[slot]);
            (x, y) = G1.add(x, y, px, py);
            (uint256 index, uint256 value) = ExpectedInputs.orderInput(N, slot, k + 1);
            (px, py) = _term(icTable, index, value);
            (x, y) = G1.add(x, y, px, py);
        }
    }

    /// @dev value * IC[index + 1], the verifier's term of one public input.
    function _term(uint256[] memory icTable, uint256 index, uint256 value) internal view returns (uint256, uint256) {
        uint256 p = 2 * (index + 1);
        return G1.mul(icTable[p], icTable[p + 1], value);
    }

    /// @dev Creates `priorJobs` jobs first (so the job id, part of the context, varies), then a
    ///      job with random terms inside what createJob accepts, bonded and fully joined, open.
    function _openRandomJob(uint256 seed, uint256 priorJobs) internal returns (uint256 jobId) {
        RoundFixture memory f;
        f.n = N;
        f.model = bound(uint256(keccak256(abi.encode(seed, "model"))), 1, R - 1);
        for (uint256 i; i < priorJobs; ++i) {
            createEthJob(jobParams(f, verifier, address(0), 1));
        }
        JobMarket.JobParams memory p = jobParams(f, verifier, address(0), uint32(bound(seed, 1, 8)));
        p.maxMalicious = uint8((seed >> 8) % N);
        p.tau = uint32(bound(seed >> 16, 1 << 16, type(uint32).max));
        p.lrDecay = uint32((seed >> 48) % 1000);
        p.lr = uint32(bound(seed >> 64, uint256(p.rounds) * p.lrDecay + 1, (1 << 16) - 1)); // createJob: lr < 2^16
        p.dupTol = uint32(seed >> 96);
        jobId = createEthJob(p);
        bondAndJoinAll(jobId, N);
        vm.warp(p.startTime);
    }

    /// @dev The trainers of the slots in `mask` (at least one) submit their commitments (bounded
    ///      to non-zero field elements, in place) in an order shuffled by `orderSeed`; returns the
    ///      slots.
    function _submitSubset(uint256 jobId, uint32 round, uint8 mask, uint256[4] memory commitments, uint256 orderSeed)
        internal
        returns (uint256[] memory slots)
    {
        mask = 1 + mask % 15; // a non-empty subset of the 4 slots
        uint256 count;
        for (uint256 i; i < N; ++i) {
            if ((mask >> i) & 1 == 1) ++count;
        }
        slots = new uint256[](count);
        uint256 k;
        for (uint256 i; i < N; ++i) {
            if ((mask >> i) & 1 == 1) slots[k++] = i;
        }
        for (uint256 i = count; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(orderSeed, i))) % i;
            (slots[i - 1], slots[j]) = (slots[j], slots[i - 1]);
        }
        for (uint256 i; i < count; ++i) {
            uint256 slot = slots[i];
            commitments[slot] = bound(commitments[slot], 1, R - 1);
            vm.prank(trainers[slot]);
            market.submitUpdate(jobId, round, commitments[slot], bytes32(slot + 1));
        }
    }

    function _assertIcTable(IRoundVerifier v, uint256[] memory icTable) internal view {
        uint256 inputs = v.N_PUBLIC();
        assertEq(icTable.length, 2 * (inputs + 1), "IC table length");
        for (uint256 i; i < inputs; ++i) {
            (uint256 x, uint256 y) = v.inputPoint(i, 1);
            assertEq(x, icTable[2 * (i + 1)], "IC x");
            assertEq(y, icTable[2 * (i + 1) + 1], "IC y");
        }
    }
}
