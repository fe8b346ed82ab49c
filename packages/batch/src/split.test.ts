import { beforeAll, describe, expect, it } from 'vitest'
import { blocksOf, randomBytes, seededRandom, signedTransfers } from '../test/fixtures.ts'
import { COINBASE } from '../test/payloads.ts'
import { decodeBatch } from './codec.ts'
import type { BatchBlock } from './manifest.ts'
import { splitIntoBatches } from './split.ts'

describe('splitIntoBatches', () => {
  let blocks: BatchBlock[]
  beforeAll(() => {
    const txs = [
      ...signedTransfers('eth', 1200, { senders: 100 }),
      ...signedTransfers('erc20', 1200, { senders: 100, seed: 9 }),
    ]
    blocks = blocksOf(txs, 40)
  })

  it('cuts blocks into in-order batches that each fit the budget and decode to their blocks', () => {
    const maxPayloadBytes = 40_000
    const batches = splitIntoBatches(blocks, { maxPayloadBytes })
    expect(batches.length).toBeGreaterThan(3)
    expect(batches.flatMap((b) => b.manifest.blocks)).toEqual(blocks)
    for (const batch of batches) {
      expect(batch.payload.length).toBeLessThanOrEqual(maxPayloadBytes)
      expect(decodeBatch(batch.payload)).toEqual({ ok: true, manifest: batch.manifest })
    }
    // All but the last are filled well: adding their next block would not have fit by much.
    for (const batch of batches.slice(0, -1)) expect(batch.payload.length).toBeGreaterThan(maxPayloadBytes * 0.85)
  })

  it('fits the budget with every compression format', () => {
    for (const compression of ['none', 'deflate'] as const) {
      const batches = splitIntoBatches(blocks, { maxPayloadBytes: 100_000, compression })
      expect(batches.flatMap((b) => b.manifest.blocks)).toHaveLength(blocks.length)
      for (const batch of batches) {
        expect(batch.payload.length).toBeLessThanOrEqual(100_000)
        expect(batch.payload[4]).toBe(compression === 'none' ? 0 : 1)
      }
    }
  })

  it('puts everything in one batch when it fits the default 6-blob budget', () => {
    const batches = splitIntoBatches(blocks)
    expect(batches).toHaveLength(1)
    expect(batches[0]!.manifest.blocks).toHaveLength(blocks.length)
  })

  it('respects maxBlocksPerBatch', () => {
    const batches = splitIntoBatches(blocks.slice(0, 10), { maxBlocksPerBatch: 3 })
    expect(batches.map((b) => b.manifest.blocks.length)).toEqual([3, 3, 3, 1])
  })

  it('returns no batches for no blocks', () => {
    expect(splitIntoBatches([])).toEqual([])
  })

  it('throws BLOCK_TOO_LARGE for a block that alone exceeds the budget', () => {
    const random = seededRandom(11)
    const huge: BatchBlock = {
      timestamp: 1n,
      gasLimit: 1n,
      coinbase: COINBASE,
      anchorBlockNumber: 1n,
      transactions: [randomBytes(random, 20_000)],
    }
    expect(() => splitIntoBatches([blocks[0]!, huge], { maxPayloadBytes: 10_000 })).toThrow(
      expect.objectContaining({ code: 'BLOCK_TOO_LARGE', details: expect.objectContaining({ blockIndex: 1 }) }),
    )
  })
})
