// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title Gene anchors: anyone can check a registry's gene against the chain.
/// @notice An anchor binds a gene id to the hash of the gene's content and
/// the hash of the evidence (the verified transactions) it was anchored
/// with, and records who anchored it. A registry anchors a gene when it
/// crosses the quality threshold and again when its evidence grows; a
/// reader trusts the anchors of the registries it trusts.
contract GeneAnchor {
    struct Anchor {
        bytes32 contentHash;
        bytes32 evidenceHash;
        uint64 evidenceCount;
        uint64 anchoredAt;
        address anchorer;
    }

    /// anchorer => gene id => anchor
    mapping(address => mapping(bytes32 => Anchor)) private anchors;

    event Anchored(
        bytes32 indexed geneId,
        address indexed anchorer,
        bytes32 contentHash,
        bytes32 evidenceHash,
        uint64 evidenceCount
    );

    error EmptyHash();
    error ContentChanged(bytes32 anchored, bytes32 given);
    error EvidenceShrank(uint64 anchored, uint64 given);

    /// @notice Anchors (or re-anchors with more evidence) a gene. The content
    /// of an anchored gene never changes: a gene with other content is
    /// another gene (its id is the hash of its identity).
    function anchor(bytes32 geneId, bytes32 contentHash, bytes32 evidenceHash, uint64 evidenceCount) external {
        if (geneId == 0 || contentHash == 0 || evidenceHash == 0) revert EmptyHash();
        Anchor storage a = anchors[msg.sender][geneId];
        if (a.anchoredAt != 0) {
            if (a.contentHash != contentHash) revert ContentChanged(a.contentHash, contentHash);
            if (evidenceCount < a.evidenceCount) revert EvidenceShrank(a.evidenceCount, evidenceCount);
        }
        anchors[msg.sender][geneId] = Anchor({
            contentHash: contentHash,
            evidenceHash: evidenceHash,
            evidenceCount: evidenceCount,
            anchoredAt: uint64(block.timestamp),
            anchorer: msg.sender
        });
        emit Anchored(geneId, msg.sender, contentHash, evidenceHash, evidenceCount);
    }

    /// @notice The anchor `anchorer` holds for `geneId` (all zero if none).
    function anchorOf(address anchorer, bytes32 geneId) external view returns (Anchor memory) {
        return anchors[anchorer][geneId];
    }

    /// @notice Whether `anchorer` anchored exactly this content for `geneId`.
    function matches(address anchorer, bytes32 geneId, bytes32 contentHash) external view returns (bool) {
        Anchor storage a = anchors[anchorer][geneId];
        return a.anchoredAt != 0 && a.contentHash == contentHash;
    }
}
