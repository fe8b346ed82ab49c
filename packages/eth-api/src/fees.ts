import type { BlockRecord } from '@cairn/chain'
import { effectiveGasPrice } from '@cairn/executor'

/** Tip suggested when recent blocks say nothing (empty blocks): 1 gwei, as anvil and geth --dev answer. */
export const DEFAULT_TIP = 1_000_000_000n

/** Tips below this are not samples (geth's `IgnorePrice`): a few 0- or 1-wei transactions must not drag the suggestion down. */
export const IGNORED_TIP_BELOW = 2n

/** Lowest tips sampled per block (geth's `sampleNumber`). */
const SAMPLES_PER_BLOCK = 3

/**
 * Suggested priority fee, as geth's oracle makes it: the 60th percentile of the three lowest tips of at
 * least 2 wei in each of the last blocks, where a block with none counts once at the default. So an idle
 * chain answers the default, and the suggestion follows what busy blocks paid.
 */
export function suggestTip(recent: BlockRecord[]): bigint {
  const samples: bigint[] = []
  for (const { block } of recent) {
    const baseFee = block.header.baseFeePerGas ?? 0n
    const tips = block.transactions
      .map((tx) => effectiveGasPrice(tx, baseFee) - baseFee)
      .filter((tip) => tip >= IGNORED_TIP_BELOW)
      .sort(compareBigInt)
    samples.push(...(tips.length > 0 ? tips.slice(0, SAMPLES_PER_BLOCK) : [DEFAULT_TIP]))
  }
  if (samples.length === 0) return DEFAULT_TIP
  samples.sort(compareBigInt)
  return samples[Math.floor(((samples.length - 1) * 60) / 100)]!
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Per-block reward percentiles as geth computes them: tips weighted by gas used. */
export function rewardPercentiles(record: BlockRecord, percentiles: number[]): bigint[] {
  const { block, receipts } = record
  const baseFee = block.header.baseFeePerGas ?? 0n
  if (block.transactions.length === 0) return percentiles.map(() => 0n)
  const sorted = block.transactions
    .map((tx, i) => ({ tip: effectiveGasPrice(tx, baseFee) - baseFee, gas: receipts[i]!.gasUsed }))
    .sort((a, b) => compareBigInt(a.tip, b.tip))
  const total = block.header.gasUsed
  const rewards: bigint[] = []
  let index = 0
  let sum = sorted[0]!.gas
  for (const p of percentiles) {
    // geth's uint64(float64(gasUsed) * p / 100): in floating point, so a percentile with more than
    // two decimals (50.004) moves the threshold as it does there.
    const threshold = BigInt(Math.floor((Number(total) * p) / 100))
    while (sum < threshold && index < sorted.length - 1) {
      index++
      sum += sorted[index]!.gas
    }
    rewards.push(sorted[index]!.tip)
  }
  return rewards
}
