import type { BlockRecord } from '@cairn/chain'
import { effectiveGasPrice } from '@cairn/executor'

/** Tip suggested when recent blocks say nothing (empty blocks): 1 gwei, as anvil and geth --dev answer. */
export const DEFAULT_TIP = 1_000_000_000n

/**
 * Suggested priority fee: the 60th percentile of the lowest tip in each of the last blocks
 * (geth's oracle idea), never below 1 wei and the default when the blocks are empty.
 */
export function suggestTip(recent: BlockRecord[]): bigint {
  const lows: bigint[] = []
  for (const { block } of recent) {
    const baseFee = block.header.baseFeePerGas ?? 0n
    let low: bigint | undefined
    for (const tx of block.transactions) {
      const tip = effectiveGasPrice(tx, baseFee) - baseFee
      if (low === undefined || tip < low) low = tip
    }
    if (low !== undefined) lows.push(low)
  }
  if (lows.length === 0) return DEFAULT_TIP
  lows.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const tip = lows[Math.floor(((lows.length - 1) * 60) / 100)]!
  return tip > 0n ? tip : 1n
}

/** Per-block reward percentiles as geth computes them: tips weighted by gas used. */
export function rewardPercentiles(record: BlockRecord, percentiles: number[]): bigint[] {
  const { block, receipts } = record
  const baseFee = block.header.baseFeePerGas ?? 0n
  if (block.transactions.length === 0) return percentiles.map(() => 0n)
  const sorted = block.transactions
    .map((tx, i) => ({ tip: effectiveGasPrice(tx, baseFee) - baseFee, gas: receipts[i]!.gasUsed }))
    .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0))
  const total = block.header.gasUsed
  const rewards: bigint[] = []
  let index = 0
  let sum = sorted[0]!.gas
  for (const p of percentiles) {
    const threshold = (BigInt(Math.round(p * 100)) * total) / 10_000n
    while (sum < threshold && index < sorted.length - 1) {
      index++
      sum += sorted[index]!.gas
    }
    rewards.push(sorted[index]!.tip)
  }
  return rewards
}
