import { describe, expect, it } from 'vitest'
import { bytesToHex } from '@cairn/primitives'
import type { PendingTxHash } from './req-resp.ts'
import { ReannounceSchedule } from './tx-reannounce.ts'

const START = 1_000_000
const bytes = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const hash = (n: number, addedAt = START): PendingTxHash => ({ hash: bytes(n), hashHex: bytesToHex(bytes(n)), addedAt })

function scheduleAt(start = START) {
  const clock = { now: start }
  const schedule = new ReannounceSchedule({ ageMs: 5_000, maxIntervalMs: 30_000, maxPerRound: 2 }, () => clock.now)
  return { clock, schedule }
}

describe('ReannounceSchedule', () => {
  it('announces a pending transaction once it is older than the age, then backs off up to the cap', () => {
    const { clock, schedule } = scheduleAt()
    const announcedAt: number[] = []
    for (let t = 0; t <= 120_000; t += 500) {
      clock.now = START + t
      schedule.observe([hash(1)])
      if (schedule.due().length > 0) announcedAt.push(t)
    }
    // 5 s, then gaps of 10, 20, 30 (capped), 30, … s.
    expect(announcedAt).toEqual([5_000, 15_000, 35_000, 65_000, 95_000])
  })

  it('counts the age from when the pool took the transaction in, not from when it was first observed', () => {
    const { clock, schedule } = scheduleAt()
    clock.now += 7_000
    // Observed for the first time 7 s after it entered the pool (rounds were skipped meanwhile): due at once.
    schedule.observe([hash(1), hash(2, START + 3_000)])
    expect(schedule.due()).toEqual([bytes(1)])
    clock.now += 1_000
    schedule.observe([hash(1), hash(2, START + 3_000)])
    expect(schedule.due()).toEqual([bytes(2)])
  })

  it('hands out the oldest first, at most maxPerRound per round', () => {
    const { clock, schedule } = scheduleAt()
    clock.now += 11_000
    schedule.observe([hash(3, START + 2_000), hash(2, START + 1_000), hash(1)])
    expect(schedule.due()).toEqual([bytes(1), bytes(2)])
    expect(schedule.due()).toEqual([bytes(3)])
    expect(schedule.due()).toEqual([])
  })

  it('keeps nothing for transactions younger than the age', () => {
    const { clock, schedule } = scheduleAt()
    clock.now += 4_999
    schedule.observe(Array.from({ length: 1_000 }, (_, i) => hash(i % 256, START + (i % 7))))
    expect(schedule.size).toBe(0)
    expect(schedule.due()).toEqual([])
  })

  it('forgets a transaction that left the pool; taken in again, its age starts over', () => {
    const { clock, schedule } = scheduleAt()
    clock.now += 5_000
    schedule.observe([hash(1), hash(2)])
    expect(schedule.size).toBe(2)
    expect(schedule.due()).toEqual([bytes(1), bytes(2)])
    schedule.observe([hash(2)])
    expect(schedule.size).toBe(1)
    const back = hash(1, clock.now)
    clock.now += 4_999
    schedule.observe([back, hash(2)])
    expect(schedule.due()).toEqual([])
    clock.now += 1
    schedule.observe([back, hash(2)])
    expect(schedule.due()).toEqual([bytes(1)])
  })
})
