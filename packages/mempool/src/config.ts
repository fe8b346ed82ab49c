import { MempoolError, MempoolErrorCode } from './errors.ts'

export interface MempoolConfig {
  /** Chain id every transaction must be signed for (EIP-155 / typed-tx chain id). */
  chainId: bigint
  /** A transaction whose gas limit exceeds this can never be included: rejected on entry. */
  blockGasLimit: bigint
  /** Lowest priority fee (tip) the pool admits, in wei. */
  minTip: bigint
  /** A replacement (same sender and nonce) must raise both tip and fee cap by this many percent. */
  priceBumpPercent: number
  /**
   * Executable transactions per sender guaranteed room in a full pool (geth's meaning): a sender
   * may hold more while `globalSlots` has room, but a full pool evicts nothing for a sender past it.
   */
  accountSlots: number
  /** Non-executable (nonce-gapped) transactions one sender may hold. */
  accountQueue: number
  /** Executable transactions across all senders. */
  globalSlots: number
  /** Non-executable transactions across all senders. */
  globalQueue: number
  /** Largest encoded transaction accepted, in bytes (geth: 4 slots of 32 KiB). */
  maxTxBytes: number
  /** Queued transactions of a sender that saw no activity for this long are dropped. */
  lifetimeMs: number
}

export const DEFAULT_MEMPOOL_CONFIG: Omit<MempoolConfig, 'chainId' | 'blockGasLimit'> = {
  minTip: 0n,
  priceBumpPercent: 10,
  accountSlots: 64,
  accountQueue: 64,
  globalSlots: 8192,
  globalQueue: 2048,
  maxTxBytes: 128 * 1024,
  lifetimeMs: 3 * 60 * 60 * 1000,
}

/**
 * Fills in defaults and checks every setting; the error names the setting and the bad value.
 * `chainId` may come from the chain's Common when the caller leaves it out.
 */
export function resolveMempoolConfig(
  partial: Partial<MempoolConfig>,
  fallback: { chainId: bigint; blockGasLimit?: bigint },
): MempoolConfig {
  const config: MempoolConfig = {
    ...DEFAULT_MEMPOOL_CONFIG,
    chainId: fallback.chainId,
    blockGasLimit: fallback.blockGasLimit ?? 30_000_000n,
    ...definedOnly(partial),
  }
  if (config.chainId !== fallback.chainId) {
    invalid('chainId', config.chainId, `must equal the chain id of the Common (${fallback.chainId})`)
  }
  for (const key of ['blockGasLimit', 'chainId'] as const) {
    if (typeof config[key] !== 'bigint' || config[key] <= 0n) invalid(key, config[key], 'must be a positive bigint')
  }
  if (typeof config.minTip !== 'bigint' || config.minTip < 0n) invalid('minTip', config.minTip, 'must be a bigint ≥ 0')
  for (const key of ['accountSlots', 'accountQueue', 'globalSlots', 'globalQueue', 'maxTxBytes'] as const) {
    if (!Number.isSafeInteger(config[key]) || config[key] < 1) invalid(key, config[key], 'must be an integer ≥ 1')
  }
  for (const key of ['priceBumpPercent', 'lifetimeMs'] as const) {
    if (!Number.isSafeInteger(config[key]) || config[key] < 0) invalid(key, config[key], 'must be an integer ≥ 0')
  }
  return config
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(key: string, value: unknown, rule: string): never {
  throw new MempoolError(MempoolErrorCode.InvalidConfig, `mempool config ${key} ${rule}, got ${String(value)}`, {
    details: { setting: key, value: String(value) },
  })
}
