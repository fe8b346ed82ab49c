import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import type { ChainStore } from '@cairn/chain'
import type { Hex, LogRecord } from '@cairn/primitives'
import { type SubscriptionSource, type TransactionJson, formatHeader, formatTransaction } from '@cairn/rpc'

/** Feeds eth_subscribe and the filter methods from the chain store's head changes and the mempool. */
export function chainSubscriptionSource(
  chain: ChainStore,
  mempool: { onPending(listener: (tx: TypedTransaction) => void): () => void },
): SubscriptionSource {
  return {
    onNewHead(listener) {
      return chain.onHeadChange(({ added, removed }) => {
        for (const record of added) listener(formatHeader(record.block.header))
        // A rewind that adds nothing (unsafe blocks dropped back to `safe`): announce the head it
        // landed on, so subscribers learn the chain went back without waiting for the next block.
        if (added.length === 0 && removed.length > 0) listener(formatHeader(chain.head('latest').header))
      })
    },
    onLogs(listener) {
      return chain.onHeadChange(({ added, removed }) => {
        // Removed logs first (newest block first), flagged, then the new chain's logs.
        for (const record of removed) {
          const logs: LogRecord[] = chain
            .receiptsOf(record)
            .flatMap((r) => r.logs.map((log) => ({ ...log, removed: true })))
          if (logs.length > 0) listener(logs)
        }
        for (const record of added) {
          const logs = chain.receiptsOf(record).flatMap((r) => r.logs)
          if (logs.length > 0) listener(logs)
        }
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

const formattedPending = new WeakMap<TypedTransaction, TransactionJson>()

/**
 * A pending transaction as geth sends it (no block hash, number or index; `gasPrice` the fee cap),
 * formatted once however many subscribers receive it (the server then serializes it once too).
 */
function pendingTransactionJson(tx: TypedTransaction): TransactionJson {
  let json = formattedPending.get(tx)
  if (json === undefined) {
    json = formatTransaction(tx, { from: tx.getSenderAddress().bytes })
    formattedPending.set(tx, json)
  }
  return json
}
