export { NodeDatabase, type BatchOp, type BytesSublevel } from './database.ts'
export {
  ChainStore,
  ChainStoreError,
  logMatches,
  type BlockRecord,
  type HeadChange,
  type HeadName,
  type LogQuery,
  type LogQueryLimits,
  type PendingBatch,
} from './chain-store.ts'
export { encodeBlock } from './block-rlp.ts'
export { encodeReceipts, decodeReceipts, type RawLog, type StoredReceipt } from './receipt-codec.ts'
