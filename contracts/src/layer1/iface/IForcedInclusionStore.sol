// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IForcedInclusionStore
/// @notice A FIFO queue of L2 transactions posted on L1 by users who are being censored.
/// An inclusion is due `inclusionDelay` L1 blocks after it was stored; the inbox must consume due
/// inclusions oldest first. If the oldest stays unconsumed `staleWindow` blocks past due, the queue
/// is stale and anyone may propose.
interface IForcedInclusionStore {
    /// @dev Exactly one of blobHash / calldataHash is non-zero. The calldata itself is in the
    /// ForcedInclusionStored event; derivation looks it up by id.
    struct ForcedInclusion {
        uint64 id;
        uint64 createdAtBlock;
        uint128 feePaid;
        bytes32 blobHash;
        bytes32 calldataHash;
    }

    event ForcedInclusionStored(uint64 indexed id, ForcedInclusion inclusion, bytes txList);
    event ForcedInclusionsConsumed(uint64 firstId, uint16 count, address indexed proposer);
    event FeesWithdrawn(address indexed proposer, uint256 amount);
    event ForcedInclusionConfigSet(uint128 fee, uint64 inclusionDelay, uint64 staleWindow, uint32 maxCalldataBytes);
    event InboxSet(address inbox);

    error IncorrectFee(uint256 sent, uint256 required);
    error CalldataTooLarge(uint256 size, uint256 max);
    error BlobNotFound(uint256 index);
    error NotInbox(address caller);
    error InboxAlreadySet();
    error NotEnoughForcedInclusions(uint256 requested, uint256 available);
    error ForcedInclusionDue(uint64 id);
    error NothingToWithdraw();
    error FeeTransferFailed();

    function consume(uint16 count, address proposer) external returns (ForcedInclusion[] memory);

    function isStale() external view returns (bool);
}
