import { describe, expect, it } from 'vitest'
import { bytesToHex } from '@cairn/primitives'
import type { PendingTxHash } from './req-resp.ts'
import { ReannounceSchedule } from './tx-reannounce.ts'

const bytes = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const hash = (n: number): PendingTxHash => ({ hash: bytes(n), hashHex: bytesToHex(bytes(n)) })

function scheduleAt(start = 1_000_000) {
  const clock = { now: start }
  const schedule = new ReannounceSchedule({ ageMs: 5_000, maxIntervalMs: 30_000, maxPerRound: 2 }, () => clock.now)
  return { clock, schedule }
}

describe('ReannounceSchedule', () => {
  it('announces a pending transaction once it is older than the age, then backs off up to the cap', () => {
    const { clock, schedule } = scheduleAt()
    schedule.observe([hash(1)])
    const announcedAt: number[] = []
    const start = clock.now
    for (let t = 0; t <= 120_000; t += 500) {
      clock.now = start + t
      schedule.observe([hash(1)])
      if (schedule.due().length > 0) announcedAt.push(t)
    }
    // 5 s, then gaps of 10, 20, 30 (capped), 30, … s.
    expect(announcedAt).toEqual([5_000, 15_000, 35_000, 65_000, 95_000])
  })

  it('hands out the oldest first, at most maxPerRound per round', () => {
    const { clock, schedule } = scheduleAt()
    schedule.observe([hash(1)])
    clock.now += 1_000
    schedule.observe([hash(1), hash(2), hash(3)])
    clock.now += 10_000
    schedule.observe([hash(3), hash(2), hash(1)])
    expect(schedule.due()).toEqual([bytes(1), bytes(2)])
    expect(schedule.due()).toEqual([bytes(3)])
    expect(schedule.due()).toEqual([])
  })

  it('forgets a transaction that left the pool, and starts over if it comes back', () => {
    const { clock, schedule } = scheduleAt()
    schedule.observe([hash(1), hash(2)])
    clock.now += 4_000
    schedule.observe([hash(2)])
    expect(schedule.size).toBe(1)
    clock.now += 1_000
    expect(schedule.due()).toEqual([bytes(2)])
    schedule.observe([hash(1), hash(2)])
    clock.now += 4_999
    expect(schedule.due()).toEqual([])
    clock.now += 1
    expect(schedule.due()).toEqual([bytes(1)])
  })
})
