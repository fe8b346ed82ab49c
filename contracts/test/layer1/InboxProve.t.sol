// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";
import {Inbox} from "../../src/layer1/impl/Inbox.sol";
import {TeeVerifier} from "../../src/layer1/impl/TeeVerifier.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract InboxProveTest is SuiteFixture {
    function setUp() public override {
        super.setUp();
        for (uint256 i; i < 3; ++i) {
            propose();
            nextBlock();
        }
    }

    function test_provingBatchOneVerifiesItAndCheckpointsItsLastBlock() public {
        IInbox.Transition memory t = canonicalTransition(1);
        proveOne(1, t);
        IInbox.State memory state = inbox.getState();
        assertEq(state.lastVerifiedBatchId, 1, "verified head");
        assertEq(state.lastVerifiedBlockHash, t.blockHash, "verified block hash");
        IInbox.Checkpoint memory checkpoint = inbox.getCheckpoint(2);
        assertEq(checkpoint.blockHash, t.blockHash, "checkpoint block hash");
        assertEq(checkpoint.stateRoot, t.stateRoot, "checkpoint state root");
        assertEq(inbox.getTransition(1, GENESIS_HASH).prover, prover, "prover recorded");
    }

    function test_genesisIsVerifiedAtInitialization() public view {
        IInbox.Checkpoint memory checkpoint = inbox.getCheckpoint(0);
        assertEq(checkpoint.blockHash, GENESIS_HASH, "genesis hash");
        assertEq(checkpoint.stateRoot, GENESIS_ROOT, "genesis root");
        assertEq(inbox.getState().lastVerifiedBatchId, 0, "batch 0 verified");
    }

    function test_verificationWaitsForTheParentBatch() public {
        proveOne(2, canonicalTransition(2));
        assertEq(inbox.getState().lastVerifiedBatchId, 0, "batch 2 waits for batch 1");
        proveOne(1, canonicalTransition(1));
        assertEq(inbox.getState().lastVerifiedBatchId, 2, "both verified once batch 1 is proven");
        assertEq(inbox.getCheckpoint(4).stateRoot, canonicalTransition(2).stateRoot, "checkpoint of batch 2");
    }

    function test_transitionOnAnotherParentDoesNotVerify() public {
        proveOne(1, transitionFor(1, keccak256("not the genesis")));
        assertEq(inbox.getState().lastVerifiedBatchId, 0, "wrong parent is not on the verified chain");
        proveOne(1, canonicalTransition(1));
        assertEq(inbox.getState().lastVerifiedBatchId, 1, "canonical parent verifies");
    }

    function test_provesSeveralBatchesWithOneAggregatedProof() public {
        uint64[] memory ids = new uint64[](3);
        IInbox.Transition[] memory ts = new IInbox.Transition[](3);
        for (uint64 i; i < 3; ++i) {
            ids[i] = i + 1;
            ts[i] = canonicalTransition(i + 1);
        }
        prove(ids, ts);
        assertEq(inbox.getState().lastVerifiedBatchId, 3, "all three verified");
    }

    function test_verifyBatchesRespectsMaxCount() public {
        IInbox.Config memory config = defaultConfig();
        config.maxBatchesToVerify = 1;
        vm.prank(owner);
        inbox.setConfig(config);
        proveOne(2, canonicalTransition(2));
        proveOne(1, canonicalTransition(1));
        assertEq(inbox.getState().lastVerifiedBatchId, 1, "capped at one per prove");
        inbox.verifyBatches(5);
        assertEq(inbox.getState().lastVerifiedBatchId, 2, "anyone can continue verification");
    }

    function test_rejectsEmptyProof() public {
        vm.expectRevert(IInbox.NoBatchesToProve.selector);
        inbox.proveBatches(new uint64[](0), new IInbox.Transition[](0), "");
    }

    function test_rejectsMismatchedArrays() public {
        vm.expectRevert(IInbox.ArrayLengthMismatch.selector);
        inbox.proveBatches(new uint64[](2), new IInbox.Transition[](1), "");
    }

    function test_rejectsUnproposedBatch() public {
        uint64[] memory ids = new uint64[](1);
        ids[0] = 4;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = canonicalTransition(4);
        vm.expectRevert(abi.encodeWithSelector(IInbox.BatchNotFound.selector, 4));
        inbox.proveBatches(ids, ts, "");
    }

    function test_rejectsProvingVerifiedBatch() public {
        proveOne(1, canonicalTransition(1));
        uint64[] memory ids = new uint64[](1);
        ids[0] = 1;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = canonicalTransition(1);
        vm.expectRevert(abi.encodeWithSelector(IInbox.BatchAlreadyVerified.selector, 1));
        inbox.proveBatches(ids, ts, "");
        ids[0] = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.BatchAlreadyVerified.selector, 0));
        inbox.proveBatches(ids, ts, "");
    }

    function test_rejectsTransitionWithZeroField() public {
        uint64[] memory ids = new uint64[](1);
        ids[0] = 1;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = canonicalTransition(1);
        ts[0].stateRoot = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidTransition.selector, 1));
        inbox.proveBatches(ids, ts, "");
    }

    function test_rejectsProofMadeForAnotherProver() public {
        uint64[] memory ids = new uint64[](1);
        ids[0] = 1;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = canonicalTransition(1);
        bytes memory proof = teeProof(publicInputs(ids, ts, prover));
        vm.expectRevert(TeeVerifier.InvalidSignature.selector);
        vm.prank(stranger);
        inbox.proveBatches(ids, ts, proof);
    }

    function test_rejectsProofOfAnotherTransition() public {
        uint64[] memory ids = new uint64[](1);
        ids[0] = 1;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = canonicalTransition(1);
        bytes memory proof = teeProof(publicInputs(ids, ts, prover));
        ts[0].stateRoot = keccak256("forged state");
        vm.expectRevert(TeeVerifier.InvalidSignature.selector);
        vm.prank(prover);
        inbox.proveBatches(ids, ts, proof);
    }

    function test_identicalSecondProofIsANoOp() public {
        proveOne(2, canonicalTransition(2));
        proveOne(2, canonicalTransition(2));
        Inbox.TransitionState memory ts = inbox.getTransition(2, canonicalTransition(1).blockHash);
        assertTrue(!ts.contested, "not contested");
        assertEq(ts.blockHash, canonicalTransition(2).blockHash, "unchanged");
    }

    function test_conflictingTransitionContestsAndHaltsVerification() public {
        IInbox.Transition memory honest = canonicalTransition(2);
        IInbox.Transition memory rival = IInbox.Transition(honest.parentHash, honest.blockHash, keccak256("another state"));
        proveOne(2, honest);
        proveOne(2, rival);

        Inbox.TransitionState memory ts = inbox.getTransition(2, honest.parentHash);
        assertTrue(ts.contested, "contested");
        assertEq(ts.stateRoot, honest.stateRoot, "first transition kept");

        proveOne(1, canonicalTransition(1));
        proveOne(3, canonicalTransition(3));
        assertEq(inbox.getState().lastVerifiedBatchId, 1, "verification stops before the contested batch");

        vm.prank(owner);
        inbox.resolveContest(2, honest);
        inbox.verifyBatches(10);
        assertEq(inbox.getState().lastVerifiedBatchId, 3, "resumes after resolution");
    }

    function test_ownerMayResolveContestInFavourOfTheLaterTransition() public {
        IInbox.Transition memory first = canonicalTransition(2);
        IInbox.Transition memory second = IInbox.Transition(first.parentHash, keccak256("other block"), first.stateRoot);
        proveOne(2, first);
        proveOne(2, second);
        proveOne(1, canonicalTransition(1));
        assertEq(inbox.getState().lastVerifiedBatchId, 1, "halted at contested batch 2");
        vm.prank(owner);
        inbox.resolveContest(2, second);
        inbox.verifyBatches(1);
        assertEq(inbox.getState().lastVerifiedBlockHash, second.blockHash, "owner's choice verified");
    }

    function test_onlyOwnerResolvesContests() public {
        IInbox.Transition memory honest = canonicalTransition(2);
        IInbox.Transition memory rival = IInbox.Transition(honest.parentHash, keccak256("rival"), honest.stateRoot);
        proveOne(2, honest);
        proveOne(2, rival);
        vm.expectRevert(abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        inbox.resolveContest(2, honest);
    }

    function test_resolvingAnUncontestedTransitionReverts() public {
        proveOne(2, canonicalTransition(2));
        IInbox.Transition memory t = canonicalTransition(2);
        vm.expectRevert(abi.encodeWithSelector(IInbox.NotContested.selector, 2, t.parentHash));
        vm.prank(owner);
        inbox.resolveContest(2, t);
    }

    function test_resolutionMustNameAValidTransition() public {
        IInbox.Transition memory honest = canonicalTransition(2);
        IInbox.Transition memory rival = IInbox.Transition(honest.parentHash, keccak256("rival"), honest.stateRoot);
        proveOne(2, honest);
        proveOne(2, rival);
        rival.stateRoot = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidTransition.selector, 2));
        vm.prank(owner);
        inbox.resolveContest(2, rival);
    }
}
