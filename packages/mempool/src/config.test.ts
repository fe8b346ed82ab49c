import { describe, expect, it } from 'vitest'
import { DEFAULT_MEMPOOL_CONFIG, resolveMempoolConfig } from './config.ts'
import { MempoolError } from './errors.ts'

describe('resolveMempoolConfig', () => {
  it('fills geth-like defaults and takes chain id and gas limit from the chain', () => {
    const config = resolveMempoolConfig({ minTip: 5n }, { chainId: 77077n, blockGasLimit: 60_000_000n })
    expect(config).toEqual({ ...DEFAULT_MEMPOOL_CONFIG, chainId: 77077n, blockGasLimit: 60_000_000n, minTip: 5n })
    expect(config.priceBumpPercent).toBe(10)
    expect(config.maxTxBytes).toBe(131_072)
  })

  it('names the setting and the bad value', () => {
    expect(() => resolveMempoolConfig({ globalSlots: 0 }, { chainId: 1n })).toThrow(
      'mempool config globalSlots must be an integer ≥ 1, got 0',
    )
    expect(() => resolveMempoolConfig({ chainId: 5n }, { chainId: 1n })).toThrow(MempoolError)
  })
})
