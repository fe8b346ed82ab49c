// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {TeeVerifier} from "../../src/layer1/impl/TeeVerifier.sol";
import {IAttestationVerifier} from "../../src/layer1/iface/IAttestationVerifier.sol";
import {EssentialContract} from "../../src/shared/EssentialContract.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract TeeVerifierTest is SuiteFixture {
    uint256 internal newKey = 0xE2;
    address internal newInstance;

    function setUp() public override {
        super.setUp();
        newInstance = vm.addr(newKey);
    }

    function quote(uint256 signerKey, address who, uint64 expiry) internal view returns (bytes memory) {
        return signDigest(signerKey, attestation.attestationDigest(who, expiry));
    }

    function proof(uint256 key, address who, bytes32 input) internal pure returns (bytes memory) {
        return abi.encode(who, signDigest(key, input));
    }

    function test_registersInstanceWithAuthoritySignedQuote() public {
        uint64 expiry = uint64(block.timestamp + 1 hours);
        tee.registerInstance(newInstance, expiry, quote(authorityKey, newInstance, expiry));
        assertEq(tee.instanceExpiry(newInstance), expiry, "registered");
        tee.verifyProof(keccak256("input"), proof(newKey, newInstance, keccak256("input")));
    }

    function test_rejectsQuoteSignedByAnotherKey() public {
        uint64 expiry = uint64(block.timestamp + 1 hours);
        bytes memory badQuote = quote(0xBADBAD, newInstance, expiry);
        vm.expectRevert(IAttestationVerifier.InvalidQuote.selector);
        tee.registerInstance(newInstance, expiry, badQuote);
    }

    function test_rejectsQuoteForAnotherExpiry() public {
        uint64 expiry = uint64(block.timestamp + 1 hours);
        bytes memory q = quote(authorityKey, newInstance, expiry);
        vm.expectRevert(IAttestationVerifier.InvalidQuote.selector);
        tee.registerInstance(newInstance, expiry + 1, q);
    }

    function test_rejectsMalformedQuote() public {
        vm.expectRevert(IAttestationVerifier.InvalidQuote.selector);
        tee.registerInstance(newInstance, uint64(block.timestamp + 1), hex"1234");
    }

    function test_rejectsExpiryInThePast() public {
        uint64 expiry = uint64(block.timestamp);
        bytes memory q = quote(authorityKey, newInstance, expiry);
        vm.expectRevert(abi.encodeWithSelector(TeeVerifier.InstanceExpiryInPast.selector, expiry));
        tee.registerInstance(newInstance, expiry, q);
    }

    function test_rejectsExpiryBeyondMaxValidity() public {
        uint64 expiry = uint64(block.timestamp + 30 days + 1);
        bytes memory q = quote(authorityKey, newInstance, expiry);
        vm.expectRevert(
            abi.encodeWithSelector(TeeVerifier.InstanceExpiryTooFar.selector, expiry, block.timestamp + 30 days)
        );
        tee.registerInstance(newInstance, expiry, q);
    }

    function test_rejectsZeroInstance() public {
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        tee.registerInstance(address(0), uint64(block.timestamp + 1), "");
    }

    function test_rejectsProofFromUnregisteredInstance() public {
        bytes memory p = proof(newKey, newInstance, keccak256("input"));
        vm.expectRevert(abi.encodeWithSelector(TeeVerifier.InstanceNotRegistered.selector, newInstance));
        tee.verifyProof(keccak256("input"), p);
    }

    function test_rejectsProofFromExpiredInstance() public {
        uint64 expiry = tee.instanceExpiry(instance);
        vm.warp(expiry);
        bytes memory p = proof(instanceKey, instance, keccak256("input"));
        vm.expectRevert(abi.encodeWithSelector(TeeVerifier.InstanceExpired.selector, instance, expiry));
        tee.verifyProof(keccak256("input"), p);
    }

    function test_rejectsSignatureByAnotherKey() public {
        bytes memory p = proof(newKey, instance, keccak256("input"));
        vm.expectRevert(TeeVerifier.InvalidSignature.selector);
        tee.verifyProof(keccak256("input"), p);
    }

    function test_rejectsMalformedSignature() public {
        bytes memory p = abi.encode(instance, hex"00");
        vm.expectRevert(TeeVerifier.InvalidSignature.selector);
        tee.verifyProof(keccak256("input"), p);
    }

    function test_ownerRevokesInstance() public {
        vm.prank(owner);
        tee.revokeInstance(instance);
        bytes memory p = proof(instanceKey, instance, keccak256("input"));
        vm.expectRevert(abi.encodeWithSelector(TeeVerifier.InstanceNotRegistered.selector, instance));
        tee.verifyProof(keccak256("input"), p);
    }

    function test_revokingUnknownInstanceReverts() public {
        vm.expectRevert(abi.encodeWithSelector(TeeVerifier.InstanceNotRegistered.selector, newInstance));
        vm.prank(owner);
        tee.revokeInstance(newInstance);
    }

    function test_adminFunctionsAreOwnerOnly() public {
        bytes memory unauthorized =
            abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        tee.revokeInstance(instance);
        vm.expectRevert(unauthorized);
        tee.setAttestationVerifier(stranger);
        vm.expectRevert(unauthorized);
        tee.setMaxInstanceValidity(1);
        vm.expectRevert(unauthorized);
        attestation.setAuthority(stranger);
        vm.stopPrank();
    }

    function test_ownerRotatesTheAttestationAuthority() public {
        vm.prank(owner);
        attestation.setAuthority(vm.addr(0xBEEF));
        uint64 expiry = uint64(block.timestamp + 1 hours);
        bytes memory oldQuote = quote(authorityKey, newInstance, expiry);
        vm.expectRevert(IAttestationVerifier.InvalidQuote.selector);
        tee.registerInstance(newInstance, expiry, oldQuote);
        tee.registerInstance(newInstance, expiry, quote(0xBEEF, newInstance, expiry));
    }

    function test_zeroAddressesAreRejectedInAdminSetters() public {
        vm.startPrank(owner);
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        tee.setAttestationVerifier(address(0));
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        attestation.setAuthority(address(0));
        vm.stopPrank();
    }
}
