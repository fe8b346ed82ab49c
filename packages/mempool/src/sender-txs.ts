import type { Address } from '@ethereumjs/util'
import type { DecodedTransaction } from './decode.ts'

/** A transaction while it sits in the pool. */
export interface PooledTx extends DecodedTransaction {
  /** Arrival order: breaks ties between equal tips, oldest first. */
  seq: number
  /** When it entered the pool (the pool's milliseconds clock). */
  addedAt: number
  /** True while the transaction is executable (contiguous from its sender's state nonce). */
  pending: boolean
  /** Set once the transaction left the pool; heap entries pointing at it are then stale. */
  removed: boolean
  /** Effective tip at the pool's current base fee: what eviction compares. */
  priority: bigint
  /** Identifies the transaction's one live eviction-heap entry; 0 when it has none yet. */
  heapStamp: number
  /** While pending: the summed cost of its sender's pending transactions up to and including it. */
  cumulativeCost: bigint
}

/**
 * One sender's transactions, sorted by nonce, with the account state they were validated
 * against. The first `pendingCount` entries are pending: their nonces run without a gap from
 * `nonce`; everything after the first gap is queued.
 */
export class SenderTxs {
  readonly txs: PooledTx[] = []
  pendingCount = 0
  /** Sum of the pending transactions' costs: geth checks new transactions against balance minus this. */
  pendingCost = 0n
  /** Pending and queued counts as last added into the pool-wide totals. */
  countedPending = 0
  countedQueued = 0
  /** Pool head epoch the account state was read at. */
  epoch = -1
  nonce = 0n
  balance = 0n
  /** Last time the sender added a transaction or had one promoted (queued lifetime runs from here). */
  lastActivity: number

  constructor(
    readonly address: Address,
    readonly key: string,
    now: number,
  ) {
    this.lastActivity = now
  }

  /** A copy of the pending prefix of `txs`, in nonce order. */
  pendingTxs(): PooledTx[] {
    return this.txs.slice(0, this.pendingCount)
  }

  get queuedCount(): number {
    return this.txs.length - this.pendingCount
  }

  /** The nonce a new transaction needs to be executable right away. */
  get nextPendingNonce(): bigint {
    return this.nonce + BigInt(this.pendingCount)
  }

  /** Index of `nonce` in `txs`, or of where it would go. */
  indexOf(nonce: bigint): number {
    const txs = this.txs
    let low = 0
    let high = txs.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((txs[middle] as PooledTx).nonce < nonce) low = middle + 1
      else high = middle
    }
    return low
  }

  get(nonce: bigint): PooledTx | undefined {
    const tx = this.txs[this.indexOf(nonce)]
    return tx !== undefined && tx.nonce === nonce ? tx : undefined
  }

  /** Inserts at the nonce's place (the caller has checked the nonce is free); returns the index. */
  insert(tx: PooledTx): number {
    const index = this.indexOf(tx.nonce)
    if (index === this.txs.length) this.txs.push(tx)
    else this.txs.splice(index, 0, tx)
    return index
  }

  /** Puts `tx` in the place of `old` (same nonce); returns the index. */
  replace(old: PooledTx, tx: PooledTx): number {
    const index = this.indexOf(old.nonce)
    this.txs[index] = tx
    return index
  }

  remove(tx: PooledTx): void {
    const index = this.indexOf(tx.nonce)
    if (this.txs[index] === tx) this.txs.splice(index, 1)
  }

  /** Removes the transaction at `nonce` and every one above it; returns them. */
  removeFrom(nonce: bigint): PooledTx[] {
    return this.txs.splice(this.indexOf(nonce))
  }

  /** Removes the transactions `drop` selects; returns them. */
  removeWhere(drop: (tx: PooledTx) => boolean): PooledTx[] {
    const removed: PooledTx[] = []
    let kept = 0
    for (const tx of this.txs) {
      if (drop(tx)) removed.push(tx)
      else this.txs[kept++] = tx
    }
    this.txs.length = kept
    return removed
  }

  /** Number of queued transactions that would become pending if `nonce` were filled. */
  contiguousAfter(nonce: bigint): number {
    let count = 0
    let expected = nonce + 1n
    for (let i = this.indexOf(expected); i < this.txs.length; i++) {
      if ((this.txs[i] as PooledTx).nonce !== expected) break
      count++
      expected++
    }
    return count
  }

  /**
   * Recomputes the pending prefix after a change at index `changedFrom` (entries before it are
   * untouched, so their status stands) and reports every transaction whose status changed, or that
   * has none yet, to `onStatus`. Walks only from the change, so appending a nonce costs O(1) here.
   */
  settle(changedFrom: number, onStatus: (tx: PooledTx, pending: boolean) => void): void {
    const txs = this.txs
    let index = Math.min(changedFrom, this.pendingCount)
    let expected = this.nonce + BigInt(index)
    let pendingCost = index > 0 ? (txs[index - 1] as PooledTx).cumulativeCost : 0n
    for (; index < txs.length; index++) {
      const tx = txs[index] as PooledTx
      if (tx.nonce !== expected) break
      expected++
      pendingCost += tx.cost
      tx.cumulativeCost = pendingCost
      if (!tx.pending || tx.heapStamp === 0) onStatus(tx, true)
    }
    this.pendingCount = index
    this.pendingCost = pendingCost
    for (; index < txs.length; index++) {
      const tx = txs[index] as PooledTx
      if (tx.pending || tx.heapStamp === 0) onStatus(tx, false)
    }
  }
}
