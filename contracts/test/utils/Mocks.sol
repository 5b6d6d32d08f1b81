// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {PublicInputs} from "../../src/market/PublicInputs.sol";

/// @dev A verifier that accepts whatever it is told to. Used ONLY where a real proof cannot reach
///      a path: rounds after round 0 (the prover fixtures are round-0 proofs), rounds with slots
///      declared unavailable or absent (the fixtures have every slot present), and the invariant
///      handler (which needs thousands of finalizations with arbitrary scores). Every happy path
///      that a fixture can reach is tested with the real generated verifier.
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
