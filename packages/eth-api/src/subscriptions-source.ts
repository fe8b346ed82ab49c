import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import type { ChainStore, HeadChange } from '@cairn/chain'
import type { Hex, LogRecord } from '@cairn/primitives'
import {
  type SubscriptionSource,
  type TransactionJson,
  formatHeader,
  formatTransaction,
  formattedOnce,
} from '@cairn/rpc'

/** Feeds eth_subscribe and the filter methods from the chain store's head changes and the mempool. */
export function chainSubscriptionSource(
  chain: ChainStore,
  mempool: { onPending(listener: (tx: TypedTransaction) => void): () => void },
): SubscriptionSource {
  return {
    onNewHead(listener) {
      return chain.onHeadChange(({ added, removed }) => {
        for (const record of added) listener(formattedHeader(record.block.header))
        // A rewind that adds nothing (unsafe blocks dropped back to `safe`): announce the head it
        // landed on, so subscribers learn the chain went back without waiting for the next block.
        if (added.length === 0 && removed.length > 0) listener(formattedHeader(chain.head('latest').header))
      })
    },
    onLogs(listener) {
      return chain.onHeadChange((change) => {
        for (const logs of logBatches(chain, change)) listener(logs)
      })
    },
    onReceipts(listener) {
      return chain.onHeadChange(({ added }) => {
        for (const record of added) listener(chain.receiptsOf(record))
      })
    },
    onPendingTransaction(listener: (hash: Hex) => void) {
      return mempool.onPending((tx) => listener(bytesToHex(tx.hash())))
    },
    // Only full subscribers and filters pay for formatting; the hash path above does none.
    onPendingTransactionFull(listener: (tx: TransactionJson) => void) {
      return mempool.onPending((tx) => listener(pendingTransactionJson(tx)))
    },
  }
}

/**
 * A head change's logs, once for every subscriber and filter (so each log record is one object,
 * which the RPC formats once): removed logs first (newest block first), flagged, then the new
 * chain's, one batch per block that has any.
 */
function logBatches(chain: ChainStore, change: HeadChange): LogRecord[][] {
  let batches = logsOfChange.get(change)
  if (batches === undefined) {
    batches = [
      ...change.removed.map((record) =>
        chain.receiptsOf(record).flatMap((r) => r.logs.map((log) => ({ ...log, removed: true }))),
      ),
      ...change.added.map((record) => chain.receiptsOf(record).flatMap((r) => r.logs)),
    ].filter((logs) => logs.length > 0)
    logsOfChange.set(change, batches)
  }
  return batches
}

const logsOfChange = new WeakMap<HeadChange, LogRecord[][]>()
/** A header as newHeads sends it, formatted once however many subscribers receive it. */
const formattedHeader = formattedOnce(formatHeader)

/**
 * A pending transaction as geth sends it (no block hash, number or index; `gasPrice` the fee cap),
 * formatted once however many subscribers receive it (the server then serializes it once too).
 */
const pendingTransactionJson = formattedOnce(
  (tx: TypedTransaction): TransactionJson => formatTransaction(tx, { from: tx.getSenderAddress().bytes }),
)
