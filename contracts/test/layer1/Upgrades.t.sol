// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {CairnTimelock} from "../../src/layer1/impl/CairnTimelock.sol";
import {Inbox} from "../../src/layer1/impl/Inbox.sol";
import {EssentialContract} from "../../src/shared/EssentialContract.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {ERC1967Utils} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Utils.sol";

/// @notice A new implementation carrying a marker, to observe that an upgrade happened.
contract InboxV2 is Inbox {
    function version() external pure returns (uint256) {
        return 2;
    }
}

contract UpgradesTest is SuiteFixture {
    uint256 internal constant DELAY = 2 days;
    CairnTimelock internal timelock;
    address internal multisig = address(0x5AFE);

    function setUp() public override {
        super.setUp();
        address[] memory members = new address[](1);
        members[0] = multisig;
        timelock = new CairnTimelock(DELAY, members, members);
        vm.prank(owner);
        inbox.transferOwnership(address(timelock));
    }

    function upgradeCall(address impl) internal view returns (bytes memory) {
        return abi.encodeCall(inbox.upgradeToAndCall, (impl, ""));
    }

    function implementationOf(address proxy) internal view returns (address) {
        return address(uint160(uint256(vm.load(proxy, ERC1967Utils.IMPLEMENTATION_SLOT))));
    }

    function test_upgradeWaitsOutTheDelay() public {
        address impl = address(new InboxV2());
        bytes memory data = upgradeCall(impl);
        vm.prank(multisig);
        timelock.schedule(address(inbox), 0, data, 0, 0, DELAY);

        bytes32 id = timelock.hashOperation(address(inbox), 0, data, 0, 0);
        vm.warp(block.timestamp + DELAY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector, id, bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        vm.prank(multisig);
        timelock.execute(address(inbox), 0, data, 0, 0);

        vm.warp(block.timestamp + 1);
        vm.prank(multisig);
        timelock.execute(address(inbox), 0, data, 0, 0);
        assertEq(implementationOf(address(inbox)), impl, "upgraded");
        assertEq(InboxV2(address(inbox)).version(), 2, "new code live");
        assertEq(inbox.getState().nextBatchId, 1, "state kept");
    }

    function test_cannotScheduleShorterThanTheMinimumDelay() public {
        bytes memory data = upgradeCall(address(new InboxV2()));
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockInsufficientDelay.selector, DELAY - 1, DELAY));
        vm.prank(multisig);
        timelock.schedule(address(inbox), 0, data, 0, 0, DELAY - 1);
    }

    function test_noDirectUpgradeEvenForTheTimelockMembers() public {
        address impl = address(new InboxV2());
        vm.expectRevert(abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, multisig));
        vm.prank(multisig);
        inbox.upgradeToAndCall(impl, "");
        vm.expectRevert(abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        inbox.upgradeToAndCall(impl, "");
    }

    function test_timelockDelayCanOnlyChangeThroughItself() public {
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockUnauthorizedCaller.selector, multisig));
        vm.prank(multisig);
        timelock.updateDelay(0);
    }

    function test_timelockHasNoAdminThatCouldGrantRoles() public {
        bytes32 adminRole = timelock.DEFAULT_ADMIN_ROLE();
        assertTrue(timelock.hasRole(adminRole, address(timelock)), "timelock administers itself");
        assertTrue(!timelock.hasRole(adminRole, multisig), "member is not admin");
        bytes32 proposerRole = timelock.PROPOSER_ROLE();
        vm.expectRevert();
        vm.prank(multisig);
        timelock.grantRole(proposerRole, stranger);
    }

    function test_outsidersCannotSchedule() public {
        bytes memory data = upgradeCall(address(new InboxV2()));
        vm.expectRevert();
        vm.prank(stranger);
        timelock.schedule(address(inbox), 0, data, 0, 0, DELAY);
    }

    function test_ownerFunctionsGoThroughTheTimelock() public {
        bytes memory data = abi.encodeCall(inbox.setVerifier, (address(0xC0DE)));
        vm.prank(multisig);
        timelock.schedule(address(inbox), 0, data, 0, 0, DELAY);
        vm.warp(block.timestamp + DELAY);
        vm.prank(multisig);
        timelock.execute(address(inbox), 0, data, 0, 0);
        assertEq(address(inbox.verifier()), address(0xC0DE), "set via timelock");
    }

    function test_ownershipCannotBeRenouncedEvenByTheTimelock() public {
        vm.expectRevert(EssentialContract.RenounceOwnershipDisabled.selector);
        vm.prank(address(timelock));
        inbox.renounceOwnership();
        assertEq(inbox.owner(), address(timelock), "still owned");
    }

    function test_implementationRejectsUpgradeCallsNotThroughItsProxy() public {
        Inbox impl = Inbox(implementationOf(address(inbox)));
        address next = address(new InboxV2());
        vm.expectRevert();
        impl.upgradeToAndCall(next, "");
    }
}
