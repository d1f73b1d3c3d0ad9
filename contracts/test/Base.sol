// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

// forge-std is not on npm: the few cheatcodes these tests use, declared at
// the cheatcode address forge serves, and the assertions they need.
interface Vm {
    function prank(address) external;
    function startPrank(address) external;
    function stopPrank() external;
    function warp(uint256) external;
    function roll(uint256) external;
    function expectRevert(bytes calldata) external;
    function expectRevert(bytes4) external;
    function assume(bool) external;
}

import {HelixToken} from "../src/HelixToken.sol";
import {GeneAnchor} from "../src/GeneAnchor.sol";
import {GeneStaking, IERC20, IParams} from "../src/GeneStaking.sol";
import {Governance} from "../src/Governance.sol";

abstract contract Base {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error NotEqual(uint256 left, uint256 right);
    error NotTrue();

    function assertEq(uint256 a, uint256 b) internal pure {
        if (a != b) revert NotEqual(a, b);
    }

    function assertTrue(bool b) internal pure {
        if (!b) revert NotTrue();
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    address internal constant REGISTRY = address(0xA11CE);
    uint256 internal constant SUPPLY = 1_000_000_000 ether;

    HelixToken internal token;
    GeneAnchor internal anchors;
    GeneStaking internal staking;
    Governance internal gov;

    /// pull 30 %, quality 30 %, slash 50 %, min stake 10 HELIX, 2 reports,
    /// quorum 100 HELIX, 3 days to vote, 2 days of timelock.
    function initial() internal pure returns (uint256[8] memory) {
        return [uint256(3000), 3000, 5000, 10 ether, 2, 100 ether, 3 days, 2 days];
    }

    function deploy() internal {
        token = new HelixToken(address(this), SUPPLY);
        anchors = new GeneAnchor();
        staking = new GeneStaking(IERC20(address(token)), anchors, REGISTRY);
        gov = new Governance(staking, initial());
        staking.setGovernance(IParams(address(gov)));
    }

    function anchorGene(bytes32 id) internal {
        vm.prank(REGISTRY);
        anchors.anchor(id, keccak256(abi.encode("content", id)), keccak256("evidence"), 1);
    }

    function fund(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.prank(who);
        token.approve(address(staking), type(uint256).max);
    }

    function stakeAs(address who, bytes32 id, uint256 amount) internal returns (uint256) {
        vm.prank(who);
        return staking.stake(id, amount);
    }
}
