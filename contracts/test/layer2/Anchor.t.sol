// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "../base/Test.sol";
import {Anchor} from "../../src/layer2/Anchor.sol";

contract AnchorTest is Test {
    address internal constant SYSTEM = 0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE;
    Anchor internal anchor;

    function setUp() public {
        anchor = new Anchor();
        vm.roll(100);
    }

    function callAnchor(uint64 l1Number, bytes32 parentHash) internal {
        vm.prank(SYSTEM);
        anchor.anchor(l1Number, keccak256(abi.encode("l1 block", l1Number)), keccak256(abi.encode("l1 state", l1Number)), parentHash);
    }

    function test_recordsTheL1OriginAndItsStateRoot() public {
        callAnchor(5000, blockhash(block.number - 1));
        assertEq(anchor.lastL1BlockNumber(), 5000, "number");
        assertEq(anchor.lastL1BlockHash(), keccak256(abi.encode("l1 block", uint64(5000))), "hash");
        assertEq(anchor.l1StateRoots(5000), keccak256(abi.encode("l1 state", uint64(5000))), "state root by number");
        assertEq(anchor.l1BlockHashes(5000), anchor.lastL1BlockHash(), "hash by number");
        assertEq(anchor.lastAnchoredL2Block(), 100, "L2 block");
    }

    function test_systemSenderConstantIsTheDocumentedAddress() public view {
        assertEq(anchor.SYSTEM_SENDER(), SYSTEM, "system sender");
    }

    function test_rejectsAnyOtherSender() public {
        bytes32 parent = blockhash(block.number - 1);
        vm.expectRevert(abi.encodeWithSelector(Anchor.NotSystemSender.selector, address(this)));
        anchor.anchor(1, bytes32(0), bytes32(0), parent);
    }

    function test_rejectsWrongParentHash() public {
        bytes32 expected = blockhash(block.number - 1);
        vm.expectRevert(abi.encodeWithSelector(Anchor.ParentHashMismatch.selector, expected, keccak256("bad")));
        callAnchor(1, keccak256("bad"));
    }

    function test_rejectsASecondAnchorInTheSameBlock() public {
        callAnchor(10, blockhash(block.number - 1));
        bytes32 parent = blockhash(block.number - 1);
        vm.expectRevert(abi.encodeWithSelector(Anchor.AlreadyAnchored.selector, 100));
        callAnchor(11, parent);
    }

    function test_rejectsGoingBackInL1() public {
        callAnchor(10, blockhash(block.number - 1));
        vm.roll(101);
        bytes32 parent = blockhash(block.number - 1);
        vm.expectRevert(abi.encodeWithSelector(Anchor.L1OriginNotMonotonic.selector, 9, 10));
        callAnchor(9, parent);
    }

    function test_acceptsTheSameL1OriginInConsecutiveBlocks() public {
        callAnchor(10, blockhash(block.number - 1));
        vm.roll(101);
        callAnchor(10, blockhash(block.number - 1));
        assertEq(anchor.lastAnchoredL2Block(), 101, "anchored again");
    }
}
