import { describe, expect, it } from 'vitest'
import { DEFAULT_SCORING, PeerScoreBook } from './peer-scoring.ts'
import { KeyedRateLimiter, TokenBucket } from './rate-limit.ts'

describe('PeerScoreBook', () => {
  it('bans a peer when invalid messages take it to the threshold, and only once', () => {
    let now = 1_000
    const book = new PeerScoreBook(DEFAULT_SCORING, () => now)
    const outcomes = Array.from({ length: 6 }, () => book.penalize('p', 'invalid-message'))
    // -10 per invalid message, ban at -50: the fifth offence bans.
    expect(outcomes).toEqual([false, false, false, false, true, false])
    expect(book.isBanned('p')).toBe(true)
    expect(book.isBanned('q')).toBe(false)
    expect(book.banned()).toEqual([{ peer: 'p', until: 1_000 + DEFAULT_SCORING.banDurationMs }])
    now += DEFAULT_SCORING.banDurationMs + 1
    expect(book.isBanned('p')).toBe(false)
    expect(book.score('p')).toBe(0)
  })

  it('forgives slowly: penalties halve every half-life', () => {
    let now = 0
    const book = new PeerScoreBook({ ...DEFAULT_SCORING, decayHalfLifeMs: 1_000 }, () => now)
    book.penalize('p', 'invalid-message')
    expect(book.score('p')).toBe(-10)
    now = 1_000
    expect(book.score('p')).toBeCloseTo(-5)
    // Four offences spread over time never reach -50.
    for (let i = 0; i < 4; i++) {
      now += 2_000
      expect(book.penalize('p', 'invalid-message')).toBe(false)
    }
    expect(book.score('p')).toBeGreaterThan(-20)
    now += 60_000
    book.sweep()
    expect(book.score('p')).toBe(0)
  })
})

describe('token buckets', () => {
  it('allows a burst, then the refill rate', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3 }, 0)
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false])
    expect(bucket.take(50)).toBe(false)
    expect(bucket.take(100)).toBe(true)
    expect(bucket.isFull(400)).toBe(true)
  })

  it('keeps one bucket per key and sweeps refilled ones', () => {
    let now = 0
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 }, () => now)
    expect(limiter.allow('a')).toBe(true)
    expect(limiter.allow('a')).toBe(false)
    expect(limiter.allow('b')).toBe(true)
    expect(limiter.size).toBe(2)
    now = 2_000
    limiter.sweep()
    expect(limiter.size).toBe(0)
  })
})
