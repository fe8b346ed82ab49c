// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {IPreconfWhitelist} from "../../src/layer1/iface/IPreconfWhitelist.sol";
import {EssentialContract} from "../../src/shared/EssentialContract.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract PreconfWhitelistTest is SuiteFixture {
    address internal a = address(0xA);
    address internal b = address(0xB);

    function test_rotatesThroughOperatorsByEpoch() public {
        vm.startPrank(owner);
        whitelist.addOperator(a);
        whitelist.addOperator(b);
        vm.stopPrank();
        // operators = [preconfer, a, b]
        assertEq(whitelist.operatorAt(0), preconfer, "epoch 0");
        assertEq(whitelist.operatorAt(EPOCH_LENGTH - 1), preconfer, "end of epoch 0");
        assertEq(whitelist.operatorAt(EPOCH_LENGTH), a, "epoch 1");
        assertEq(whitelist.operatorAt(2 * EPOCH_LENGTH), b, "epoch 2");
        assertEq(whitelist.operatorAt(3 * EPOCH_LENGTH), preconfer, "wraps");
    }

    function test_removalMovesTheLastOperatorIntoTheGap() public {
        vm.startPrank(owner);
        whitelist.addOperator(a);
        whitelist.addOperator(b);
        whitelist.removeOperator(preconfer);
        vm.stopPrank();
        assertEq(whitelist.operatorAt(0), b, "b took slot 0");
        assertEq(whitelist.operatorAt(EPOCH_LENGTH), a, "a keeps slot 1");
        assertTrue(!whitelist.isOperator(preconfer), "removed");
    }

    function test_emptyWhitelistHasNoOperator() public {
        vm.prank(owner);
        whitelist.removeOperator(preconfer);
        assertEq(whitelist.currentOperator(), address(0), "nobody");
        assertTrue(!inbox.canPropose(preconfer), "only the fallback remains");
    }

    function test_rejectsDuplicateUnknownAndZeroOperators() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPreconfWhitelist.OperatorAlreadyAdded.selector, preconfer));
        whitelist.addOperator(preconfer);
        vm.expectRevert(abi.encodeWithSelector(IPreconfWhitelist.OperatorNotFound.selector, a));
        whitelist.removeOperator(a);
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        whitelist.addOperator(address(0));
        vm.expectRevert(IPreconfWhitelist.InvalidEpochLength.selector);
        whitelist.setEpochLength(0);
        vm.stopPrank();
    }

    function test_managementIsOwnerOnly() public {
        bytes memory unauthorized =
            abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        whitelist.addOperator(a);
        vm.expectRevert(unauthorized);
        whitelist.removeOperator(preconfer);
        vm.expectRevert(unauthorized);
        whitelist.setEpochLength(1);
        vm.stopPrank();
    }
}
