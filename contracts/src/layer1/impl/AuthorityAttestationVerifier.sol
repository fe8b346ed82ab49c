// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IAttestationVerifier} from "../iface/IAttestationVerifier.sol";

/// @title AuthorityAttestationVerifier
/// @notice STUB standing in for Intel DCAP quote verification: a quote is the configured
/// authority's ECDSA signature over
/// `keccak256(abi.encode(ATTESTATION_DOMAIN, instance, block.chainid, expiry))`.
/// Whoever holds the authority key can admit any enclave key; production replaces this contract.
contract AuthorityAttestationVerifier is EssentialContract, IAttestationVerifier {
    bytes32 public constant ATTESTATION_DOMAIN = keccak256("CAIRN_TEE_ATTESTATION_V1");

    address public authority;

    uint256[49] private __gap;

    event AuthoritySet(address authority);

    function initialize(address owner_, address authority_) external initializer {
        __Essential_init(owner_);
        _setAuthority(authority_);
    }

    function setAuthority(address authority_) external onlyOwner {
        _setAuthority(authority_);
    }

    function attestationDigest(address instance, uint64 expiry) public view returns (bytes32) {
        return keccak256(abi.encode(ATTESTATION_DOMAIN, instance, block.chainid, expiry));
    }

    function verifyAttestation(address instance, uint64 expiry, bytes calldata quote) external view {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(attestationDigest(instance, expiry), quote);
        if (err != ECDSA.RecoverError.NoError || signer != authority) revert InvalidQuote();
    }

    function _setAuthority(address authority_) internal {
        if (authority_ == address(0)) revert ZeroAddress();
        authority = authority_;
        emit AuthoritySet(authority_);
    }
}
