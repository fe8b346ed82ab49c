// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title Anchor
/// @notice L2 predeploy at ANCHOR_ADDRESS (0xca11000000000000000000000000000000000001, no proxy,
/// installed by genesis with empty storage). The first transaction of every L2 block is a system
/// call from SYSTEM_SENDER, an address nobody holds a key for, recording the block's L1 origin.
/// L1 state roots kept here are what L1->L2 messages are proven against.
contract Anchor {
    address public constant SYSTEM_SENDER = 0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE;

    uint64 public lastL1BlockNumber;
    uint64 public lastAnchoredL2Block;
    bytes32 public lastL1BlockHash;
    bytes32 public lastL1StateRoot;
    mapping(uint64 l1BlockNumber => bytes32) public l1BlockHashes;
    mapping(uint64 l1BlockNumber => bytes32) public l1StateRoots;

    event Anchored(uint64 indexed l1BlockNumber, bytes32 l1BlockHash, bytes32 l1StateRoot, bytes32 parentHash);

    error NotSystemSender(address caller);
    error AlreadyAnchored(uint256 l2BlockNumber);
    error ParentHashMismatch(bytes32 expected, bytes32 given);
    error L1OriginNotMonotonic(uint64 given, uint64 last);

    function anchor(uint64 l1BlockNumber, bytes32 l1BlockHash, bytes32 l1StateRoot, bytes32 parentHash) external {
        if (msg.sender != SYSTEM_SENDER) revert NotSystemSender(msg.sender);
        if (lastAnchoredL2Block == block.number) revert AlreadyAnchored(block.number);
        bytes32 expectedParent = blockhash(block.number - 1);
        if (parentHash != expectedParent) revert ParentHashMismatch(expectedParent, parentHash);
        if (l1BlockNumber < lastL1BlockNumber) revert L1OriginNotMonotonic(l1BlockNumber, lastL1BlockNumber);

        lastL1BlockNumber = l1BlockNumber;
        lastAnchoredL2Block = uint64(block.number);
        lastL1BlockHash = l1BlockHash;
        lastL1StateRoot = l1StateRoot;
        l1BlockHashes[l1BlockNumber] = l1BlockHash;
        l1StateRoots[l1BlockNumber] = l1StateRoot;
        emit Anchored(l1BlockNumber, l1BlockHash, l1StateRoot, parentHash);
    }
}
