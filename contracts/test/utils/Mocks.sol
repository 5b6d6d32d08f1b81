// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {PublicInputs} from "../../src/market/PublicInputs.sol";
import {SCALAR_FIELD} from "../../src/market/MarketStorage.sol";
import {G1} from "./G1.sol";

/// @dev A verifier that accepts whatever it is told to. Used ONLY where a real proof cannot reach
///      a path: rounds after round 0 (the prover fixtures are round-0 proofs), rounds with slots
///      declared unavailable or absent (the fixtures have every slot present), and arbitrary
///      scores (the invariant handler, which needs thousands of such finalizations, uses its
///      variant LinearMockVerifier below). Every happy path that a fixture can reach is tested
///      with the real generated verifier.
contract MockVerifier {
    uint256 public immutable N_PUBLIC;
    bool public answer = true;

    constructor(uint256 trainers) {
        N_PUBLIC = PublicInputs.count(trainers);
    }

    function setAnswer(bool a) external {
        answer = a;
    }

    /// @dev The BN254 G1 generator: any valid point keeps the market's ecAdd calls working.
    function inputPoint(uint256, uint256) external pure returns (uint256 x, uint256 y) {
        return (1, 2);
    }

    function verifyProofWithPartialInputs(
        uint256[8] calldata,
        uint256[2] calldata,
        uint256[] calldata,
        uint256[] calldata
    ) external view returns (bool) {
        return answer;
    }
}

/// @dev A MockVerifier that accepts a proof only if the partial inputs it is given include
///      every (index, value) pair it was told to expect (`expectInputs`): what the market passes
///      at finalization, checked against a restatement of the layout (ExpectedInputs) rather
///      than against the market's own code.
contract InputCheckingVerifier {
    uint256 public immutable N_PUBLIC;
    uint256[] internal wantIndices;
    uint256[] internal wantValues;

    constructor(uint256 trainers) {
        N_PUBLIC = PublicInputs.count(trainers);
    }

    function expectInputs(uint256[] calldata indices, uint256[] calldata values) external {
        wantIndices = indices;
        wantValues = values;
    }

    function inputPoint(uint256, uint256) external pure returns (uint256 x, uint256 y) {
        return (1, 2);
    }

    /// @dev True iff each expected index is passed exactly once, with the expected value.
    function verifyProofWithPartialInputs(
        uint256[8] calldata,
        uint256[2] calldata,
        uint256[] calldata indices,
        uint256[] calldata values
    ) external view returns (bool) {
        for (uint256 e; e < wantIndices.length; ++e) {
            uint256 seen;
            for (uint256 k; k < indices.length; ++k) {
                if (indices[k] != wantIndices[e]) continue;
                if (values[k] != wantValues[e]) return false;
                ++seen;
            }
            if (seen != 1) return false;
        }
        return true;
    }
}

/// @dev A MockVerifier that makes its job chunked (`CHUNKS`) and accepts every chunk answer:
///      for the marks a refutation writes, where no chunked fixture reaches (n = 256).
contract MockChunkedVerifier is MockVerifier {
    uint256 public immutable CHUNKS;

    constructor(uint256 trainers, uint256 chunks) MockVerifier(trainers) {
        CHUNKS = chunks;
    }

    function verifyChunk(uint256, uint256, uint256[] calldata, uint256, uint256[8] calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }
}

/// @dev Like MockVerifier, it accepts every proof, but its `inputPoint` is linear as a real
///      verifier's is: inputPoint(i, v) = (v * (i + 1) mod r) * G, that is IC[i + 1] = (i + 1) * G.
///      The market's accumulator is then a known multiple of G, so the invariant handler can check
///      that every submission folded the right terms (a missing, repeated or misplaced term
///      changes the multiple), which MockVerifier's constant point cannot show.
contract LinearMockVerifier {
    uint256 public immutable N_PUBLIC;

    constructor(uint256 trainers) {
        N_PUBLIC = PublicInputs.count(trainers);
    }

    /// @dev The scalar of inputPoint(index, value): value * (index + 1) mod r.
    function scalarOf(uint256 index, uint256 value) public pure returns (uint256) {
        return mulmod(value, index + 1, SCALAR_FIELD);
    }

    /// @dev Refuses what a generated verifier refuses (an index out of range, a value >= r).
    function inputPoint(uint256 index, uint256 value) external view returns (uint256 x, uint256 y) {
        require(index < N_PUBLIC && value < SCALAR_FIELD, "LinearMockVerifier: bad input");
        return G1.mul(G1.GX, G1.GY, scalarOf(index, value));
    }

    function verifyProofWithPartialInputs(
        uint256[8] calldata,
        uint256[2] calldata,
        uint256[] calldata,
        uint256[] calldata
    ) external pure returns (bool) {
        return true;
    }
}

/// @dev A plain ERC-20 anyone can mint.
contract TestToken is ERC20 {
    constructor() ERC20("Test", "TST") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @dev An ERC-20 that burns 1 % of every transfer: the market must refuse it.
contract FeeToken is TestToken {
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @dev Tries to re-enter `withdraw` from its ETH receive hook.
contract Reenterer {
    address public market;
    bool public reentered;

    constructor(address market_) {
        market = market_;
    }

    function call(bytes calldata data) external payable {
        (bool ok, bytes memory ret) = market.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    receive() external payable {
        if (!reentered) {
            reentered = true;
            (bool ok,) = market.call(abi.encodeWithSignature("withdraw(address)", address(0)));
            require(!ok, "re-entry succeeded");
        }
    }
}
