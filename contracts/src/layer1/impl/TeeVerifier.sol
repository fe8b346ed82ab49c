// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IAttestationVerifier} from "../iface/IAttestationVerifier.sol";
import {IVerifier} from "../iface/IVerifier.sol";

/// @title TeeVerifier
/// @notice Registry of enclave instance keys, each admitted by an attestation quote and valid
/// until its expiry. A proof is `abi.encode(address instance, bytes signature)` where the
/// signature is the instance's ECDSA signature over the raw public input hash (no prefix).
contract TeeVerifier is EssentialContract, IVerifier {
    IAttestationVerifier public attestationVerifier;
    uint64 public maxInstanceValidity; // seconds
    mapping(address instance => uint64 expiry) public instanceExpiry;

    uint256[47] private __gap;

    event InstanceRegistered(address indexed instance, uint64 expiry);
    event InstanceRevoked(address indexed instance);
    event AttestationVerifierSet(address attestationVerifier);
    event MaxInstanceValiditySet(uint64 maxInstanceValidity);

    error InstanceExpiryInPast(uint64 expiry);
    error InstanceExpiryTooFar(uint64 expiry, uint256 latestAllowed);
    error InstanceNotRegistered(address instance);
    error InstanceExpired(address instance, uint64 expiry);
    error InvalidSignature();

    function initialize(address owner_, address attestationVerifier_, uint64 maxInstanceValidity_)
        external
        initializer
    {
        __Essential_init(owner_);
        _setAttestationVerifier(attestationVerifier_);
        maxInstanceValidity = maxInstanceValidity_;
        emit MaxInstanceValiditySet(maxInstanceValidity_);
    }

    /// @notice Anyone may register an instance that holds a valid quote.
    function registerInstance(address instance, uint64 expiry, bytes calldata quote) external {
        if (instance == address(0)) revert ZeroAddress();
        if (expiry <= block.timestamp) revert InstanceExpiryInPast(expiry);
        uint256 latestAllowed = block.timestamp + maxInstanceValidity;
        if (expiry > latestAllowed) revert InstanceExpiryTooFar(expiry, latestAllowed);
        attestationVerifier.verifyAttestation(instance, expiry, quote);
        instanceExpiry[instance] = expiry;
        emit InstanceRegistered(instance, expiry);
    }

    function revokeInstance(address instance) external onlyOwner {
        if (instanceExpiry[instance] == 0) revert InstanceNotRegistered(instance);
        delete instanceExpiry[instance];
        emit InstanceRevoked(instance);
    }

    function setAttestationVerifier(address attestationVerifier_) external onlyOwner {
        _setAttestationVerifier(attestationVerifier_);
    }

    function setMaxInstanceValidity(uint64 maxInstanceValidity_) external onlyOwner {
        maxInstanceValidity = maxInstanceValidity_;
        emit MaxInstanceValiditySet(maxInstanceValidity_);
    }

    function verifyProof(bytes32 publicInput, bytes calldata proof) external view {
        (address instance, bytes memory signature) = abi.decode(proof, (address, bytes));
        uint64 expiry = instanceExpiry[instance];
        if (expiry == 0) revert InstanceNotRegistered(instance);
        if (expiry <= block.timestamp) revert InstanceExpired(instance, expiry);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(publicInput, signature);
        if (err != ECDSA.RecoverError.NoError || signer != instance) revert InvalidSignature();
    }

    function _setAttestationVerifier(address attestationVerifier_) internal {
        if (attestationVerifier_ == address(0)) revert ZeroAddress();
        attestationVerifier = IAttestationVerifier(attestationVerifier_);
        emit AttestationVerifierSet(attestationVerifier_);
    }
}
