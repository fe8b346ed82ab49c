// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IVerifier
/// @notice A proof verifier. It reverts when the proof does not prove `publicInput`; it never
/// signals failure by returning, so a caller cannot forget to check.
interface IVerifier {
    function verifyProof(bytes32 publicInput, bytes calldata proof) external view;
}
