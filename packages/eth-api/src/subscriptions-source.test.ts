import { createBlock } from '@ethereumjs/block'
import { bytesToHex } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import type { BlockRecord, ChainStore, HeadChange } from '@cairn/chain'
import { createChainCommon, devGenesis } from '@cairn/primitives'
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
})
