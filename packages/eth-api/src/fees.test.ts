import type { BlockRecord } from '@cairn/chain'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TIP, rewardPercentiles, suggestTip } from './fees.ts'

const BASE_FEE = 7n

/** A block whose transactions pay these tips over its base fee (1559 transactions, fee cap well above). */
function blockPaying(...tips: bigint[]): BlockRecord {
  const transactions = tips.map((tip) => ({ maxFeePerGas: BASE_FEE + tip + 1_000n, maxPriorityFeePerGas: tip }))
  return { block: { header: { baseFeePerGas: BASE_FEE }, transactions }, receipts: [] } as unknown as BlockRecord
}

describe('suggestTip', () => {
  it('answers the default on an idle chain', () => {
    expect(suggestTip([])).toBe(DEFAULT_TIP)
    expect(suggestTip(Array.from({ length: 20 }, () => blockPaying()))).toBe(DEFAULT_TIP)
  })

  it('is not dragged down by a few 0- and 1-wei tips among empty blocks', () => {
    const recent = [blockPaying(1n), blockPaying(0n, 1n), ...Array.from({ length: 18 }, () => blockPaying())]
    expect(suggestTip(recent)).toBe(DEFAULT_TIP)
  })

  it('follows what busy blocks paid: the 60th percentile of the three lowest tips per block', () => {
    // Each block's three lowest tips are 2, 3, 4 gwei; the 5 and 6 gwei ones are not samples.
    const gwei = 1_000_000_000n
    const recent = Array.from({ length: 20 }, () => blockPaying(6n * gwei, 2n * gwei, 5n * gwei, 4n * gwei, 3n * gwei))
    expect(suggestTip(recent)).toBe(3n * gwei)
  })

  it('takes low tips of 2 wei and more as samples when blocks are full of them', () => {
    expect(suggestTip(Array.from({ length: 20 }, () => blockPaying(2n, 2n, 2n)))).toBe(2n)
  })
})

describe('rewardPercentiles', () => {
  /** A block of `blockPaying`'s transactions, each using `gas`, the header's gasUsed their sum. */
  function blockUsing(gas: bigint[], ...tips: bigint[]): BlockRecord {
    const record = blockPaying(...tips) as unknown as {
      block: { header: { gasUsed: bigint } }
      receipts: { gasUsed: bigint }[]
    }
    record.block.header.gasUsed = gas.reduce((a, b) => a + b, 0n)
    record.receipts = gas.map((gasUsed) => ({ gasUsed }))
    return record as unknown as BlockRecord
  }

  it('weights tips by gas used, the threshold in floating point as geth has it', () => {
    // Sorted by tip: 1 gwei (21,000 gas), 2 gwei (21,000), 3 gwei (58,000); 100,000 gas in all.
    const record = blockUsing([58_000n, 21_000n, 21_000n], 3n, 1n, 2n)
    expect(rewardPercentiles(record, [0, 21, 21.001, 42, 42.5, 100])).toEqual([1n, 1n, 2n, 2n, 3n, 3n])
    // geth: uint64(float64(42,000) * 50.004 / 100) = 21,001, past the first transaction's 21,000
    // (a threshold from the percentile rounded to two decimals stayed at 21,000).
    const even = blockUsing([21_000n, 21_000n], 1n, 2n)
    expect(rewardPercentiles(even, [50, 50.004])).toEqual([1n, 2n])
  })

  it('answers zeros for an empty block', () => {
    expect(rewardPercentiles(blockUsing([]), [10, 90])).toEqual([0n, 0n])
  })
})
