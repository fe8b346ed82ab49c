// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IForcedInclusionStore} from "../iface/IForcedInclusionStore.sol";

/// @title ForcedInclusionStore
/// @notice See IForcedInclusionStore. The fee paid with each inclusion is credited to the proposer
/// that consumes it (pull payment via withdrawFees), so including forced transactions pays.
contract ForcedInclusionStore is EssentialContract, IForcedInclusionStore {
    mapping(uint64 id => ForcedInclusion) internal _queue;
    uint64 public head; // id of the oldest unconsumed inclusion
    uint64 public tail; // id the next stored inclusion gets
    address public inbox;
    uint128 public fee;
    uint64 public inclusionDelay;
    uint64 public staleWindow;
    uint32 public maxCalldataBytes;
    mapping(address proposer => uint256) public claimableFees;

    uint256[44] private __gap;

    function initialize(
        address owner_,
        uint128 fee_,
        uint64 inclusionDelay_,
        uint64 staleWindow_,
        uint32 maxCalldataBytes_
    ) external initializer {
        __Essential_init(owner_);
        _setConfig(fee_, inclusionDelay_, staleWindow_, maxCalldataBytes_);
    }

    /// @notice Wires the inbox once (the inbox and this store reference each other, so one of
    /// them must be set after both exist). Changing it later needs an upgrade.
    function setInbox(address inbox_) external onlyOwner {
        if (inbox != address(0)) revert InboxAlreadySet();
        if (inbox_ == address(0)) revert ZeroAddress();
        inbox = inbox_;
        emit InboxSet(inbox_);
    }

    function setConfig(uint128 fee_, uint64 inclusionDelay_, uint64 staleWindow_, uint32 maxCalldataBytes_)
        external
        onlyOwner
    {
        _setConfig(fee_, inclusionDelay_, staleWindow_, maxCalldataBytes_);
    }

    /// @notice Posts L2 transactions for forced inclusion: `txList` in calldata when non-empty,
    /// otherwise the transaction's first blob.
    function storeForcedInclusion(bytes calldata txList) external payable returns (uint64 id) {
        if (msg.value != fee) revert IncorrectFee(msg.value, fee);
        bytes32 blobHash;
        bytes32 calldataHash;
        if (txList.length == 0) {
            blobHash = blobhash(0);
            if (blobHash == 0) revert BlobNotFound(0);
        } else {
            if (txList.length > maxCalldataBytes) revert CalldataTooLarge(txList.length, maxCalldataBytes);
            calldataHash = keccak256(txList);
        }
        id = tail++;
        ForcedInclusion memory inclusion = ForcedInclusion({
            id: id,
            createdAtBlock: uint64(block.number),
            feePaid: uint128(msg.value),
            blobHash: blobHash,
            calldataHash: calldataHash
        });
        _queue[id] = inclusion;
        emit ForcedInclusionStored(id, inclusion, txList);
    }

    /// @notice Pops `count` inclusions for a batch. Reverts if an inclusion that is due would remain.
    function consume(uint16 count, address proposer) external returns (ForcedInclusion[] memory consumed) {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        uint64 first = head;
        uint256 available = tail - first;
        if (count > available) revert NotEnoughForcedInclusions(count, available);
        consumed = new ForcedInclusion[](count);
        uint256 fees;
        for (uint256 i; i < count; ++i) {
            uint64 id = first + uint64(i);
            consumed[i] = _queue[id];
            fees += consumed[i].feePaid;
            delete _queue[id];
        }
        uint64 newHead = first + count;
        head = newHead;
        if (newHead < tail && _isDue(_queue[newHead])) revert ForcedInclusionDue(newHead);
        if (fees != 0) claimableFees[proposer] += fees;
        if (count != 0) emit ForcedInclusionsConsumed(first, count, proposer);
    }

    function withdrawFees() external {
        uint256 amount = claimableFees[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        claimableFees[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert FeeTransferFailed();
        emit FeesWithdrawn(msg.sender, amount);
    }

    function getForcedInclusion(uint64 id) external view returns (ForcedInclusion memory) {
        return _queue[id];
    }

    function pendingCount() external view returns (uint256) {
        return tail - head;
    }

    /// @notice True when the oldest pending inclusion is due.
    function isOldestDue() external view returns (bool) {
        return head < tail && _isDue(_queue[head]);
    }

    function isStale() external view returns (bool) {
        if (head == tail) return false;
        return block.number >= uint256(_queue[head].createdAtBlock) + inclusionDelay + staleWindow;
    }

    function _isDue(ForcedInclusion storage inclusion) internal view returns (bool) {
        return block.number >= uint256(inclusion.createdAtBlock) + inclusionDelay;
    }

    function _setConfig(uint128 fee_, uint64 inclusionDelay_, uint64 staleWindow_, uint32 maxCalldataBytes_)
        internal
    {
        fee = fee_;
        inclusionDelay = inclusionDelay_;
        staleWindow = staleWindow_;
        maxCalldataBytes = maxCalldataBytes_;
        emit ForcedInclusionConfigSet(fee_, inclusionDelay_, staleWindow_, maxCalldataBytes_);
    }
}
