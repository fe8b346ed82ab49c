import type { TypedTransaction } from '@ethereumjs/tx'
import { effectiveTip } from './decode.ts'
import { BinaryHeap } from './heap.ts'
import type { PooledTx } from './sender-txs.ts'

/**
 * Pending transactions in the order a block producer should try them (geth's
 * `transactionsByPriceAndNonce`): the best effective tip across senders, each sender's in nonce
 * order. Works on a snapshot taken when it was created; the pool may change meanwhile.
 */
export interface TxSelection {
  /** The best transaction to try next, or undefined when none is left. */
  peek(): TypedTransaction | undefined
  /** The peeked transaction was included: offer its sender's next one. */
  shift(): void
  /** The peeked transaction cannot be included: skip the rest of its sender's. */
  pop(): void
}

interface SenderCursor {
  txs: PooledTx[]
  index: number
  tip: bigint
}

export class PriceAndNonceSelection implements TxSelection {
  private readonly heap = new BinaryHeap<SenderCursor>(
    (a, b) => a.tip > b.tip || (a.tip === b.tip && (a.txs[a.index] as PooledTx).seq < (b.txs[b.index] as PooledTx).seq),
  )

  /** `senders` holds each sender's pending transactions in nonce order. */
  constructor(
    senders: PooledTx[][],
    private readonly baseFee: bigint,
  ) {
    const cursors: SenderCursor[] = []
    for (const txs of senders) {
      const first = txs[0]
      // A transaction that cannot pay the base fee blocks its sender's later nonces too.
      if (first === undefined || first.feeCap < baseFee) continue
      cursors.push({ txs, index: 0, tip: effectiveTip(first.tipCap, first.feeCap, baseFee) })
    }
    this.heap.reset(cursors)
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
      this.heap.pop()
      return
    }
    cursor.tip = effectiveTip(next.tipCap, next.feeCap, this.baseFee)
    this.heap.updateTop()
  }

  pop(): void {
    this.heap.pop()
  }
}
