// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IAttestationVerifier
/// @notice Checks that an enclave quote binds `instance` (the enclave's signing key) until `expiry`.
/// Production would verify an Intel DCAP quote; Cairn ships a stub (AuthorityAttestationVerifier).
interface IAttestationVerifier {
    error InvalidQuote();

    /// @dev Reverts with InvalidQuote when the quote does not attest the instance.
    function verifyAttestation(address instance, uint64 expiry, bytes calldata quote) external view;
}
