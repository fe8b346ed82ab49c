export interface RpcLimits {
  /** Largest HTTP request body; larger gets HTTP 413. */
  maxBodyBytes: number
  /** Most calls in one batch. */
  maxBatchItems: number
  /** Largest response (a single result or a whole batch). */
  maxResponseBytes: number
  maxWsConnections: number
  maxSubscriptionsPerConnection: number
  /** Largest incoming WebSocket message; larger closes the connection (code 1009). */
  maxWsMessageBytes: number
  /** A client whose unsent data exceeds this is too slow to keep up and is dropped. */
  maxWsBufferedBytes: number
}

export const DEFAULT_RPC_LIMITS: RpcLimits = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatchItems: 1000,
  maxResponseBytes: 25 * 1024 * 1024,
  maxWsConnections: 1000,
  maxSubscriptionsPerConnection: 1000,
  maxWsMessageBytes: 15 * 1024 * 1024,
  maxWsBufferedBytes: 16 * 1024 * 1024,
}

/** Defaults for anything not set (an explicit undefined counts as not set). */
export function resolveLimits(overrides: Partial<RpcLimits> = {}): RpcLimits {
  const limits = { ...DEFAULT_RPC_LIMITS }
  for (const key of Object.keys(limits) as Array<keyof RpcLimits>) {
    const value = overrides[key]
    if (value !== undefined) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`rpc limit ${key} must be a positive integer, got ${value}`)
      }
      limits[key] = value
    }
  }
  return limits
}
