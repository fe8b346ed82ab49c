// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {ComposeVerifier} from "../../src/layer1/impl/ComposeVerifier.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract ComposeVerifierTest is SuiteFixture {
    bytes32 internal constant INPUT = keccak256("public input");
    MockVerifier internal zk;

    function setUp() public override {
        super.setUp();
        zk = new MockVerifier();
        vm.startPrank(owner);
        compose.setVerifier(compose.ZK_CIRCUIT(), address(zk));
        compose.setVerifier(compose.ZKVM(), address(zk));
        vm.stopPrank();
    }

    function sub(uint8 id, bytes memory p) internal pure returns (ComposeVerifier.SubProof memory) {
        return ComposeVerifier.SubProof(id, p);
    }

    function teeSub() internal view returns (ComposeVerifier.SubProof memory) {
        return sub(0, abi.encode(instance, signDigest(instanceKey, INPUT)));
    }

    function encode(ComposeVerifier.SubProof memory a) internal pure returns (bytes memory) {
        ComposeVerifier.SubProof[] memory s = new ComposeVerifier.SubProof[](1);
        s[0] = a;
        return abi.encode(s);
    }

    function encode(ComposeVerifier.SubProof memory a, ComposeVerifier.SubProof memory b)
        internal
        pure
        returns (bytes memory)
    {
        ComposeVerifier.SubProof[] memory s = new ComposeVerifier.SubProof[](2);
        s[0] = a;
        s[1] = b;
        return abi.encode(s);
    }

    function test_teeAloneSatisfiesDefaultPolicy() public view {
        compose.verifyProof(INPUT, encode(teeSub()));
    }

    function test_zkAloneIsInsufficientUnderTeePolicy() public {
        bytes memory p = encode(sub(1, abi.encode(INPUT)));
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.InsufficientProofs.selector, 2));
        compose.verifyProof(INPUT, p);
    }

    function test_requiresEveryTypeOfACombination() public {
        vm.startPrank(owner);
        compose.setSufficient(1, false);
        compose.setSufficient(3, true); // TEE + ZK_CIRCUIT
        vm.stopPrank();
        bytes memory teeOnly = encode(teeSub());
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.InsufficientProofs.selector, 1));
        compose.verifyProof(INPUT, teeOnly);
        compose.verifyProof(INPUT, encode(teeSub(), sub(1, abi.encode(INPUT))));
    }

    function test_supersetOfASufficientCombinationIsSufficient() public view {
        compose.verifyProof(INPUT, encode(teeSub(), sub(2, abi.encode(INPUT))));
    }

    function test_anInvalidSubProofFailsTheWhole() public {
        bytes memory p = encode(teeSub(), sub(2, abi.encode(keccak256("wrong"))));
        vm.expectRevert(MockVerifier.MockProofInvalid.selector);
        compose.verifyProof(INPUT, p);
    }

    function test_rejectsDuplicateOrUnorderedSubProofs() public {
        bytes memory duplicated = encode(teeSub(), teeSub());
        vm.expectRevert(ComposeVerifier.SubProofsNotOrdered.selector);
        compose.verifyProof(INPUT, duplicated);
        bytes memory unordered = encode(sub(1, abi.encode(INPUT)), teeSub());
        vm.expectRevert(ComposeVerifier.SubProofsNotOrdered.selector);
        compose.verifyProof(INPUT, unordered);
    }

    function test_rejectsUnknownVerifierId() public {
        bytes memory p = encode(sub(3, ""));
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.UnknownVerifier.selector, 3));
        compose.verifyProof(INPUT, p);
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.UnknownVerifier.selector, 3));
        vm.prank(owner);
        compose.setVerifier(3, address(zk));
    }

    function test_rejectsSubProofForUnsetVerifier() public {
        vm.prank(owner);
        compose.setVerifier(1, address(0));
        bytes memory p = encode(sub(1, abi.encode(INPUT)));
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.VerifierNotSet.selector, 1));
        compose.verifyProof(INPUT, p);
    }

    function test_rejectsEmptyProof() public {
        ComposeVerifier.SubProof[] memory none = new ComposeVerifier.SubProof[](0);
        bytes memory p = abi.encode(none);
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.InsufficientProofs.selector, 0));
        compose.verifyProof(INPUT, p);
    }

    function test_rejectsInvalidPolicyMask() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.InvalidMask.selector, 0));
        compose.setSufficient(0, true);
        vm.expectRevert(abi.encodeWithSelector(ComposeVerifier.InvalidMask.selector, 8));
        compose.setSufficient(8, true);
        vm.stopPrank();
    }

    function test_policyAndVerifiersAreOwnerOnly() public {
        bytes memory unauthorized =
            abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        compose.setSufficient(2, true);
        vm.expectRevert(unauthorized);
        compose.setVerifier(0, stranger);
        vm.stopPrank();
    }
}
