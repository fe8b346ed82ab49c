/** Tokens refill continuously at `ratePerSecond` up to `burst`; each event takes one. */
export interface RateLimit {
  ratePerSecond: number
  burst: number
}

export class TokenBucket {
  private tokens: number
  private updatedAt: number

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst
    this.updatedAt = now
  }

  /** Takes `cost` tokens if available; `false` means the event is over the limit. */
  take(now: number, cost = 1): boolean {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.ratePerSecond)
    this.updatedAt = now
    if (this.tokens < cost) return false
    this.tokens -= cost
    return true
  }

  /** True once the bucket has refilled: it carries no state worth keeping. */
  isFull(now: number): boolean {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000
    return this.tokens + elapsed * this.limit.ratePerSecond >= this.limit.burst
  }
}

/** One token bucket per key (peer id, or peer id and topic), created on first use and swept when full. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: () => number = Date.now,
  ) {}

  allow(key: string, cost = 1): boolean {
    const now = this.clock()
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.limit, now)
      this.buckets.set(key, bucket)
    }
    return bucket.take(now, cost)
  }

  /** Drops buckets that refilled (peers that went quiet), bounding memory by active peers. */
  sweep(): void {
    const now = this.clock()
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key)
  }

  get size(): number {
    return this.buckets.size
  }
}
