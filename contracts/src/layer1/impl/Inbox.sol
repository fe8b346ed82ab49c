// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IForcedInclusionStore} from "../iface/IForcedInclusionStore.sol";
import {IInbox} from "../iface/IInbox.sol";
import {IPreconfWhitelist} from "../iface/IPreconfWhitelist.sol";
import {IVerifier} from "../iface/IVerifier.sol";
import {LibPublicInput} from "../libs/LibPublicInput.sol";

/// @title Inbox
/// @notice Proposal, proving and in-order verification of L2 batches.
///
/// Batch slots live in a ring buffer of `ringBufferSize`; a proposal reverts while the buffer
/// holds that many batches past the last verified one.
///
/// Conflicting transitions: the first transition with a sufficient proof for a given
/// (batch, parentHash) is recorded. A proof for the same (batch, parentHash) with the same result
/// is a no-op; one with a different blockHash or stateRoot marks the pair contested, and
/// verification stops before that batch until the owner (the timelock) resolves it.
contract Inbox is EssentialContract, IInbox {
    struct BatchSlot {
        bytes32 metaHash;
        uint64 batchId;
        uint64 lastBlockId;
    }

    struct TransitionState {
        bytes32 blockHash;
        bytes32 stateRoot;
        uint64 batchId; // guards against entries left by an earlier batch in the same ring slot
        address prover;
        bool contested;
    }

    Config internal _config;
    State internal _state;
    IPreconfWhitelist public preconfWhitelist;
    IForcedInclusionStore public forcedInclusionStore;
    IVerifier public verifier;

    mapping(uint256 slot => BatchSlot) internal _batches;
    mapping(uint256 slot => mapping(bytes32 parentHash => TransitionState)) internal _transitions;
    mapping(uint64 l2BlockId => Checkpoint) internal _checkpoints;

    uint256[38] private __gap;

    function initialize(
        address owner_,
        Config calldata config_,
        address preconfWhitelist_,
        address forcedInclusionStore_,
        address verifier_,
        bytes32 genesisBlockHash,
        bytes32 genesisStateRoot
    ) external initializer {
        __Essential_init(owner_);
        if (config_.l2ChainId == 0) revert InvalidConfig("l2ChainId");
        if (config_.ringBufferSize < 2) revert InvalidConfig("ringBufferSize");
        _setConfig(config_);
        if (preconfWhitelist_ == address(0) || forcedInclusionStore_ == address(0)) revert ZeroAddress();
        preconfWhitelist = IPreconfWhitelist(preconfWhitelist_);
        forcedInclusionStore = IForcedInclusionStore(forcedInclusionStore_);
        _setVerifier(verifier_);
        if (genesisBlockHash == 0 || genesisStateRoot == 0) revert InvalidConfig("genesis");

        // Batch 0 is the L2 genesis block, verified from the start.
        _batches[0] = BatchSlot({metaHash: 0, batchId: 0, lastBlockId: 0});
        _state.nextBatchId = 1;
        _state.lastProposedAtBlock = uint64(block.number);
        _state.lastVerifiedBlockHash = genesisBlockHash;
        _checkpoints[0] = Checkpoint(genesisBlockHash, genesisStateRoot);
        emit BatchesVerified(0, 0, genesisBlockHash, genesisStateRoot);
    }

    // ---------------------------------------------------------------- proposing

    function proposeBatch(ProposeParams calldata params) external returns (BatchMeta memory meta) {
        _checkProposer();
        Config memory config = _config;
        State memory state = _state;

        if (params.parentMetaHash != state.lastMetaHash) {
            revert ParentMetaHashMismatch(state.lastMetaHash, params.parentMetaHash);
        }
        uint64 batchId = state.nextBatchId;
        if (batchId >= state.lastVerifiedBatchId + config.ringBufferSize) {
            revert RingBufferFull(state.lastVerifiedBatchId);
        }

        uint256 numBlocks = params.blocks.length;
        if (numBlocks == 0) revert NoBlocks();
        if (numBlocks > config.maxBlocksPerBatch) revert TooManyBlocks(numBlocks, config.maxBlocksPerBatch);
        uint64 lastTimestamp = _checkTimestamps(params.blocks, state.lastBlockTimestamp);
        bytes32 anchorBlockHash = _checkAnchor(params.anchorBlockId, state.lastAnchorBlockId, config.anchorWindow);

        meta.batchId = batchId;
        meta.proposer = msg.sender;
        meta.proposedAt = uint64(block.timestamp);
        meta.l1OriginNumber = uint64(block.number - 1);
        meta.l1OriginHash = blockhash(block.number - 1);
        meta.anchorBlockId = params.anchorBlockId;
        meta.anchorBlockHash = anchorBlockHash;
        meta.firstBlockId = state.lastBlockId + 1;
        meta.parentMetaHash = state.lastMetaHash;
        meta.blobHashes = _readBlobHashes(params.numBlobs, config.maxBlobsPerBatch);
        meta.blocks = params.blocks;
        meta.forcedInclusions = forcedInclusionStore.consume(params.numForcedInclusions, msg.sender);

        bytes32 metaHash = keccak256(abi.encode(meta));
        uint64 lastBlockId = state.lastBlockId + uint64(numBlocks);
        _batches[batchId % config.ringBufferSize] =
            BatchSlot({metaHash: metaHash, batchId: batchId, lastBlockId: lastBlockId});

        _state.nextBatchId = batchId + 1;
        _state.lastProposedAtBlock = uint64(block.number);
        _state.lastBlockTimestamp = lastTimestamp;
        _state.lastAnchorBlockId = params.anchorBlockId;
        _state.lastBlockId = lastBlockId;
        _state.lastMetaHash = metaHash;

        emit BatchProposed(batchId, metaHash, meta);
    }

    /// @notice Whether `proposer` may propose in the current L1 block.
    function canPropose(address proposer) public view returns (bool) {
        if (_config.basedMode) return true;
        if (block.number > uint256(_state.lastProposedAtBlock) + _config.fallbackWindow) return true;
        if (forcedInclusionStore.isStale()) return true;
        return proposer == preconfWhitelist.currentOperator();
    }

    function _checkProposer() internal view {
        if (!canPropose(msg.sender)) revert ProposerNotAllowed(msg.sender);
    }

    function _checkTimestamps(BlockParams[] calldata blocks, uint64 previous) internal view returns (uint64) {
        for (uint256 i; i < blocks.length; ++i) {
            uint64 timestamp = blocks[i].timestamp;
            if (timestamp < previous) revert TimestampNotMonotonic(i);
            if (timestamp > block.timestamp) revert TimestampInFuture(i);
            previous = timestamp;
        }
        return previous;
    }

    function _checkAnchor(uint64 anchorBlockId, uint64 lastAnchorBlockId, uint16 anchorWindow)
        internal
        view
        returns (bytes32)
    {
        if (anchorBlockId >= block.number || uint256(anchorBlockId) + anchorWindow < block.number) {
            revert AnchorBlockOutOfWindow(anchorBlockId);
        }
        if (anchorBlockId < lastAnchorBlockId) revert AnchorBlockNotMonotonic(anchorBlockId, lastAnchorBlockId);
        return blockhash(anchorBlockId);
    }

    function _readBlobHashes(uint8 numBlobs, uint8 maxBlobs) internal view returns (bytes32[] memory hashes) {
        if (numBlobs == 0 || numBlobs > maxBlobs) revert BlobCountOutOfRange(numBlobs, maxBlobs);
        hashes = new bytes32[](numBlobs);
        for (uint256 i; i < numBlobs; ++i) {
            hashes[i] = blobhash(i);
            if (hashes[i] == 0) revert BlobNotFound(i);
        }
    }

    // ---------------------------------------------------------------- proving

    function proveBatches(uint64[] calldata batchIds, Transition[] calldata transitions, bytes calldata proof)
        external
    {
        uint256 count = batchIds.length;
        if (count == 0) revert NoBatchesToProve();
        if (count != transitions.length) revert ArrayLengthMismatch();

        uint64 chainId = _config.l2ChainId;
        bytes32[] memory publicInputs = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            Transition calldata t = transitions[i];
            if (t.parentHash == 0 || t.blockHash == 0 || t.stateRoot == 0) revert InvalidTransition(batchIds[i]);
            publicInputs[i] = LibPublicInput.hash(
                chainId, _unverifiedMetaHash(batchIds[i]), t.parentHash, t.blockHash, t.stateRoot, msg.sender
            );
        }
        verifier.verifyProof(LibPublicInput.aggregate(publicInputs), proof);

        for (uint256 i; i < count; ++i) {
            _recordTransition(batchIds[i], transitions[i]);
        }
        _verifyBatches(_config.maxBatchesToVerify);
    }

    function verifyBatches(uint16 maxCount) external {
        _verifyBatches(maxCount);
    }

    /// @notice The owner (timelock) settles a contested (batch, parentHash) by choosing its transition.
    function resolveContest(uint64 batchId, Transition calldata transition) external onlyOwner {
        TransitionState storage ts = _transitions[batchId % _config.ringBufferSize][transition.parentHash];
        if (ts.batchId != batchId || !ts.contested) revert NotContested(batchId, transition.parentHash);
        if (transition.blockHash == 0 || transition.stateRoot == 0) revert InvalidTransition(batchId);
        ts.blockHash = transition.blockHash;
        ts.stateRoot = transition.stateRoot;
        ts.contested = false;
        emit ContestResolved(batchId, transition);
    }

    function _unverifiedMetaHash(uint64 batchId) internal view returns (bytes32) {
        if (batchId <= _state.lastVerifiedBatchId) revert BatchAlreadyVerified(batchId);
        BatchSlot storage slot = _batches[batchId % _config.ringBufferSize];
        if (batchId >= _state.nextBatchId || slot.batchId != batchId) revert BatchNotFound(batchId);
        return slot.metaHash;
    }

    function _recordTransition(uint64 batchId, Transition calldata t) internal {
        TransitionState storage ts = _transitions[batchId % _config.ringBufferSize][t.parentHash];
        if (ts.batchId != batchId) {
            ts.blockHash = t.blockHash;
            ts.stateRoot = t.stateRoot;
            ts.batchId = batchId;
            ts.prover = msg.sender;
            ts.contested = false;
            emit BatchProven(batchId, msg.sender, t);
        } else if (ts.blockHash != t.blockHash || ts.stateRoot != t.stateRoot) {
            ts.contested = true;
            emit TransitionContested(batchId, msg.sender, Transition(t.parentHash, ts.blockHash, ts.stateRoot), t);
        }
    }

    function _verifyBatches(uint16 maxCount) internal {
        uint64 ringSize = _config.ringBufferSize;
        uint64 lastVerified = _state.lastVerifiedBatchId;
        uint64 end = _state.nextBatchId;
        if (end > lastVerified + 1 + uint64(maxCount)) end = lastVerified + 1 + uint64(maxCount);

        bytes32 blockHash = _state.lastVerifiedBlockHash;
        bytes32 stateRoot;
        uint64 batchId = lastVerified + 1;
        for (; batchId < end; ++batchId) {
            TransitionState storage ts = _transitions[batchId % ringSize][blockHash];
            if (ts.batchId != batchId || ts.contested) break;
            blockHash = ts.blockHash;
            stateRoot = ts.stateRoot;
        }
        uint64 newLastVerified = batchId - 1;
        if (newLastVerified == lastVerified) return;

        _state.lastVerifiedBatchId = newLastVerified;
        _state.lastVerifiedBlockHash = blockHash;
        uint64 l2BlockId = _batches[newLastVerified % ringSize].lastBlockId;
        _checkpoints[l2BlockId] = Checkpoint(blockHash, stateRoot);
        emit BatchesVerified(newLastVerified, l2BlockId, blockHash, stateRoot);
    }

    // ---------------------------------------------------------------- admin

    function setConfig(Config calldata config_) external onlyOwner {
        if (config_.l2ChainId != _config.l2ChainId) revert InvalidConfig("l2ChainId");
        if (config_.ringBufferSize != _config.ringBufferSize) revert InvalidConfig("ringBufferSize");
        _setConfig(config_);
    }

    function setVerifier(address verifier_) external onlyOwner {
        _setVerifier(verifier_);
    }

    function _setConfig(Config calldata config_) internal {
        if (config_.maxBlocksPerBatch == 0) revert InvalidConfig("maxBlocksPerBatch");
        if (config_.maxBlobsPerBatch == 0) revert InvalidConfig("maxBlobsPerBatch");
        // blockhash() only reaches back 256 blocks.
        if (config_.anchorWindow == 0 || config_.anchorWindow > 256) revert InvalidConfig("anchorWindow");
        if (config_.maxBatchesToVerify == 0) revert InvalidConfig("maxBatchesToVerify");
        _config = config_;
        emit ConfigSet(config_);
    }

    function _setVerifier(address verifier_) internal {
        if (verifier_ == address(0)) revert ZeroAddress();
        verifier = IVerifier(verifier_);
        emit VerifierSet(verifier_);
    }

    // ---------------------------------------------------------------- views

    function getConfig() external view returns (Config memory) {
        return _config;
    }

    function getState() external view returns (State memory) {
        return _state;
    }

    /// @return metaHash of an unverified or the last verified batch still in the ring buffer.
    function getBatchMetaHash(uint64 batchId) external view returns (bytes32) {
        BatchSlot storage slot = _batches[batchId % _config.ringBufferSize];
        if (slot.batchId != batchId || batchId >= _state.nextBatchId) revert BatchNotFound(batchId);
        return slot.metaHash;
    }

    function getTransition(uint64 batchId, bytes32 parentHash) external view returns (TransitionState memory ts) {
        ts = _transitions[batchId % _config.ringBufferSize][parentHash];
        if (ts.batchId != batchId) delete ts;
    }

    function getCheckpoint(uint64 l2BlockId) external view returns (Checkpoint memory) {
        return _checkpoints[l2BlockId];
    }
}
