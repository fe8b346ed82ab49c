// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "./Test.sol";
import {CairnProxy} from "../../src/shared/CairnProxy.sol";
import {Inbox} from "../../src/layer1/impl/Inbox.sol";
import {ForcedInclusionStore} from "../../src/layer1/impl/ForcedInclusionStore.sol";
import {PreconfWhitelist} from "../../src/layer1/impl/PreconfWhitelist.sol";
import {ComposeVerifier} from "../../src/layer1/impl/ComposeVerifier.sol";
import {TeeVerifier} from "../../src/layer1/impl/TeeVerifier.sol";
import {AuthorityAttestationVerifier} from "../../src/layer1/impl/AuthorityAttestationVerifier.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";
import {LibPublicInput} from "../../src/layer1/libs/LibPublicInput.sol";

/// @notice Deploys the whole L1 suite behind proxies, owned by an EOA so owner paths are easy to
/// exercise (Upgrades.t.sol covers the timelock as owner), with one TEE instance registered.
abstract contract SuiteFixture is Test {
    uint64 internal constant L2_CHAIN_ID = 167001;
    uint64 internal constant RING_SIZE = 8;
    uint16 internal constant MAX_BLOCKS = 16;
    uint16 internal constant ANCHOR_WINDOW = 64;
    uint64 internal constant FALLBACK_WINDOW = 100;
    uint64 internal constant EPOCH_LENGTH = 32;
    uint128 internal constant FI_FEE = 0.01 ether;
    uint64 internal constant FI_DELAY = 10;
    uint64 internal constant FI_STALE = 20;
    uint32 internal constant FI_MAX_CALLDATA = 4096;
    bytes32 internal constant GENESIS_HASH = keccak256("genesis block");
    bytes32 internal constant GENESIS_ROOT = keccak256("genesis state");

    address internal owner = address(0x0A11);
    address internal preconfer = address(0xB0B);
    address internal stranger = address(0xBAD);
    address internal prover = address(0x9120);
    uint256 internal authorityKey = 0xA11CE;
    uint256 internal instanceKey = 0x1D;
    address internal instance;

    Inbox internal inbox;
    ForcedInclusionStore internal store;
    PreconfWhitelist internal whitelist;
    ComposeVerifier internal compose;
    TeeVerifier internal tee;
    AuthorityAttestationVerifier internal attestation;

    function setUp() public virtual {
        vm.roll(1000);
        vm.warp(1_700_000_000);
        instance = vm.addr(instanceKey);

        address[] memory operators = new address[](1);
        operators[0] = preconfer;
        whitelist = PreconfWhitelist(
            _proxy(address(new PreconfWhitelist()), abi.encodeCall(PreconfWhitelist.initialize, (owner, EPOCH_LENGTH, operators)))
        );
        store = ForcedInclusionStore(
            _proxy(
                address(new ForcedInclusionStore()),
                abi.encodeCall(ForcedInclusionStore.initialize, (owner, FI_FEE, FI_DELAY, FI_STALE, FI_MAX_CALLDATA))
            )
        );
        attestation = AuthorityAttestationVerifier(
            _proxy(
                address(new AuthorityAttestationVerifier()),
                abi.encodeCall(AuthorityAttestationVerifier.initialize, (owner, vm.addr(authorityKey)))
            )
        );
        tee = TeeVerifier(
            _proxy(address(new TeeVerifier()), abi.encodeCall(TeeVerifier.initialize, (owner, address(attestation), 30 days)))
        );
        compose = ComposeVerifier(_proxy(address(new ComposeVerifier()), abi.encodeCall(ComposeVerifier.initialize, (owner))));
        inbox = Inbox(
            _proxy(
                address(new Inbox()),
                abi.encodeCall(
                    Inbox.initialize,
                    (owner, defaultConfig(), address(whitelist), address(store), address(compose), GENESIS_HASH, GENESIS_ROOT)
                )
            )
        );
        vm.startPrank(owner);
        store.setInbox(address(inbox));
        compose.setVerifier(compose.TEE(), address(tee));
        compose.setSufficient(1, true);
        vm.stopPrank();

        uint64 expiry = uint64(block.timestamp + 1 days);
        tee.registerInstance(instance, expiry, signDigest(authorityKey, attestation.attestationDigest(instance, expiry)));
    }

    function defaultConfig() internal pure returns (IInbox.Config memory) {
        return IInbox.Config({
            l2ChainId: L2_CHAIN_ID,
            ringBufferSize: RING_SIZE,
            maxBlocksPerBatch: MAX_BLOCKS,
            maxBlobsPerBatch: 6,
            anchorWindow: ANCHOR_WINDOW,
            fallbackWindow: FALLBACK_WINDOW,
            basedMode: false,
            maxBatchesToVerify: 16
        });
    }

    function _proxy(address implementation, bytes memory initData) internal returns (address) {
        return address(new CairnProxy(implementation, initData));
    }

    uint256 internal blobCount;

    function setBlobs(uint256 count) internal {
        blobCount = count;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = bytes32(uint256(keccak256(abi.encode("blob", i))) >> 8 | (uint256(1) << 248));
        }
        vm.blobhashes(hashes);
    }

    function blocks(uint256 count) internal view returns (IInbox.BlockParams[] memory params) {
        params = new IInbox.BlockParams[](count);
        for (uint256 i; i < count; ++i) {
            params[i] = IInbox.BlockParams({timestamp: uint64(block.timestamp), gasLimit: 30_000_000, coinbase: preconfer});
        }
    }

    function proposeParams(uint256 numBlocks) internal view returns (IInbox.ProposeParams memory) {
        return IInbox.ProposeParams({
            parentMetaHash: inbox.getState().lastMetaHash,
            anchorBlockId: uint64(block.number - 1),
            numBlobs: 1,
            numForcedInclusions: 0,
            blocks: blocks(numBlocks)
        });
    }

    function propose() internal returns (IInbox.BatchMeta memory) {
        return proposeAs(preconfer, proposeParams(2));
    }

    /// @dev Blob hashes set in setUp do not carry into the test transaction, so set them per call.
    function proposeAs(address proposer, IInbox.ProposeParams memory params)
        internal
        returns (IInbox.BatchMeta memory)
    {
        if (blobCount == 0) setBlobs(6);
        vm.prank(proposer);
        return inbox.proposeBatch(params);
    }

    function expectProposeRevert(address proposer, IInbox.ProposeParams memory params, bytes memory err) internal {
        if (blobCount == 0) setBlobs(6);
        vm.expectRevert(err);
        vm.prank(proposer);
        inbox.proposeBatch(params);
    }

    /// @dev Advances one L1 block and 12 s, as a real chain would between proposals.
    function nextBlock() internal {
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 12);
    }

    function transitionFor(uint64 batchId, bytes32 parentHash) internal pure returns (IInbox.Transition memory) {
        return IInbox.Transition({
            parentHash: parentHash,
            blockHash: keccak256(abi.encode("block", batchId, parentHash)),
            stateRoot: keccak256(abi.encode("state", batchId, parentHash))
        });
    }

    /// @dev The canonical chain of test transitions: batch n's parent is batch n-1's block hash.
    function canonicalTransition(uint64 batchId) internal pure returns (IInbox.Transition memory t) {
        bytes32 parent = GENESIS_HASH;
        for (uint64 id = 1; id <= batchId; ++id) {
            t = transitionFor(id, parent);
            parent = t.blockHash;
        }
    }

    function publicInputs(uint64[] memory ids, IInbox.Transition[] memory ts, address sender)
        internal
        view
        returns (bytes32)
    {
        bytes32[] memory inputs = new bytes32[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            inputs[i] = LibPublicInput.hash(
                L2_CHAIN_ID, inbox.getBatchMetaHash(ids[i]), ts[i].parentHash, ts[i].blockHash, ts[i].stateRoot, sender
            );
        }
        return LibPublicInput.aggregate(inputs);
    }

    function teeProof(bytes32 input) internal view returns (bytes memory) {
        ComposeVerifier.SubProof[] memory subProofs = new ComposeVerifier.SubProof[](1);
        subProofs[0] = ComposeVerifier.SubProof(0, abi.encode(instance, signDigest(instanceKey, input)));
        return abi.encode(subProofs);
    }

    function prove(uint64[] memory ids, IInbox.Transition[] memory ts) internal {
        bytes memory proof = teeProof(publicInputs(ids, ts, prover));
        vm.prank(prover);
        inbox.proveBatches(ids, ts, proof);
    }

    function proveOne(uint64 batchId, IInbox.Transition memory t) internal {
        uint64[] memory ids = new uint64[](1);
        ids[0] = batchId;
        IInbox.Transition[] memory ts = new IInbox.Transition[](1);
        ts[0] = t;
        prove(ids, ts);
    }
}
