import type { TypedTransaction } from '@ethereumjs/tx'
import { effectiveTip } from './decode.ts'
import { BinaryHeap } from './heap.ts'
import type { PooledTx } from './sender-txs.ts'

/**
 * Pending transactions in the order a block producer should try them (geth's
 * `transactionsByPriceAndNonce`): the best effective tip across senders, each sender's in nonce
 * order. Works on a snapshot taken when it was created; `refresh` takes in what became pending since.
 */
export interface TxSelection {
  /** The best transaction to try next, or undefined when none is left. */
  peek(): TypedTransaction | undefined
  /** The peeked transaction was included: offer its sender's next one. */
  shift(): void
  /** The peeked transaction cannot be included: skip the rest of its sender's. */
  pop(): void
  /**
   * Takes in the transactions that became pending since the selection was made or last refreshed
   * (a block still being built can include them); true when any was added. Never offers a nonce a
   * sender already passed, nor a sender `pop` skipped.
   */
  refresh(): boolean
  /** Resolves true when a transaction becomes pending in the pool, false after `ms` without one. */
  arrival(ms: number): Promise<boolean>
}

interface SenderCursor {
  txs: PooledTx[]
  index: number
  tip: bigint
  /** In the heap: has a transaction to offer. */
  live: boolean
  /** Skipped by `pop`: offers nothing more in this selection. */
  skipped: boolean
}

/**
 * `arrivals` gives, for each sender whose pending transactions changed since its last call, all of
 * them in nonce order; without it `refresh` adds nothing and `arrival` only waits.
 */
export class PriceAndNonceSelection implements TxSelection {
  private readonly heap = new BinaryHeap<SenderCursor>(
    (a, b) => a.tip > b.tip || (a.tip === b.tip && (a.txs[a.index] as PooledTx).seq < (b.txs[b.index] as PooledTx).seq),
  )
  private readonly cursors = new Map<string, SenderCursor>()

  /** `senders` holds each sender's pending transactions in nonce order. */
  constructor(
    senders: PooledTx[][],
    private readonly baseFee: bigint,
    private readonly arrivals?: () => PooledTx[][],
    /** Calls its argument when a transaction becomes pending; returns the unsubscribe. */
    private readonly onArrival?: (listener: () => void) => () => void,
  ) {
    const live: SenderCursor[] = []
    for (const txs of senders) {
      const first = txs[0]
      if (first === undefined) continue
      const cursor: SenderCursor = { txs, index: 0, tip: 0n, live: false, skipped: false }
      this.cursors.set(first.senderKey, cursor)
      // A transaction that cannot pay the base fee blocks its sender's later nonces too.
      if (first.feeCap < baseFee) continue
      cursor.tip = effectiveTip(first.tipCap, first.feeCap, baseFee)
      cursor.live = true
      live.push(cursor)
    }
    this.heap.reset(live)
  }

  peek(): TypedTransaction | undefined {
    const cursor = this.heap.peek()
    return cursor === undefined ? undefined : (cursor.txs[cursor.index] as PooledTx).tx
  }

  shift(): void {
    const cursor = this.heap.peek()
    if (cursor === undefined) return
    const next = cursor.txs[++cursor.index]
    if (next === undefined || next.feeCap < this.baseFee) {
      cursor.live = false
      this.heap.pop()
      return
    }
    cursor.tip = effectiveTip(next.tipCap, next.feeCap, this.baseFee)
    this.heap.updateTop()
  }

  pop(): void {
    const cursor = this.heap.pop()
    if (cursor === undefined) return
    cursor.live = false
    cursor.skipped = true
  }

  arrival(ms: number): Promise<boolean> {
    const onArrival = this.onArrival
    if (onArrival === undefined) return new Promise((resolve) => setTimeout(() => resolve(false), ms))
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe()
        resolve(false)
      }, ms)
      const unsubscribe = onArrival(() => {
        clearTimeout(timer)
        unsubscribe()
        resolve(true)
      })
    })
  }

  refresh(): boolean {
    if (this.arrivals === undefined) return false
    let added = false
    let reorder = false
    for (const pending of this.arrivals()) {
      const first = pending[0]
      if (first === undefined) continue
      let cursor = this.cursors.get(first.senderKey)
      if (cursor?.skipped) continue
      // Pending transactions run without a gap, so a nonce's place in the list is its distance from the first.
      const from = cursor === undefined ? 0 : Number(nextNonce(cursor) - first.nonce)
      if (from < 0 || from >= pending.length) continue
      const txs = pending.slice(from)
      const head = txs[0] as PooledTx
      if (cursor?.live) {
        // A replacement of the nonce it offers next changes its tip: the heap is put in order below.
        if (cursor.txs[cursor.index] !== head) reorder = true
        cursor.txs = txs
        cursor.index = 0
        cursor.tip = effectiveTip(head.tipCap, head.feeCap, this.baseFee)
        cursor.live = head.feeCap >= this.baseFee
        added ||= cursor.live
        continue
      }
      if (head.feeCap < this.baseFee) continue
      if (cursor === undefined) {
        cursor = { txs, index: 0, tip: 0n, live: false, skipped: false }
        this.cursors.set(first.senderKey, cursor)
      }
      cursor.txs = txs
      cursor.index = 0
      cursor.tip = effectiveTip(head.tipCap, head.feeCap, this.baseFee)
      cursor.live = true
      if (!reorder) this.heap.push(cursor)
      added = true
    }
    if (reorder) this.heap.reset([...this.cursors.values()].filter((cursor) => cursor.live))
    return added
  }
}

/** The nonce `cursor` offers next, or would once its sender has it. */
function nextNonce(cursor: SenderCursor): bigint {
  const next = cursor.txs[cursor.index]
  return next !== undefined ? next.nonce : (cursor.txs[cursor.txs.length - 1] as PooledTx).nonce + 1n
}
