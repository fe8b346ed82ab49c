import { CairnError } from '@cairn/primitives'
import { describe, expect, it } from 'vitest'
import { createSenderLoop } from './sender-loop.ts'

describe('createSenderLoop', () => {
  it('counts a failed round under the RPC it failed on and logs it with the role', async () => {
    const reasons: string[] = []
    const warnings: { context: object; message: string }[] = []
    let rounds = 0
    const loop = createSenderLoop({
      role: 'prover',
      logger: { info: () => {}, warn: (context, message) => warnings.push({ context, message }) },
      failures: { inc: ({ reason }) => reasons.push(reason) },
      intervalMs: 1,
      round: async () => {
        rounds++
        if (rounds === 1) throw new CairnError('L2_UNREACHABLE', 'the L2 node does not answer')
        if (rounds === 2) throw new Error('fetch failed')
      },
    })
    loop.start()
    while (rounds < 3) await new Promise((r) => setTimeout(r, 1))
    await loop.stop()
    expect(reasons).toEqual(['l2_rpc', 'l1_rpc'])
    expect(warnings.map((w) => w.message)).toEqual(['prover round failed; retrying', 'prover round failed; retrying'])
    expect(warnings[0]!.context).toMatchObject({ reason: 'l2_rpc', retryInMs: 2 })
  })
})
