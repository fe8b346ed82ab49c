import { createBlock } from '@ethereumjs/block'
import { type TypedTransaction, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it, vi } from 'vitest'
import type { BlockRecord, ChainStore, HeadChange } from '@cairn/chain'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { chainSubscriptionSource } from './subscriptions-source.ts'

const common = createChainCommon(devGenesis())
const record = (number: bigint, parent?: BlockRecord): BlockRecord => ({
  block: createBlock({ header: { number, parentHash: parent?.block.hash() } }, { common }),
  receipts: [],
  senders: [],
})

/** Just what the source uses of the chain store: head changes and the latest head. */
function fakeChain() {
  const listeners: ((change: HeadChange) => void)[] = []
  let latest: BlockRecord | undefined
  const chain = {
    onHeadChange(listener: (change: HeadChange) => void) {
      listeners.push(listener)
      return () => {}
    },
    head: () => latest!.block,
    receiptsOf: () => [],
  } as unknown as ChainStore
  const emit = (change: HeadChange, head: BlockRecord) => {
    latest = head
    for (const listener of listeners) listener(change)
  }
  return { chain, emit }
}

describe('chainSubscriptionSource newHeads', () => {
  const mempool = { onPending: () => () => {} }

  it('announces every block that joins the canonical chain', () => {
    const { chain, emit } = fakeChain()
    const heads: string[] = []
    chainSubscriptionSource(chain, mempool).onNewHead((h) => heads.push((h as { hash: string }).hash))
    const one = record(1n)
    const two = record(2n, one)
    emit({ added: [one, two], removed: [] }, two)
    expect(heads).toEqual([bytesToHex(one.block.hash()), bytesToHex(two.block.hash())])
  })

  it('announces the head a rewind lands on when it adds no block', () => {
    const { chain, emit } = fakeChain()
    const safe = record(5n)
    const dropped = [record(7n), record(6n, safe)]
    const heads: string[] = []
    chainSubscriptionSource(chain, mempool).onNewHead((h) => heads.push((h as { hash: string }).hash))
    emit({ added: [], removed: dropped }, safe)
    expect(heads).toEqual([bytesToHex(safe.block.hash())])
  })

  it('hands every subscriber the same header and log objects (formatted once, not once per subscriber)', () => {
    const { chain, emit } = fakeChain()
    const log = { address: new Uint8Array(20), topics: [], data: new Uint8Array(0) }
    let receiptReads = 0
    ;(chain as { receiptsOf: unknown }).receiptsOf = () => {
      receiptReads++
      return [{ logs: [log] }]
    }
    const source = chainSubscriptionSource(chain, mempool)
    const heads: unknown[] = []
    const logs: unknown[][] = []
    for (let i = 0; i < 3; i++) {
      source.onNewHead((h) => heads.push(h))
      source.onLogs((batch) => logs.push(batch))
    }
    const one = record(1n)
    emit({ added: [one], removed: [] }, one)
    expect(heads).toHaveLength(3)
    expect(new Set(heads).size).toBe(1)
    expect(logs).toHaveLength(3)
    expect(new Set(logs).size).toBe(1)
    expect(receiptReads).toBe(1)
  })
})

describe('chainSubscriptionSource pending transactions', () => {
  /** Just what the source uses of the mempool: its pending listeners. */
  function fakeMempool() {
    const listeners = new Set<(tx: TypedTransaction) => void>()
    return {
      onPending(listener: (tx: TypedTransaction) => void) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      announce: (tx: TypedTransaction) => {
        for (const listener of listeners) listener(tx)
      },
      get listeners() {
        return listeners.size
      },
    }
  }
  const { chain } = fakeChain()
  const signed = (nonce: number) =>
    createFeeMarket1559Tx(
      {
        nonce,
        to: DEV_ACCOUNTS[1]!.address,
        value: 5n,
        gasLimit: 21_000n,
        maxFeePerGas: 3_000_000_000n,
        maxPriorityFeePerGas: 2n,
        chainId: common.chainId(),
      },
      { common, freeze: false },
    ).sign(hexToBytes(DEV_ACCOUNTS[0]!.privateKey))

  it('sends full subscribers the transaction as geth formats a pending one, formatted once for all', () => {
    const mempool = fakeMempool()
    const source = chainSubscriptionSource(chain, mempool)
    const first: unknown[] = []
    const second: unknown[] = []
    const hashes: string[] = []
    source.onPendingTransactionFull!((tx) => first.push(tx))
    const stop = source.onPendingTransactionFull!((tx) => second.push(tx))
    source.onPendingTransaction((hash) => hashes.push(hash))
    const tx = signed(3)
    mempool.announce(tx)
    expect(first).toEqual([
      expect.objectContaining({
        hash: bytesToHex(tx.hash()),
        from: DEV_ACCOUNTS[0]!.address.toLowerCase(),
        nonce: '0x3',
        value: '0x5',
        blockHash: null,
        blockNumber: null,
        transactionIndex: null,
        // pending: the fee cap, not an effective price
        gasPrice: '0xb2d05e00',
      }),
    ])
    expect(second[0]).toBe(first[0])
    expect(hashes).toEqual([bytesToHex(tx.hash())])
    stop()
    expect(mempool.listeners).toBe(2)
  })

  it('formats nothing for hash subscribers', () => {
    const mempool = fakeMempool()
    const source = chainSubscriptionSource(chain, mempool)
    const hashes: string[] = []
    source.onPendingTransaction((hash) => hashes.push(hash))
    const tx = signed(0)
    const sender = vi.spyOn(tx, 'getSenderAddress')
    mempool.announce(tx)
    expect(hashes).toEqual([bytesToHex(tx.hash())])
    expect(sender).not.toHaveBeenCalled()
  })
})
