// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Base, Vm} from "./Base.sol";
import {HelixToken} from "../src/HelixToken.sol";
import {GeneStaking} from "../src/GeneStaking.sol";
import {Governance} from "../src/Governance.sol";

/// What the fuzzer may do, as any of five actors: stake, unstake, reward,
/// report, slash, propose, vote, execute, and move time. Ghost variables
/// record what the contracts must agree with.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    HelixToken internal token;
    GeneStaking internal staking;
    Governance internal gov;
    bytes32[2] internal genes;
    address[5] internal actors;

    uint256 public deposited;
    uint256 public rewarded;
    uint256 public withdrawn;
    /// The pull threshold the executed proposals set, in order.
    uint256 public expectedPull;
    uint256 public executedChanges;
    /// Set when a proposal went through that should not have: before its
    /// timelock, without a majority, or under the quorum.
    bool public violated;
    /// Every proposal this handler made, so a later execute finds it.
    uint256[] internal ids;

    constructor(HelixToken t, GeneStaking s, Governance g, bytes32[2] memory gs, uint256 initialPull) {
        token = t;
        staking = s;
        gov = g;
        genes = gs;
        expectedPull = initialPull;
        for (uint256 i = 0; i < 5; i++) {
            actors[i] = address(uint160(0x1000 + i));
            vm.prank(actors[i]);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % 5];
    }

    function stake(uint256 a, uint256 g, uint256 amount) external {
        address who = _actor(a);
        amount = 10 ether + (amount % 200 ether);
        if (token.balanceOf(who) < amount) return;
        vm.prank(who);
        try staking.stake(genes[g % 2], amount) {
            deposited += amount;
        } catch {}
    }

    function unstake(uint256 a, uint256 g, uint256 fraction) external {
        address who = _actor(a);
        bytes32 gene = genes[g % 2];
        uint256 shares = (staking.sharesOf(gene, who) * (1 + fraction % 100)) / 100;
        if (shares == 0) return;
        vm.prank(who);
        try staking.unstake(gene, shares) returns (uint256 assets) {
            withdrawn += assets;
        } catch {}
    }

    function reward(uint256 a, uint256 g, uint256 amount) external {
        address who = _actor(a);
        amount = 1 + (amount % 50 ether);
        if (token.balanceOf(who) < amount) return;
        vm.prank(who);
        try staking.reward(genes[g % 2], amount) {
            rewarded += amount;
        } catch {}
    }

    function report(uint256 a, uint256 g) external {
        vm.prank(_actor(a));
        try staking.reportFailure(genes[g % 2]) {} catch {}
    }

    /// By anyone (it goes through only on a challenged gene), or by
    /// governance's decision (always).
    function slash(uint256 g, bool byGovernance) external {
        if (byGovernance) vm.prank(address(gov));
        try staking.slash(genes[g % 2]) {} catch {}
    }

    /// Governance opens a challenge; an open one locks the gene's stakes.
    function challenge(uint256 g) external {
        vm.prank(address(gov));
        try staking.challenge(genes[g % 2]) {} catch {}
    }

    function propose(uint256 a, uint256 value) external {
        bytes32 key = gov.PULL_THRESHOLD_BPS();
        vm.prank(_actor(a));
        try gov.propose(Governance.Kind.SetParam, key, value % 10_001) returns (uint256 id) {
            ids.push(id);
        } catch {}
    }

    function vote(uint256 a, uint256 i, bool support) external {
        if (ids.length == 0) return;
        vm.prank(_actor(a));
        try gov.vote(ids[i % ids.length], support) {} catch {}
    }

    function execute(uint256 i) external {
        if (ids.length == 0) return;
        uint256 id = ids[i % ids.length];
        Governance.Proposal memory p = gov.proposal(id);
        uint256 quorum = gov.params(gov.QUORUM());
        try gov.execute(id) {
            if (block.timestamp < p.eta || p.forVotes <= p.againstVotes || p.forVotes < quorum) {
                violated = true;
            }
            expectedPull = p.value;
            executedChanges += 1;
        } catch {}
    }

    function wait(uint256 secs, uint256 blocks) external {
        vm.warp(block.timestamp + (secs % 3 days));
        vm.roll(block.number + 1 + (blocks % 10));
    }
}

contract InvariantTest is Base {
    Handler internal handler;

    function setUp() public {
        deploy();
        bytes32[2] memory gs = [keccak256("gene-a"), keccak256("gene-b")];
        anchorGene(gs[0]);
        anchorGene(gs[1]);
        handler = new Handler(token, staking, gov, gs, initial()[0]);
        for (uint256 i = 0; i < 5; i++) {
            token.transfer(address(uint160(0x1000 + i)), 10_000 ether);
        }
    }

    /// forge fuzzes only these (forge-std's targetContract, by hand).
    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_total_staked_equals_the_token_balance_held() public view {
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
        assertEq(staking.totalStaked(), handler.deposited() + handler.rewarded() - handler.withdrawn() - staking.totalSlashed());
    }

    function invariant_a_slashed_stake_is_never_withdrawn() public view {
        // Burned HELIX sits where no key moves it, all of it, forever.
        assertEq(token.balanceOf(staking.BURN()), staking.totalSlashed());
        assertTrue(handler.withdrawn() + staking.totalSlashed() <= handler.deposited() + handler.rewarded());
    }

    function invariant_a_parameter_changes_only_through_an_executed_proposal() public view {
        assertEq(gov.params(gov.PULL_THRESHOLD_BPS()), handler.expectedPull());
        assertTrue(!handler.violated());
    }
}
