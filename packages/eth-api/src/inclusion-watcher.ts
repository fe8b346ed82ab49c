import { bytesToHex } from '@ethereumjs/util'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import type { Hex, ReceiptRecord } from '@cairn/primitives'

/** A wait for one transaction's receipt; `stop()` ends it (the promise then never settles). */
export interface InclusionWait {
  receipt: Promise<ReceiptRecord>
  stop(): void
}

/**
 * Tells callers when a transaction joins the canonical chain (eth_sendRawTransactionSync). One
 * head-change listener serves every wait, and only while there are waits: each new block's
 * transactions are looked up once, whatever the number of callers.
 */
export class InclusionWatcher {
  readonly #waits = new Map<Hex, Set<(receipt: ReceiptRecord) => void>>()
  #unsubscribe: (() => void) | undefined

  constructor(private readonly chain: ChainStore) {}

  /**
   * Starts waiting for `hash`. Call it before checking whether the transaction is stored already:
   * a block added between that check and this call would otherwise go unseen.
   */
  watch(hash: Hex): InclusionWait {
    let resolver!: (receipt: ReceiptRecord) => void
    const receipt = new Promise<ReceiptRecord>((resolve) => {
      resolver = resolve
    })
    let waiters = this.#waits.get(hash)
    if (waiters === undefined) {
      waiters = new Set()
      this.#waits.set(hash, waiters)
    }
    waiters.add(resolver)
    this.#unsubscribe ??= this.chain.onHeadChange(({ added }) => this.#onBlocks(added))
    return { receipt, stop: () => this.#remove(hash, resolver) }
  }

  /** How many transactions are waited for (tests read it to see waits end). */
  get size(): number {
    return this.#waits.size
  }

  #onBlocks(added: readonly BlockRecord[]): void {
    for (const record of added) {
      const { transactions } = record.block
      let receipts: ReceiptRecord[] | undefined
      for (let i = 0; i < transactions.length; i++) {
        const hash = bytesToHex(transactions[i]!.hash())
        const waiters = this.#waits.get(hash)
        if (waiters === undefined) continue
        receipts ??= this.chain.receiptsOf(record)
        this.#waits.delete(hash)
        for (const resolve of waiters) resolve(receipts[i]!)
      }
    }
    this.#unsubscribeWhenIdle()
  }

  #remove(hash: Hex, resolver: (receipt: ReceiptRecord) => void): void {
    const waiters = this.#waits.get(hash)
    if (waiters?.delete(resolver) && waiters.size === 0) this.#waits.delete(hash)
    this.#unsubscribeWhenIdle()
  }

  #unsubscribeWhenIdle(): void {
    if (this.#waits.size > 0 || this.#unsubscribe === undefined) return
    this.#unsubscribe()
    this.#unsubscribe = undefined
  }
}
