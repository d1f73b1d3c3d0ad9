// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {GeneAnchor} from "./GeneAnchor.sol";

interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

interface IParams {
    function params(bytes32 key) external view returns (uint256);
}

/// @title Stakes behind anchored genes.
/// @notice HELIX staked behind a gene the trusted registry anchored. Each
/// gene is a pool: stakers hold shares of its assets; rewards for verified
/// use raise the assets, a slash burns part of them. A gene under challenge
/// (failure reports from distinct stakers reached the threshold, or
/// governance opened one) cannot be left until it is slashed or cleared.
/// Voting weight is the HELIX an account put in and has not taken out,
/// checkpointed by block; a slash lowers the pool, not past checkpoints.
contract GeneStaking {
    struct Pool {
        uint256 assets;
        uint256 shares;
        uint64 failures;
        bool challenged;
    }

    struct Checkpoint {
        uint64 fromBlock;
        uint192 votes;
    }

    /// Slashed HELIX goes here, where no key can move it.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;
    bytes32 public constant MIN_STAKE = keccak256("min_stake");
    bytes32 public constant SLASH_RATIO_BPS = keccak256("slash_ratio_bps");
    bytes32 public constant FAILURE_THRESHOLD = keccak256("failure_threshold");

    IERC20 public immutable token;
    GeneAnchor public immutable anchors;
    /// The registry whose anchors a stake may back.
    address public immutable registry;
    address public immutable deployer;
    IParams public governance;

    /// Sum of every pool's assets; always the contract's HELIX balance.
    uint256 public totalStaked;
    /// HELIX burned by slashes so far.
    uint256 public totalSlashed;

    mapping(bytes32 => Pool) public pools;
    mapping(bytes32 => mapping(address => uint256)) public sharesOf;
    mapping(bytes32 => mapping(address => bool)) public reported;
    mapping(address => uint256) public principalOf;
    mapping(address => Checkpoint[]) private checkpoints;

    event Staked(bytes32 indexed geneId, address indexed staker, uint256 assets, uint256 shares);
    event Unstaked(bytes32 indexed geneId, address indexed staker, uint256 assets, uint256 shares);
    event Rewarded(bytes32 indexed geneId, uint256 assets);
    event FailureReported(bytes32 indexed geneId, address indexed reporter, uint64 failures);
    event Challenged(bytes32 indexed geneId);
    event ChallengeCleared(bytes32 indexed geneId);
    event Slashed(bytes32 indexed geneId, uint256 assets);

    error NotAnchored(bytes32 geneId);
    error UnderChallenge(bytes32 geneId);
    error NotChallenged(bytes32 geneId);
    error BelowMinimum(uint256 amount, uint256 minimum);
    error TooManyShares(uint256 have, uint256 want);
    error NoStakers(bytes32 geneId);
    error AlreadyReported(bytes32 geneId);
    error NotAStaker();
    error OnlyGovernance();
    error AlreadySet();
    error TransferFailed();
    error Zero();

    constructor(IERC20 token_, GeneAnchor anchors_, address registry_) {
        token = token_;
        anchors = anchors_;
        registry = registry_;
        deployer = msg.sender;
    }

    /// @notice Wires governance once (it is deployed after this contract).
    function setGovernance(IParams g) external {
        if (msg.sender != deployer) revert OnlyGovernance();
        if (address(governance) != address(0)) revert AlreadySet();
        governance = g;
    }

    modifier onlyGovernance() {
        if (msg.sender != address(governance)) revert OnlyGovernance();
        _;
    }

    function stake(bytes32 geneId, uint256 amount) external returns (uint256 shares) {
        if (amount == 0) revert Zero();
        if (anchors.anchorOf(registry, geneId).anchoredAt == 0) revert NotAnchored(geneId);
        uint256 minimum = governance.params(MIN_STAKE);
        if (amount < minimum) revert BelowMinimum(amount, minimum);
        Pool storage p = pools[geneId];
        if (p.challenged) revert UnderChallenge(geneId);
        shares = p.shares == 0 || p.assets == 0 ? amount : (amount * p.shares) / p.assets;
        if (shares == 0) revert Zero();
        if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        p.assets += amount;
        p.shares += shares;
        sharesOf[geneId][msg.sender] += shares;
        totalStaked += amount;
        _writeVotes(msg.sender, principalOf[msg.sender] + amount);
        emit Staked(geneId, msg.sender, amount, shares);
    }

    function unstake(bytes32 geneId, uint256 shares) external returns (uint256 assets) {
        Pool storage p = pools[geneId];
        if (p.challenged) revert UnderChallenge(geneId);
        uint256 have = sharesOf[geneId][msg.sender];
        if (shares == 0) revert Zero();
        if (shares > have) revert TooManyShares(have, shares);
        assets = (shares * p.assets) / p.shares;
        sharesOf[geneId][msg.sender] = have - shares;
        p.shares -= shares;
        p.assets -= assets;
        totalStaked -= assets;
        uint256 principal = principalOf[msg.sender];
        _writeVotes(msg.sender, assets >= principal ? 0 : principal - assets);
        if (!token.transfer(msg.sender, assets)) revert TransferFailed();
        emit Unstaked(geneId, msg.sender, assets, shares);
    }

    /// @notice Pays the stakers of a gene (pro rata to their shares).
    function reward(bytes32 geneId, uint256 amount) external {
        Pool storage p = pools[geneId];
        if (p.shares == 0) revert NoStakers(geneId);
        if (amount == 0) revert Zero();
        if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        p.assets += amount;
        totalStaked += amount;
        emit Rewarded(geneId, amount);
    }

    /// @notice A staker reports that the gene failed for it; at the
    /// threshold of distinct reporters the gene is under challenge.
    function reportFailure(bytes32 geneId) external {
        if (principalOf[msg.sender] == 0) revert NotAStaker();
        if (reported[geneId][msg.sender]) revert AlreadyReported(geneId);
        reported[geneId][msg.sender] = true;
        Pool storage p = pools[geneId];
        p.failures += 1;
        emit FailureReported(geneId, msg.sender, p.failures);
        if (!p.challenged && p.failures >= governance.params(FAILURE_THRESHOLD)) {
            p.challenged = true;
            emit Challenged(geneId);
        }
    }

    /// @notice Governance opens a challenge on its own decision.
    function challenge(bytes32 geneId) external onlyGovernance {
        pools[geneId].challenged = true;
        emit Challenged(geneId);
    }

    /// @notice Governance finds a challenge baseless.
    function clearChallenge(bytes32 geneId) external onlyGovernance {
        Pool storage p = pools[geneId];
        if (!p.challenged) revert NotChallenged(geneId);
        p.challenged = false;
        p.failures = 0;
        emit ChallengeCleared(geneId);
    }

    /// @notice Burns the slash ratio of a challenged gene's pool; by anyone
    /// once the reports reached the threshold, or by governance. The
    /// challenge then ends and what remains can be withdrawn.
    function slash(bytes32 geneId) external returns (uint256 burned) {
        Pool storage p = pools[geneId];
        if (!p.challenged && msg.sender != address(governance)) revert NotChallenged(geneId);
        burned = (p.assets * governance.params(SLASH_RATIO_BPS)) / 10_000;
        p.assets -= burned;
        totalStaked -= burned;
        totalSlashed += burned;
        p.challenged = false;
        p.failures = 0;
        if (burned > 0 && !token.transfer(BURN, burned)) revert TransferFailed();
        emit Slashed(geneId, burned);
    }

    /// @notice What `staker`'s shares of a gene are worth now.
    function assetsOf(bytes32 geneId, address staker) external view returns (uint256) {
        Pool storage p = pools[geneId];
        return p.shares == 0 ? 0 : (sharesOf[geneId][staker] * p.assets) / p.shares;
    }

    /// @notice Voting weight of `account` at the end of block `blockNumber`.
    function votesAt(address account, uint256 blockNumber) external view returns (uint256) {
        Checkpoint[] storage cps = checkpoints[account];
        uint256 lo = 0;
        uint256 hi = cps.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (cps[mid].fromBlock > blockNumber) hi = mid;
            else lo = mid + 1;
        }
        return lo == 0 ? 0 : cps[lo - 1].votes;
    }

    function _writeVotes(address account, uint256 votes) private {
        principalOf[account] = votes;
        Checkpoint[] storage cps = checkpoints[account];
        uint64 b = uint64(block.number);
        if (cps.length > 0 && cps[cps.length - 1].fromBlock == b) {
            cps[cps.length - 1].votes = uint192(votes);
        } else {
            cps.push(Checkpoint({fromBlock: b, votes: uint192(votes)}));
        }
    }
}
