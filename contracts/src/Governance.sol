// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {GeneStaking} from "./GeneStaking.sol";

/// @title The protocol's parameters, changed only by stakers' votes.
/// @notice A proposal sets one parameter (or slashes one gene). Voting
/// weight is each account's stake at the block before the proposal
/// (a snapshot, so stake bought during the vote does not count). A proposal
/// passes with more votes for than against and at least the quorum for;
/// it executes only after its voting period and then the timelock. The
/// registry and agents read `params`.
contract Governance {
    enum Kind {
        SetParam,
        Slash
    }

    struct Proposal {
        address proposer;
        Kind kind;
        bytes32 key;
        uint256 value;
        uint64 snapshot;
        uint64 voteEnd;
        uint64 eta;
        uint256 forVotes;
        uint256 againstVotes;
        bool executed;
    }

    bytes32 public constant PULL_THRESHOLD_BPS = keccak256("pull_threshold_bps");
    bytes32 public constant QUALITY_THRESHOLD_BPS = keccak256("quality_threshold_bps");
    bytes32 public constant SLASH_RATIO_BPS = keccak256("slash_ratio_bps");
    bytes32 public constant MIN_STAKE = keccak256("min_stake");
    bytes32 public constant FAILURE_THRESHOLD = keccak256("failure_threshold");
    bytes32 public constant QUORUM = keccak256("quorum");
    bytes32 public constant VOTING_PERIOD = keccak256("voting_period");
    bytes32 public constant TIMELOCK = keccak256("timelock");

    GeneStaking public immutable staking;
    mapping(bytes32 => uint256) public params;
    Proposal[] private proposals;
    mapping(uint256 => mapping(address => bool)) public voted;

    event Proposed(uint256 indexed id, address indexed proposer, Kind kind, bytes32 key, uint256 value, uint64 voteEnd, uint64 eta);
    event Voted(uint256 indexed id, address indexed voter, bool support, uint256 weight);
    event Executed(uint256 indexed id);
    event ParameterChanged(bytes32 indexed key, uint256 oldValue, uint256 newValue);

    error UnknownProposal(uint256 id);
    error UnknownParameter(bytes32 key);
    error OutOfRange(bytes32 key, uint256 value);
    error NotEnoughStake(uint256 have, uint256 want);
    error VotingClosed(uint256 id);
    error AlreadyVoted(uint256 id);
    error NoWeight();
    error TooEarly(uint256 now_, uint256 eta);
    error Defeated(uint256 id);
    error AlreadyExecuted(uint256 id);

    constructor(GeneStaking staking_, uint256[8] memory initial) {
        staking = staking_;
        bytes32[8] memory keys = _keys();
        for (uint256 i = 0; i < 8; i++) {
            _check(keys[i], initial[i]);
            params[keys[i]] = initial[i];
        }
    }

    function _keys() private pure returns (bytes32[8] memory) {
        return [
            PULL_THRESHOLD_BPS,
            QUALITY_THRESHOLD_BPS,
            SLASH_RATIO_BPS,
            MIN_STAKE,
            FAILURE_THRESHOLD,
            QUORUM,
            VOTING_PERIOD,
            TIMELOCK
        ];
    }

    function _check(bytes32 key, uint256 value) private pure {
        bool known;
        bytes32[8] memory keys = _keys();
        for (uint256 i = 0; i < 8; i++) {
            if (keys[i] == key) known = true;
        }
        if (!known) revert UnknownParameter(key);
        bool bps = key == PULL_THRESHOLD_BPS || key == QUALITY_THRESHOLD_BPS || key == SLASH_RATIO_BPS;
        if (bps && value > 10_000) revert OutOfRange(key, value);
        if ((key == VOTING_PERIOD || key == TIMELOCK) && (value == 0 || value > 365 days)) revert OutOfRange(key, value);
        if (key == FAILURE_THRESHOLD && value == 0) revert OutOfRange(key, value);
    }

    function propose(Kind kind, bytes32 key, uint256 value) external returns (uint256 id) {
        if (kind == Kind.SetParam) _check(key, value);
        uint64 snapshot = uint64(block.number - 1);
        uint256 have = staking.votesAt(msg.sender, snapshot);
        uint256 want = params[MIN_STAKE];
        if (have < want || have == 0) revert NotEnoughStake(have, want);
        uint64 voteEnd = uint64(block.timestamp + params[VOTING_PERIOD]);
        uint64 eta = voteEnd + uint64(params[TIMELOCK]);
        id = proposals.length;
        proposals.push(
            Proposal({
                proposer: msg.sender,
                kind: kind,
                key: key,
                value: value,
                snapshot: snapshot,
                voteEnd: voteEnd,
                eta: eta,
                forVotes: 0,
                againstVotes: 0,
                executed: false
            })
        );
        emit Proposed(id, msg.sender, kind, key, value, voteEnd, eta);
    }

    function vote(uint256 id, bool support) external {
        Proposal storage p = _get(id);
        if (block.timestamp >= p.voteEnd) revert VotingClosed(id);
        if (voted[id][msg.sender]) revert AlreadyVoted(id);
        uint256 weight = staking.votesAt(msg.sender, p.snapshot);
        if (weight == 0) revert NoWeight();
        voted[id][msg.sender] = true;
        if (support) p.forVotes += weight;
        else p.againstVotes += weight;
        emit Voted(id, msg.sender, support, weight);
    }

    function execute(uint256 id) external {
        Proposal storage p = _get(id);
        if (p.executed) revert AlreadyExecuted(id);
        if (block.timestamp < p.eta) revert TooEarly(block.timestamp, p.eta);
        if (p.forVotes <= p.againstVotes || p.forVotes < params[QUORUM]) revert Defeated(id);
        p.executed = true;
        if (p.kind == Kind.SetParam) {
            _check(p.key, p.value);
            emit ParameterChanged(p.key, params[p.key], p.value);
            params[p.key] = p.value;
        } else {
            staking.slash(p.key);
        }
        emit Executed(id);
    }

    function proposal(uint256 id) external view returns (Proposal memory) {
        return _get(id);
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function _get(uint256 id) private view returns (Proposal storage) {
        if (id >= proposals.length) revert UnknownProposal(id);
        return proposals[id];
    }
}
