import type { PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { L1Watcher } from './l1-watcher.ts'

/** An L1 whose head is `head.value`; finalized trails by 2. */
function fakeL1(head: { value: bigint }): PublicClient {
  const block = (number: bigint) => ({
    number,
    hash: `0x${number.toString(16).padStart(64, 'a')}`,
    stateRoot: `0x${number.toString(16).padStart(64, 'b')}`,
    timestamp: 1000n + number,
  })
  return {
    getBlock: async (args: { blockTag?: string; blockNumber?: bigint }) =>
      block(args.blockNumber ?? (args.blockTag === 'finalized' ? head.value - 2n : head.value)),
  } as unknown as PublicClient
}

describe('L1Watcher anchor', () => {
  it('follows the head at the lag when the interval is 1', async () => {
    const head = { value: 10n }
    const watcher = new L1Watcher(fakeL1(head), { anchorLag: 2 })
    await watcher.refresh()
    expect(watcher.anchor()?.number).toBe(8n)
    head.value = 11n
    await watcher.refresh()
    expect(watcher.anchor()?.number).toBe(9n)
  })

  it('advances only once the target is a whole interval past the current anchor', async () => {
    const head = { value: 10n }
    const watcher = new L1Watcher(fakeL1(head), { anchorLag: 2, anchorInterval: 4 })
    await watcher.refresh()
    expect(watcher.anchor()?.number).toBe(8n)
    for (const h of [11n, 12n, 13n]) {
      head.value = h
      await watcher.refresh()
      expect(watcher.anchor()?.number).toBe(8n)
    }
    // Just before it moves, the anchor is as old as it gets: the lag plus the interval, less one.
    expect(Number(head.value - watcher.anchor()!.number)).toBe(watcher.maxAnchorAge)
    head.value = 14n
    await watcher.refresh()
    const anchor = watcher.anchor()!
    expect(anchor.number).toBe(12n)
    // The anchor carries the hash and state root of that L1 block, not of the head.
    expect(anchor.stateRoot[31]).toBe(0xbc) // block 12 = 0x…bbbc
  })

  it('never moves the anchor back when L1 reorgs to a shorter chain', async () => {
    const head = { value: 20n }
    const watcher = new L1Watcher(fakeL1(head), { anchorLag: 2, anchorInterval: 4 })
    await watcher.refresh()
    head.value = 15n
    await watcher.refresh()
    expect(watcher.anchor()?.number).toBe(18n)
  })
})
