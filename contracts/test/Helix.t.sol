// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Base} from "./Base.sol";
import {GeneAnchor} from "../src/GeneAnchor.sol";
import {GeneStaking} from "../src/GeneStaking.sol";
import {Governance} from "../src/Governance.sol";

contract AnchorTest is Base {
    function setUp() public {
        deploy();
    }

    function test_anchor_records_content_evidence_and_anchorer() public {
        bytes32 id = keccak256("gene");
        vm.prank(REGISTRY);
        anchors.anchor(id, bytes32(uint256(1)), bytes32(uint256(2)), 3);
        GeneAnchor.Anchor memory a = anchors.anchorOf(REGISTRY, id);
        assertTrue(a.contentHash == bytes32(uint256(1)) && a.evidenceHash == bytes32(uint256(2)));
        assertEq(a.evidenceCount, 3);
        assertTrue(a.anchorer == REGISTRY);
        assertTrue(anchors.matches(REGISTRY, id, bytes32(uint256(1))));
        assertTrue(!anchors.matches(REGISTRY, id, bytes32(uint256(9))));
        assertTrue(!anchors.matches(address(this), id, bytes32(uint256(1))));
    }

    function test_reanchoring_may_add_evidence_but_never_change_content() public {
        bytes32 id = keccak256("gene");
        vm.startPrank(REGISTRY);
        anchors.anchor(id, bytes32(uint256(1)), bytes32(uint256(2)), 3);
        anchors.anchor(id, bytes32(uint256(1)), bytes32(uint256(5)), 4);
        vm.expectRevert(abi.encodeWithSelector(GeneAnchor.ContentChanged.selector, bytes32(uint256(1)), bytes32(uint256(7))));
        anchors.anchor(id, bytes32(uint256(7)), bytes32(uint256(5)), 5);
        vm.expectRevert(abi.encodeWithSelector(GeneAnchor.EvidenceShrank.selector, uint64(4), uint64(2)));
        anchors.anchor(id, bytes32(uint256(1)), bytes32(uint256(5)), 2);
        vm.expectRevert(GeneAnchor.EmptyHash.selector);
        anchors.anchor(id, 0, bytes32(uint256(5)), 9);
        vm.stopPrank();
    }

    function testFuzz_anchors_are_per_anchorer(address who, bytes32 id, bytes32 content) public {
        vm.assume(who != REGISTRY && id != 0 && content != 0);
        vm.prank(who);
        anchors.anchor(id, content, keccak256("e"), 1);
        assertTrue(anchors.matches(who, id, content));
        assertTrue(!anchors.matches(REGISTRY, id, content));
    }
}

contract StakingTest is Base {
    bytes32 internal constant GENE = keccak256("gene");
    address internal constant ALICE = address(0xA);
    address internal constant BOB = address(0xB);
    address internal constant CAROL = address(0xC);

    function setUp() public {
        deploy();
        anchorGene(GENE);
        fund(ALICE, 1_000 ether);
        fund(BOB, 1_000 ether);
        fund(CAROL, 1_000 ether);
    }

    function test_only_anchored_genes_take_stakes_above_the_minimum() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(GeneStaking.NotAnchored.selector, keccak256("other")));
        staking.stake(keccak256("other"), 100 ether);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(GeneStaking.BelowMinimum.selector, 1 ether, 10 ether));
        staking.stake(GENE, 1 ether);
    }

    function test_rewards_are_shared_pro_rata() public {
        stakeAs(ALICE, GENE, 100 ether);
        stakeAs(BOB, GENE, 300 ether);
        token.approve(address(staking), 40 ether);
        staking.reward(GENE, 40 ether);
        assertEq(staking.assetsOf(GENE, ALICE), 110 ether);
        assertEq(staking.assetsOf(GENE, BOB), 330 ether);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
    }

    function test_reports_challenge_the_gene_and_lock_its_stakes_until_slashed() public {
        uint256 shares = stakeAs(ALICE, GENE, 100 ether);
        stakeAs(BOB, GENE, 100 ether);
        stakeAs(CAROL, GENE, 100 ether);
        vm.prank(BOB);
        staking.reportFailure(GENE);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(GeneStaking.AlreadyReported.selector, GENE));
        staking.reportFailure(GENE);
        vm.prank(address(0xDEAD01));
        vm.expectRevert(GeneStaking.NotAStaker.selector);
        staking.reportFailure(GENE);
        vm.prank(CAROL);
        staking.reportFailure(GENE);
        (,,, bool challenged) = staking.pools(GENE);
        assertTrue(challenged);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(GeneStaking.UnderChallenge.selector, GENE));
        staking.unstake(GENE, shares);
        uint256 burned = staking.slash(GENE);
        assertEq(burned, 150 ether);
        assertEq(token.balanceOf(staking.BURN()), 150 ether);
        vm.prank(ALICE);
        assertEq(staking.unstake(GENE, shares), 50 ether);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
    }

    function test_an_unchallenged_gene_is_slashed_only_by_governance() public {
        stakeAs(ALICE, GENE, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(GeneStaking.NotChallenged.selector, GENE));
        staking.slash(GENE);
        vm.prank(address(gov));
        assertEq(staking.slash(GENE), 50 ether);
    }

    function testFuzz_a_lone_staker_gets_back_exactly_what_it_staked(uint256 amount) public {
        amount = bound(amount, 10 ether, 1_000 ether);
        uint256 before = token.balanceOf(ALICE);
        uint256 shares = stakeAs(ALICE, GENE, amount);
        vm.prank(ALICE);
        assertEq(staking.unstake(GENE, shares), amount);
        assertEq(token.balanceOf(ALICE), before);
        assertEq(staking.totalStaked(), 0);
    }

    function testFuzz_a_slash_burns_the_ratio_and_no_more(uint256 a, uint256 b, uint256 ratio) public {
        a = bound(a, 10 ether, 1_000 ether);
        b = bound(b, 10 ether, 1_000 ether);
        stakeAs(ALICE, GENE, a);
        stakeAs(BOB, GENE, b);
        (uint256 assets,,,) = staking.pools(GENE);
        vm.prank(address(gov));
        uint256 burned = staking.slash(GENE);
        assertEq(burned, (assets * 5000) / 10_000);
        assertEq(token.balanceOf(staking.BURN()), burned);
        assertEq(staking.totalStaked() + burned, a + b);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
        ratio;
    }

    function testFuzz_rewards_never_pay_out_more_than_came_in(uint256 a, uint256 b, uint256 r) public {
        a = bound(a, 10 ether, 1_000 ether);
        b = bound(b, 10 ether, 1_000 ether);
        r = bound(r, 1, 1_000 ether);
        uint256 sa = stakeAs(ALICE, GENE, a);
        uint256 sb = stakeAs(BOB, GENE, b);
        token.approve(address(staking), r);
        staking.reward(GENE, r);
        vm.prank(ALICE);
        uint256 outA = staking.unstake(GENE, sa);
        vm.prank(BOB);
        uint256 outB = staking.unstake(GENE, sb);
        assertTrue(outA + outB <= a + b + r);
        assertTrue(outA >= a && outB >= b);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
    }
}

contract GovernanceTest is Base {
    bytes32 internal constant GENE = keccak256("gene");
    address internal constant ALICE = address(0xA);
    address internal constant BOB = address(0xB);

    function setUp() public {
        deploy();
        anchorGene(GENE);
        fund(ALICE, 1_000 ether);
        fund(BOB, 1_000 ether);
        stakeAs(ALICE, GENE, 200 ether);
        stakeAs(BOB, GENE, 50 ether);
        vm.roll(block.number + 1);
    }

    function propose(uint256 value) internal returns (uint256 id) {
        // The key is read before the prank, which only the next call takes.
        bytes32 key = gov.PULL_THRESHOLD_BPS();
        vm.prank(ALICE);
        id = gov.propose(Governance.Kind.SetParam, key, value);
    }

    function test_a_parameter_changes_after_the_vote_and_the_timelock() public {
        uint256 id = propose(4500);
        vm.prank(ALICE);
        gov.vote(id, true);
        vm.prank(BOB);
        gov.vote(id, false);
        vm.warp(block.timestamp + 3 days);
        vm.expectRevert(abi.encodeWithSelector(Governance.TooEarly.selector, block.timestamp, block.timestamp + 2 days));
        gov.execute(id);
        vm.warp(block.timestamp + 2 days);
        gov.execute(id);
        assertEq(gov.params(gov.PULL_THRESHOLD_BPS()), 4500);
        vm.expectRevert(abi.encodeWithSelector(Governance.AlreadyExecuted.selector, id));
        gov.execute(id);
    }

    function test_without_quorum_or_majority_nothing_changes() public {
        uint256 id = propose(4500);
        vm.prank(BOB);
        gov.vote(id, true);
        vm.warp(block.timestamp + 5 days);
        vm.expectRevert(abi.encodeWithSelector(Governance.Defeated.selector, id));
        gov.execute(id);
        assertEq(gov.params(gov.PULL_THRESHOLD_BPS()), 3000);
    }

    function test_stake_added_after_the_proposal_does_not_vote() public {
        address late = address(0x1A7E);
        fund(late, 500 ether);
        uint256 id = propose(4500);
        stakeAs(late, GENE, 500 ether);
        vm.prank(late);
        vm.expectRevert(Governance.NoWeight.selector);
        gov.vote(id, true);
    }

    function test_out_of_range_and_unknown_parameters_are_refused() public {
        bytes32 key = gov.PULL_THRESHOLD_BPS();
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Governance.OutOfRange.selector, key, 10_001));
        gov.propose(Governance.Kind.SetParam, key, 10_001);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Governance.UnknownParameter.selector, keccak256("nope")));
        gov.propose(Governance.Kind.SetParam, keccak256("nope"), 1);
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(Governance.NotEnoughStake.selector, 0, 10 ether));
        gov.propose(Governance.Kind.SetParam, key, 1);
    }

    function test_a_slash_proposal_burns_the_gene_pool() public {
        vm.prank(ALICE);
        uint256 id = gov.propose(Governance.Kind.Slash, GENE, 0);
        vm.prank(ALICE);
        gov.vote(id, true);
        vm.warp(block.timestamp + 5 days);
        gov.execute(id);
        assertEq(token.balanceOf(staking.BURN()), 125 ether);
    }

    function testFuzz_vote_weight_is_the_stake_at_the_snapshot(uint256 extra) public {
        extra = bound(extra, 10 ether, 500 ether);
        uint256 id = propose(4000);
        stakeAs(BOB, GENE, extra);
        vm.prank(BOB);
        gov.vote(id, true);
        Governance.Proposal memory p = gov.proposal(id);
        assertEq(p.forVotes, 50 ether);
    }
}
