// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IVerifier} from "../iface/IVerifier.sol";

/// @title ComposeVerifier
/// @notice Takes one sub-proof per proof type and accepts when the set of types proven contains
/// at least one owner-set sufficient combination. A combination is a bitmask over verifier ids
/// (bit `1 << id`); e.g. mask 1 = TEE alone, mask 6 = ZK_CIRCUIT and ZKVM together.
contract ComposeVerifier is EssentialContract, IVerifier {
    uint8 public constant TEE = 0;
    uint8 public constant ZK_CIRCUIT = 1;
    uint8 public constant ZKVM = 2;
    uint8 public constant NUM_VERIFIERS = 3;

    /// @dev `proof` of verifyProof is `abi.encode(SubProof[])`, ids strictly increasing.
    struct SubProof {
        uint8 verifierId;
        bytes proof;
    }

    mapping(uint8 verifierId => address) public verifiers;
    mapping(uint8 mask => bool) public isSufficient;

    uint256[48] private __gap;

    event VerifierSet(uint8 indexed verifierId, address verifier);
    event SufficientCombinationSet(uint8 indexed mask, bool sufficient);

    error UnknownVerifier(uint8 verifierId);
    error VerifierNotSet(uint8 verifierId);
    error SubProofsNotOrdered();
    error InsufficientProofs(uint8 provenMask);
    error InvalidMask(uint8 mask);

    function initialize(address owner_) external initializer {
        __Essential_init(owner_);
    }

    function setVerifier(uint8 verifierId, address verifier) external onlyOwner {
        if (verifierId >= NUM_VERIFIERS) revert UnknownVerifier(verifierId);
        verifiers[verifierId] = verifier;
        emit VerifierSet(verifierId, verifier);
    }

    function setSufficient(uint8 mask, bool sufficient) external onlyOwner {
        if (mask == 0 || mask >= (1 << NUM_VERIFIERS)) revert InvalidMask(mask);
        isSufficient[mask] = sufficient;
        emit SufficientCombinationSet(mask, sufficient);
    }

    function verifyProof(bytes32 publicInput, bytes calldata proof) external view {
        SubProof[] memory subProofs = abi.decode(proof, (SubProof[]));
        uint8 provenMask;
        for (uint256 i; i < subProofs.length; ++i) {
            uint8 id = subProofs[i].verifierId;
            if (i != 0 && id <= subProofs[i - 1].verifierId) revert SubProofsNotOrdered();
            if (id >= NUM_VERIFIERS) revert UnknownVerifier(id);
            address verifier = verifiers[id];
            if (verifier == address(0)) revert VerifierNotSet(id);
            IVerifier(verifier).verifyProof(publicInput, subProofs[i].proof);
            provenMask |= uint8(1 << id);
        }
        if (!satisfiesPolicy(provenMask)) revert InsufficientProofs(provenMask);
    }

    function satisfiesPolicy(uint8 provenMask) public view returns (bool) {
        for (uint8 mask = 1; mask < (1 << NUM_VERIFIERS); ++mask) {
            if (isSufficient[mask] && (provenMask & mask) == mask) return true;
        }
        return false;
    }
}
