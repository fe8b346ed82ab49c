import { createBlock } from '@ethereumjs/block'
import { Common, Mainnet } from '@ethereumjs/common'
import { describe, expect, it } from 'vitest'
import { readBlockHeader } from './block-rlp.ts'

describe('readBlockHeader', () => {
  it('reads hash, parent hash, number and timestamp exactly as ethereumjs computes them', () => {
    const common = new Common({ chain: Mainnet, hardfork: 'prague' })
    const parentHash = new Uint8Array(32).fill(7)
    const block = createBlock(
      { header: { number: 42n, timestamp: 1_700_000_123n, parentHash, gasLimit: 30_000_000n } },
      { common },
    )
    const fields = readBlockHeader(block.serialize())
    expect(fields.hash).toEqual(block.hash())
    expect(fields.parentHash).toEqual(parentHash)
    expect(fields.number).toBe(42n)
    expect(fields.timestamp).toBe(1_700_000_123n)
  })

  it('refuses bytes that are not a block', () => {
    expect(() => readBlockHeader(new Uint8Array([0xff, 0x00]))).toThrow(/not valid RLP/)
    expect(() => readBlockHeader(new Uint8Array([0xc2, 0x80, 0x80]))).toThrow(/header list/)
    expect(() => readBlockHeader(new Uint8Array([0xc2, 0xc0, 0xc0]))).toThrow(/0 fields/)
  })
})
