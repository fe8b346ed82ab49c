// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {Vm} from "../base/Test.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";

contract InboxProposeTest is SuiteFixture {
    function test_proposeStoresMetaHashAndEmitsEverythingDerivationNeeds() public {
        vm.recordLogs();
        IInbox.BatchMeta memory meta = propose();
        bytes32 metaHash = keccak256(abi.encode(meta));

        assertEq(meta.batchId, 1, "first batch id");
        assertEq(meta.proposer, preconfer, "proposer");
        assertEq(meta.l1OriginNumber, block.number - 1, "l1 origin number");
        assertEq(meta.l1OriginHash, blockhash(block.number - 1), "l1 origin hash");
        assertEq(meta.anchorBlockId, block.number - 1, "anchor");
        assertEq(meta.firstBlockId, 1, "first L2 block");
        assertEq(meta.parentMetaHash, bytes32(0), "genesis parent meta hash");
        assertEq(meta.blobHashes.length, 1, "one blob");
        assertEq(meta.blobHashes[0], blobhash(0), "blob hash read with blobhash");
        assertEq(meta.blocks.length, 2, "blocks");
        assertEq(inbox.getBatchMetaHash(1), metaHash, "stored meta hash");

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], IInbox.BatchProposed.selector, "event");
        assertEq(logs[0].topics[1], bytes32(uint256(1)), "batch id topic");
        assertEq(logs[0].topics[2], metaHash, "meta hash topic");
        IInbox.BatchMeta memory emitted = abi.decode(logs[0].data, (IInbox.BatchMeta));
        assertEq(keccak256(abi.encode(emitted)), metaHash, "event carries the hashed meta");

        IInbox.State memory state = inbox.getState();
        assertEq(state.nextBatchId, 2, "next id");
        assertEq(state.lastBlockId, 2, "last L2 block");
        assertEq(state.lastMetaHash, metaHash, "last meta hash");
    }

    function test_secondBatchChainsParentMetaHashAndBlockIds() public {
        IInbox.BatchMeta memory first = propose();
        nextBlock();
        IInbox.BatchMeta memory second = propose();
        assertEq(second.parentMetaHash, keccak256(abi.encode(first)), "parent meta hash");
        assertEq(second.firstBlockId, 3, "block ids continue");
    }

    function test_rejectsProposerOutsideWhitelist() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        expectProposeRevert(stranger, params, abi.encodeWithSelector(IInbox.ProposerNotAllowed.selector, stranger));
    }

    function test_anyoneMayProposeAfterFallbackWindowWithoutBatch() public {
        vm.roll(block.number + FALLBACK_WINDOW + 1);
        assertTrue(inbox.canPropose(stranger), "fallback open");
        IInbox.ProposeParams memory params = proposeParams(1);
        proposeAs(stranger, params);
        assertTrue(!inbox.canPropose(stranger), "a new batch closes the fallback");
    }

    function test_fallbackStaysClosedInsideWindow() public {
        vm.roll(block.number + FALLBACK_WINDOW);
        assertTrue(!inbox.canPropose(stranger), "window not yet passed");
    }

    function test_anyoneMayProposeInBasedMode() public {
        IInbox.Config memory config = defaultConfig();
        config.basedMode = true;
        vm.prank(owner);
        inbox.setConfig(config);
        IInbox.ProposeParams memory params = proposeParams(1);
        proposeAs(stranger, params);
        assertEq(inbox.getState().nextBatchId, 2, "proposed");
    }

    function test_onlyTheCurrentEpochsPreconferMayPropose() public {
        address second = address(0xB0B2);
        vm.prank(owner);
        whitelist.addOperator(second);
        uint256 epochStart = (block.number / EPOCH_LENGTH + 1) * EPOCH_LENGTH;
        // Epoch e belongs to operators[e % 2]: find an epoch owned by `second`.
        if (whitelist.operatorAt(epochStart) != second) epochStart += EPOCH_LENGTH;
        vm.roll(epochStart);
        assertEq(whitelist.currentOperator(), second, "rotation");

        IInbox.ProposeParams memory params = proposeParams(1);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.ProposerNotAllowed.selector, preconfer));
        proposeAs(second, params);
    }

    function test_rejectsStaleParentMetaHash() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.parentMetaHash = keccak256("someone else's batch");
        expectProposeRevert(preconfer, params, 
            abi.encodeWithSelector(IInbox.ParentMetaHashMismatch.selector, bytes32(0), params.parentMetaHash)
        );
    }

    function test_rejectsBatchWithoutBlocks() public {
        IInbox.ProposeParams memory params = proposeParams(0);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.NoBlocks.selector));
    }

    function test_rejectsTooManyBlocks() public {
        IInbox.ProposeParams memory params = proposeParams(MAX_BLOCKS + 1);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.TooManyBlocks.selector, MAX_BLOCKS + 1, MAX_BLOCKS));
    }

    function test_acceptsMaxBlocksAndMaxBlobs() public {
        IInbox.ProposeParams memory params = proposeParams(MAX_BLOCKS);
        params.numBlobs = 6;
        IInbox.BatchMeta memory meta = proposeAs(preconfer, params);
        assertEq(meta.blobHashes.length, 6, "six blobs");
        assertEq(meta.blocks.length, MAX_BLOCKS, "max blocks");
    }

    function test_rejectsZeroBlobs() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numBlobs = 0;
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.BlobCountOutOfRange.selector, 0, 6));
    }

    function test_rejectsMoreBlobsThanAllowed() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numBlobs = 7;
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.BlobCountOutOfRange.selector, 7, 6));
    }

    function test_rejectsBlobCountBeyondTheTransactionsBlobs() public {
        setBlobs(2);
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numBlobs = 3;
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.BlobNotFound.selector, 2));
    }

    function test_rejectsDecreasingTimestampsWithinBatch() public {
        IInbox.ProposeParams memory params = proposeParams(3);
        params.blocks[2].timestamp = params.blocks[1].timestamp - 1;
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.TimestampNotMonotonic.selector, 2));
    }

    function test_rejectsTimestampBeforePreviousBatch() public {
        propose();
        nextBlock();
        IInbox.ProposeParams memory params = proposeParams(1);
        params.blocks[0].timestamp = uint64(block.timestamp - 13);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.TimestampNotMonotonic.selector, 0));
    }

    function test_rejectsTimestampInTheFuture() public {
        IInbox.ProposeParams memory params = proposeParams(2);
        params.blocks[1].timestamp = uint64(block.timestamp + 1);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.TimestampInFuture.selector, 1));
    }

    function test_rejectsAnchorBlockOlderThanWindow() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.anchorBlockId = uint64(block.number - ANCHOR_WINDOW - 1);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.AnchorBlockOutOfWindow.selector, params.anchorBlockId));
    }

    function test_acceptsAnchorBlockAtWindowEdge() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.anchorBlockId = uint64(block.number - ANCHOR_WINDOW);
        IInbox.BatchMeta memory meta = proposeAs(preconfer, params);
        assertEq(meta.anchorBlockHash, blockhash(params.anchorBlockId), "anchor hash");
    }

    function test_rejectsCurrentBlockAsAnchor() public {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.anchorBlockId = uint64(block.number);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.AnchorBlockOutOfWindow.selector, params.anchorBlockId));
    }

    function test_rejectsAnchorBlockBeforePreviousBatchsAnchor() public {
        propose();
        nextBlock();
        IInbox.ProposeParams memory params = proposeParams(1);
        uint64 previous = inbox.getState().lastAnchorBlockId;
        params.anchorBlockId = previous - 1;
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.AnchorBlockNotMonotonic.selector, previous - 1, previous));
    }

    function test_rejectsProposalWhenRingBufferIsFull() public {
        for (uint256 i = 1; i < RING_SIZE; ++i) {
            propose();
            nextBlock();
        }
        IInbox.ProposeParams memory params = proposeParams(1);
        expectProposeRevert(preconfer, params, abi.encodeWithSelector(IInbox.RingBufferFull.selector, 0));

        proveOne(1, canonicalTransition(1));
        proposeAs(preconfer, params);
        assertEq(inbox.getState().nextBatchId, RING_SIZE + 1, "room after verification");
    }
}
