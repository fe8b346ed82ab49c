// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title LibPublicInput
/// @notice The one public input every proof system commits to. The TypeScript helper
/// `publicInputHash` of the contracts package computes the same value; test/vectors/public-input.json
/// holds vectors both sides check.
library LibPublicInput {
    bytes32 internal constant PUBLIC_INPUT_DOMAIN = keccak256("CAIRN_PUBLIC_INPUT_V1");

    function hash(
        uint64 chainId,
        bytes32 batchMetaHash,
        bytes32 parentHash,
        bytes32 blockHash,
        bytes32 stateRoot,
        address prover
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(PUBLIC_INPUT_DOMAIN, chainId, batchMetaHash, parentHash, blockHash, stateRoot, prover));
    }

    /// @notice What a proof over several batches signs or proves: the single hash when there is one
    /// batch, else keccak256 of the hashes packed in the order of the batch ids given.
    function aggregate(bytes32[] memory publicInputs) internal pure returns (bytes32) {
        if (publicInputs.length == 1) return publicInputs[0];
        return keccak256(abi.encodePacked(publicInputs));
    }
}
