// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";

contract InboxFuzzTest is SuiteFixture {
    /// Proposes well past the ring size while proving with a random lag; every live batch keeps the
    /// meta hash it was proposed with, evicted ids are gone, and the head never runs ahead of the ring.
    function testFuzz_ringBufferWrapKeepsLiveBatchesAndEvictsOldOnes(uint256 seed, uint8 rounds) public {
        uint256 total = bound(rounds, RING_SIZE * 2, RING_SIZE * 5);
        bytes32[] memory metaHashes = new bytes32[](total + 1);
        uint64 proven; // highest batch id proven (and so verified) so far
        for (uint64 id = 1; id <= total; ++id) {
            IInbox.State memory state = inbox.getState();
            if (state.nextBatchId - state.lastVerifiedBatchId >= RING_SIZE) {
                proveOne(proven + 1, canonicalTransition(proven + 1));
                ++proven;
            }
            metaHashes[id] = keccak256(abi.encode(propose()));
            nextBlock();
            // Randomly prove a few more batches in order.
            uint256 lag = uint256(keccak256(abi.encode(seed, id))) % RING_SIZE;
            while (proven + lag < id) {
                proveOne(proven + 1, canonicalTransition(proven + 1));
                ++proven;
            }
            state = inbox.getState();
            assertTrue(state.nextBatchId - state.lastVerifiedBatchId <= RING_SIZE, "ring bound");
            assertEq(state.lastVerifiedBatchId, proven, "verified follows proofs");
        }
        IInbox.State memory end = inbox.getState();
        for (uint64 id = end.lastVerifiedBatchId + 1; id <= total; ++id) {
            assertEq(inbox.getBatchMetaHash(id), metaHashes[id], "live batch meta hash");
        }
        uint64 evicted = uint64(total) - RING_SIZE;
        vm.expectRevert(abi.encodeWithSelector(IInbox.BatchNotFound.selector, evicted));
        inbox.getBatchMetaHash(evicted);
    }

    /// A transition recorded for batch k stays in its ring slot after k is verified; batch
    /// k + RING_SIZE reuses the slot and must not pick it up even when the parent hash matches.
    function testFuzz_staleTransitionInReusedSlotIsIgnored(uint8 k) public {
        uint64 batch = uint64(bound(k, 1, RING_SIZE - 1));
        uint64 later = batch + RING_SIZE;
        bytes32 laterParent = canonicalTransition(later - 1).blockHash;
        for (uint64 id = 1; id <= later; ++id) {
            if (id > RING_SIZE - 1) {
                uint64 next = inbox.getState().lastVerifiedBatchId + 1;
                proveOne(next, canonicalTransition(next));
            }
            propose();
            nextBlock();
            if (id == batch) proveOne(batch, transitionFor(batch, laterParent));
        }
        while (inbox.getState().lastVerifiedBatchId < later - 1) {
            uint64 next = inbox.getState().lastVerifiedBatchId + 1;
            proveOne(next, canonicalTransition(next));
        }
        assertEq(inbox.getTransition(later, laterParent).batchId, 0, "no transition for the later batch");
        inbox.verifyBatches(1);
        assertEq(inbox.getState().lastVerifiedBatchId, later - 1, "stale entry does not verify");
        proveOne(later, canonicalTransition(later));
        assertEq(inbox.getState().lastVerifiedBatchId, later, "its own proof does");
    }

    /// Batches proven in any order verify exactly up to the longest proven prefix.
    function testFuzz_verificationAdvancesInOrderWhateverTheProvingOrder(uint256 seed) public {
        uint64 count = RING_SIZE - 1;
        for (uint64 i; i < count; ++i) {
            propose();
            nextBlock();
        }
        uint64[] memory order = new uint64[](count);
        for (uint64 i; i < count; ++i) {
            order[i] = i + 1;
        }
        for (uint256 i = count - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        bool[] memory proven = new bool[](count + 1);
        for (uint256 i; i < count; ++i) {
            proveOne(order[i], canonicalTransition(order[i]));
            proven[order[i]] = true;
            uint64 prefix;
            while (prefix < count && proven[prefix + 1]) ++prefix;
            assertEq(inbox.getState().lastVerifiedBatchId, prefix, "verified head = proven prefix");
        }
        IInbox.Transition memory last = canonicalTransition(count);
        assertEq(inbox.getState().lastVerifiedBlockHash, last.blockHash, "head block hash");
        assertEq(inbox.getCheckpoint(count * 2).stateRoot, last.stateRoot, "checkpoint of last L2 block");
    }
}
