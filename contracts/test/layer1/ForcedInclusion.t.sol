// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";
import {IForcedInclusionStore} from "../../src/layer1/iface/IForcedInclusionStore.sol";
import {EssentialContract} from "../../src/shared/EssentialContract.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract ForcedInclusionTest is SuiteFixture {
    address internal user = address(0x05E2);

    function setUp() public override {
        super.setUp();
        vm.deal(user, 10 ether);
    }

    function storeCalldata(bytes memory txList) internal returns (uint64) {
        vm.prank(user);
        return store.storeForcedInclusion{value: FI_FEE}(txList);
    }

    function proposeWithForced(uint16 count) internal returns (IInbox.BatchMeta memory) {
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numForcedInclusions = count;
        return proposeAs(preconfer, params);
    }

    function test_storesCalldataInclusionWithItsHash() public {
        uint64 id = storeCalldata(hex"c0ffee");
        IForcedInclusionStore.ForcedInclusion memory fi = store.getForcedInclusion(id);
        assertEq(fi.calldataHash, keccak256(hex"c0ffee"), "calldata hash");
        assertEq(fi.blobHash, bytes32(0), "no blob");
        assertEq(fi.createdAtBlock, block.number, "created at");
        assertEq(store.pendingCount(), 1, "queued");
    }

    function test_storesBlobInclusionWhenCalldataIsEmpty() public {
        setBlobs(1);
        vm.prank(user);
        uint64 id = store.storeForcedInclusion{value: FI_FEE}("");
        assertEq(store.getForcedInclusion(id).blobHash, blobhash(0), "blob hash");
    }

    function test_rejectsBlobInclusionWithoutBlob() public {
        vm.expectRevert(abi.encodeWithSelector(IForcedInclusionStore.BlobNotFound.selector, 0));
        vm.prank(user);
        store.storeForcedInclusion{value: FI_FEE}("");
    }

    function test_rejectsWrongFee() public {
        vm.expectRevert(abi.encodeWithSelector(IForcedInclusionStore.IncorrectFee.selector, 1, FI_FEE));
        vm.prank(user);
        store.storeForcedInclusion{value: 1}(hex"01");
    }

    function test_rejectsOversizedCalldata() public {
        bytes memory big = new bytes(FI_MAX_CALLDATA + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IForcedInclusionStore.CalldataTooLarge.selector, FI_MAX_CALLDATA + 1, FI_MAX_CALLDATA)
        );
        vm.prank(user);
        store.storeForcedInclusion{value: FI_FEE}(big);
    }

    function test_proposalConsumesInclusionsOldestFirstAndCreditsTheFee() public {
        storeCalldata(hex"01");
        storeCalldata(hex"02");
        IInbox.BatchMeta memory meta = proposeWithForced(2);
        assertEq(meta.forcedInclusions.length, 2, "consumed two");
        assertEq(meta.forcedInclusions[0].id, 0, "oldest first");
        assertEq(meta.forcedInclusions[1].calldataHash, keccak256(hex"02"), "second");
        assertEq(store.pendingCount(), 0, "queue empty");
        assertEq(store.claimableFees(preconfer), 2 * FI_FEE, "fees credited");

        uint256 before = preconfer.balance;
        vm.prank(preconfer);
        store.withdrawFees();
        assertEq(preconfer.balance - before, 2 * FI_FEE, "fees paid out");
    }

    function test_withdrawWithNothingOwedReverts() public {
        vm.expectRevert(IForcedInclusionStore.NothingToWithdraw.selector);
        vm.prank(preconfer);
        store.withdrawFees();
    }

    function test_rejectsProposalThatSkipsADueInclusion() public {
        storeCalldata(hex"01");
        vm.roll(block.number + FI_DELAY);
        IInbox.ProposeParams memory params = proposeParams(1);
        expectProposeRevert(
            preconfer, params, abi.encodeWithSelector(IForcedInclusionStore.ForcedInclusionDue.selector, 0)
        );
    }

    function test_rejectsProposalThatConsumesOnlySomeDueInclusions() public {
        storeCalldata(hex"01");
        storeCalldata(hex"02");
        vm.roll(block.number + FI_DELAY);
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numForcedInclusions = 1;
        expectProposeRevert(
            preconfer, params, abi.encodeWithSelector(IForcedInclusionStore.ForcedInclusionDue.selector, 1)
        );
    }

    function test_mayLeaveInclusionsThatAreNotYetDue() public {
        storeCalldata(hex"01");
        vm.roll(block.number + FI_DELAY - 1);
        IInbox.BatchMeta memory meta = proposeWithForced(0);
        assertEq(meta.forcedInclusions.length, 0, "nothing consumed");
        assertEq(store.pendingCount(), 1, "still queued");
    }

    function test_rejectsConsumingMoreThanQueued() public {
        storeCalldata(hex"01");
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numForcedInclusions = 2;
        expectProposeRevert(
            preconfer, params, abi.encodeWithSelector(IForcedInclusionStore.NotEnoughForcedInclusions.selector, 2, 1)
        );
    }

    function test_staleQueueMakesProposingPermissionless() public {
        storeCalldata(hex"01");
        vm.roll(block.number + FI_DELAY + FI_STALE - 1);
        assertTrue(!inbox.canPropose(stranger), "not stale yet");
        vm.roll(block.number + 1);
        assertTrue(store.isStale(), "stale");
        assertTrue(inbox.canPropose(stranger), "anyone may propose");
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numForcedInclusions = 1;
        IInbox.BatchMeta memory meta = proposeAs(stranger, params);
        assertEq(meta.forcedInclusions.length, 1, "stranger included it");
        assertTrue(!store.isStale(), "queue drained");
    }

    function test_onlyTheInboxConsumes() public {
        vm.expectRevert(abi.encodeWithSelector(IForcedInclusionStore.NotInbox.selector, stranger));
        vm.prank(stranger);
        store.consume(0, stranger);
    }

    function test_inboxIsSetOnlyOnce() public {
        vm.expectRevert(IForcedInclusionStore.InboxAlreadySet.selector);
        vm.prank(owner);
        store.setInbox(stranger);
    }

    function test_setConfigIsOwnerOnly() public {
        vm.expectRevert(abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        store.setConfig(0, 1, 1, 1);
        vm.prank(owner);
        store.setConfig(0, 1, 1, 1);
        assertEq(store.fee(), 0, "fee updated");
    }

    function test_feeWithdrawalToAContractThatRefusesEtherReverts() public {
        IInbox.Config memory config = defaultConfig();
        config.basedMode = true;
        vm.prank(owner);
        inbox.setConfig(config);
        storeCalldata(hex"01");
        EtherRefusingProposer refuser = new EtherRefusingProposer();
        IInbox.ProposeParams memory params = proposeParams(1);
        params.numForcedInclusions = 1;
        setBlobs(1);
        refuser.propose(inbox, params);
        assertEq(store.claimableFees(address(refuser)), FI_FEE, "fee credited to the contract");
        vm.expectRevert(IForcedInclusionStore.FeeTransferFailed.selector);
        refuser.withdraw(store);
        assertEq(store.claimableFees(address(refuser)), FI_FEE, "credit kept after the failed transfer");
    }

    function test_setInboxIsOwnerOnlyAndRejectsZero() public {
        ForcedInclusionStore_fresh fresh = new ForcedInclusionStore_fresh();
        fresh.check(owner, stranger);
    }
}

import {ForcedInclusionStore} from "../../src/layer1/impl/ForcedInclusionStore.sol";
import {CairnProxy} from "../../src/shared/CairnProxy.sol";
import {Test} from "../base/Test.sol";

/// @dev A proposer without a receive function, so fee payouts to it fail.
contract EtherRefusingProposer {
    function propose(IInbox inbox, IInbox.ProposeParams calldata params) external {
        inbox.proposeBatch(params);
    }

    function withdraw(ForcedInclusionStore store) external {
        store.withdrawFees();
    }
}

/// @dev A store with no inbox yet, to reach setInbox's own checks.
contract ForcedInclusionStore_fresh is Test {
    function check(address owner, address stranger) external {
        ForcedInclusionStore fresh = ForcedInclusionStore(
            address(
                new CairnProxy(
                    address(new ForcedInclusionStore()), abi.encodeCall(ForcedInclusionStore.initialize, (owner, 0, 1, 1, 1))
                )
            )
        );
        vm.expectRevert(abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        fresh.setInbox(stranger);
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        vm.prank(owner);
        fresh.setInbox(address(0));
    }
}
