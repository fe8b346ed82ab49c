export { AnvilBlobSource } from './anvil-blob-source.ts'
export { BeaconBlobSource, type BeaconBlobSourceOptions } from './beacon-blob-source.ts'
export { type BlobRequest, type BlobSource, blobRequestForTransaction, FallbackBlobSource } from './blob-source.ts'
export {
  BlobSourceError,
  type BlobSourceErrorCode,
  BlobTransactionError,
  type BlobTransactionErrorCode,
} from './errors.ts'
export { ProgressFile } from './progress-file.ts'
export { replayRevertName, revertName, rpcFailureReason } from './revert.ts'
export { createSenderLoop, type FailureCounter, type SenderLogger, type SenderLoopOptions } from './sender-loop.ts'
export { blobVersionedHash, commitmentToVersionedHash, loadKzg, viemKzg } from './kzg.ts'
export {
  BLOB_REPLACEMENT_BUMP_PERCENT,
  type BlobTxFees,
  bumpFee,
  bumpFees,
  estimateBlobTxFees,
  type FeeEstimateOptions,
  MAX_BLOBS_PER_TRANSACTION,
  type SendBlobTransactionOptions,
  type SentBlobTransaction,
  sendBlobTransaction,
} from './send-blob-transaction.ts'
export {
  type InFlightStatus,
  type InFlightTransaction,
  TransactionTracker,
  type TransactionTrackerOptions,
} from './transaction-tracker.ts'
export { readAtStartup, type StartupReadErrorCode, type StartupReadTarget } from './startup-read.ts'
