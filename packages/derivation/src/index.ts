export {
  type DecodedPayload,
  type DerivedBlockInput,
  type ProposedBatch,
  decodeTransactions,
  deriveBlockInputs,
} from './derive.ts'
export { type UnsafeBlockAnchor, findExpiredUnsafeBlock } from './anchor-expiry.ts'
export { L1Watcher, type L1Heads } from './l1-watcher.ts'
export { type BlobFetcher, Derivation, DerivationError, type DerivationOptions, type SyncStatus } from './pipeline.ts'
export { DerivationStore, type DerivedBatch, type L1Pointer } from './progress-store.ts'
export {
  type ForcedInclusionRef,
  ForcedInclusionError,
  ForcedInclusionReader,
  splitTxList,
} from './forced-inclusions.ts'
