import { describe, expect, it } from 'vitest'
import { PollingLoop } from './polling-loop.ts'

describe('PollingLoop', () => {
  it('backs off exponentially after failed rounds and resets after a good one', async () => {
    const delays: number[] = []
    let rounds = 0
    const loop = new PollingLoop({
      intervalMs: 5,
      round: async () => {
        rounds++
        if (rounds <= 3 || rounds === 5) throw new Error(`round ${rounds}`)
      },
      onError: (_error, retryInMs) => delays.push(retryInMs),
    })
    loop.start()
    while (rounds < 6) await new Promise((r) => setTimeout(r, 5))
    await loop.stop()
    expect(delays).toEqual([10, 20, 40, 10])
  })

  it('stops without waiting out the interval, after the round in progress', async () => {
    let finished = false
    const loop = new PollingLoop({
      intervalMs: 60_000,
      round: async () => {
        await new Promise((r) => setTimeout(r, 20))
        finished = true
      },
      onError: () => {},
    })
    loop.start()
    const started = performance.now()
    await loop.stop()
    expect(finished).toBe(true)
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
