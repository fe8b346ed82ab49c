import { describe, expect, it } from 'vitest'
import { BLOB_REPLACEMENT_BUMP_PERCENT, bumpFees } from './send-blob-transaction.ts'

describe('bumpFees', () => {
  const fees = { maxFeePerGas: 3_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, maxFeePerBlobGas: 7n }

  it('doubles all three caps by default, as geth and reth require to replace a blob transaction', () => {
    expect(BLOB_REPLACEMENT_BUMP_PERCENT).toBe(100)
    expect(bumpFees(fees)).toEqual({
      maxFeePerGas: 6_000_000_000n,
      maxPriorityFeePerGas: 2_000_000_000n,
      maxFeePerBlobGas: 14n,
    })
  })

  it('rounds up and always raises each cap by at least 1 wei', () => {
    expect(bumpFees(fees, { percent: 10 })).toEqual({
      maxFeePerGas: 3_300_000_000n,
      maxPriorityFeePerGas: 1_100_000_000n,
      maxFeePerBlobGas: 8n, // 7.7 rounded up
    })
    expect(bumpFees({ maxFeePerGas: 0n, maxPriorityFeePerGas: 1n, maxFeePerBlobGas: 1n }, { percent: 10 })).toEqual({
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 2n,
      maxFeePerBlobGas: 2n,
    })
  })

  it('never goes below a fresh estimate passed as atLeast', () => {
    const market = { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, maxFeePerBlobGas: 1_000n }
    expect(bumpFees(fees, { atLeast: market }).maxFeePerBlobGas).toBe(1_000n)
    expect(bumpFees(fees, { atLeast: market }).maxFeePerGas).toBe(6_000_000_000n)
  })
})
