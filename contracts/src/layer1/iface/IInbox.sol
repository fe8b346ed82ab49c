// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IForcedInclusionStore} from "./IForcedInclusionStore.sol";

/// @title IInbox
/// @notice Batches of L2 blocks are proposed with their data in the same transaction's blobs,
/// proven with a transition `(parentHash, blockHash, stateRoot)` and verified in order.
interface IInbox {
    /// @notice Per-block parameters derivation needs besides the transactions (which are in the blobs).
    struct BlockParams {
        uint64 timestamp;
        uint32 gasLimit;
        address coinbase;
    }

    /// @notice Everything derivation needs to rebuild a batch; only its hash is stored on L1.
    /// `batchMetaHash = keccak256(abi.encode(meta))`.
    struct BatchMeta {
        uint64 batchId;
        address proposer;
        uint64 proposedAt; // L1 timestamp of the proposal
        uint64 l1OriginNumber; // proposal block number - 1
        bytes32 l1OriginHash;
        uint64 anchorBlockId; // L1 block the batch's anchor transactions reference
        bytes32 anchorBlockHash;
        uint64 firstBlockId; // L2 number of the batch's first block
        bytes32 parentMetaHash; // meta hash of batch `batchId - 1` (zero for batch 1)
        bytes32[] blobHashes; // versioned hashes, in blob order
        BlockParams[] blocks;
        IForcedInclusionStore.ForcedInclusion[] forcedInclusions; // consumed, oldest first
    }

    struct ProposeParams {
        bytes32 parentMetaHash; // must equal the last batch's meta hash: guards against racing proposers
        uint64 anchorBlockId;
        uint8 numBlobs; // the batch data are blobs 0 .. numBlobs-1 of this transaction
        uint16 numForcedInclusions; // taken from the head of the forced inclusion queue
        BlockParams[] blocks;
    }

    struct Transition {
        bytes32 parentHash;
        bytes32 blockHash;
        bytes32 stateRoot;
    }

    /// @notice L2 state at a verified block: what the bridge proves withdrawals against.
    struct Checkpoint {
        bytes32 blockHash;
        bytes32 stateRoot;
    }

    struct Config {
        uint64 l2ChainId; // fixed at initialization
        uint64 ringBufferSize; // fixed at initialization; max unverified batches + 1
        uint16 maxBlocksPerBatch;
        uint8 maxBlobsPerBatch;
        uint16 anchorWindow; // anchor block must be within this many L1 blocks of the proposal (<= 256)
        uint64 fallbackWindow; // after this many L1 blocks without a batch anyone may propose
        bool basedMode; // anyone may propose at any time
        uint16 maxBatchesToVerify; // per proveBatches call
    }

    struct State {
        uint64 nextBatchId;
        uint64 lastVerifiedBatchId;
        uint64 lastProposedAtBlock;
        uint64 lastBlockTimestamp;
        uint64 lastAnchorBlockId;
        uint64 lastBlockId; // L2 number of the last proposed block
        bytes32 lastMetaHash;
        bytes32 lastVerifiedBlockHash;
    }

    event BatchProposed(uint64 indexed batchId, bytes32 indexed metaHash, BatchMeta meta);
    event BatchProven(uint64 indexed batchId, address indexed prover, Transition transition);
    event TransitionContested(
        uint64 indexed batchId, address indexed prover, Transition accepted, Transition conflicting
    );
    event ContestResolved(uint64 indexed batchId, Transition transition);
    event BatchesVerified(uint64 indexed lastVerifiedBatchId, uint64 l2BlockId, bytes32 blockHash, bytes32 stateRoot);
    event ConfigSet(Config config);
    event VerifierSet(address verifier);

    error ProposerNotAllowed(address proposer);
    error ParentMetaHashMismatch(bytes32 expected, bytes32 given);
    error RingBufferFull(uint64 lastVerifiedBatchId);
    error NoBlocks();
    error TooManyBlocks(uint256 count, uint256 max);
    error BlobCountOutOfRange(uint256 count, uint256 max);
    error BlobNotFound(uint256 index);
    error AnchorBlockOutOfWindow(uint64 anchorBlockId);
    error AnchorBlockNotMonotonic(uint64 anchorBlockId, uint64 lastAnchorBlockId);
    error TimestampNotMonotonic(uint256 blockIndex);
    error TimestampInFuture(uint256 blockIndex);
    error NoBatchesToProve();
    error ArrayLengthMismatch();
    error BatchNotFound(uint64 batchId);
    error BatchAlreadyVerified(uint64 batchId);
    error InvalidTransition(uint64 batchId);
    error NotContested(uint64 batchId, bytes32 parentHash);
    error InvalidConfig(string field);

    // Raised by the ForcedInclusionStore during proposeBatch; re-declared so the inbox ABI decodes them.
    error NotEnoughForcedInclusions(uint256 requested, uint256 available);
    error ForcedInclusionDue(uint64 id);

    function proposeBatch(ProposeParams calldata params) external returns (BatchMeta memory meta);

    function proveBatches(uint64[] calldata batchIds, Transition[] calldata transitions, bytes calldata proof)
        external;

    function verifyBatches(uint16 maxCount) external;
}
