export { type MempoolConfig, DEFAULT_MEMPOOL_CONFIG, resolveMempoolConfig } from './config.ts'
export { type DecodedTransaction, type StatelessRules, decodeTransaction, effectiveTip } from './decode.ts'
export { MempoolError, MempoolErrorCode, isMempoolError } from './errors.ts'
export { type JournalLoadResult, MempoolJournal } from './journal.ts'
export {
  type AccountStateReader,
  type AddOptions,
  Mempool,
  type MempoolOptions,
  type MempoolStats,
  type NewHead,
  type PoolContent,
  type RestoreResult,
  type SenderContent,
} from './mempool.ts'
export type { TxSelection } from './selection.ts'
