// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IVerifier} from "../../src/layer1/iface/IVerifier.sol";

/// @notice Stand-in for a zk verifier in tests: accepts a proof equal to abi.encode(publicInput).
contract MockVerifier is IVerifier {
    error MockProofInvalid();

    function verifyProof(bytes32 publicInput, bytes calldata proof) external pure {
        if (keccak256(proof) != keccak256(abi.encode(publicInput))) revert MockProofInvalid();
    }
}
