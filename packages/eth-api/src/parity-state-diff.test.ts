import { describe, expect, it } from 'vitest'
import { parityStateDiff } from './parity-state-diff.ts'

const slot = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
const A = '0x000000000000000000000000000000000000000a'
const B = '0x000000000000000000000000000000000000000b'
const C = '0x000000000000000000000000000000000000000c'

describe('parityStateDiff', () => {
  it('reads geth’s diff: absent before is born, absent after died, left-out slots are zero', () => {
    const diff = parityStateDiff({
      pre: {
        [C]: { balance: '0x5', nonce: 1, code: '0x6000', storage: { [slot(1)]: slot(7) } },
        [A]: { balance: '0x10', nonce: 3, storage: { [slot(2)]: slot(9), [slot(3)]: slot(4) } },
      },
      post: {
        [B]: { balance: '0x1', storage: { [slot(1)]: slot(1) } },
        // A's balance and slot 2 (to zero, so left out) and slot 4 (from zero) changed; its nonce did not.
        [A]: { balance: '0x8', storage: { [slot(3)]: slot(5), [slot(4)]: slot(6) } },
      },
    })
    expect(Object.keys(diff)).toEqual([A, B, C])
    expect(diff[A]).toEqual({
      balance: { '*': { from: '0x10', to: '0x8' } },
      code: '=',
      nonce: '=',
      storage: {
        [slot(2)]: { '*': { from: slot(9), to: slot(0) } },
        [slot(3)]: { '*': { from: slot(4), to: slot(5) } },
        [slot(4)]: { '*': { from: slot(0), to: slot(6) } },
      },
    })
    expect(diff[B]).toEqual({
      balance: { '+': '0x1' },
      code: { '+': '0x' },
      nonce: { '+': '0x0' },
      storage: { [slot(1)]: { '+': slot(1) } },
    })
    expect(diff[C]).toEqual({
      balance: { '-': '0x5' },
      code: { '-': '0x6000' },
      nonce: { '-': '0x1' },
      storage: { [slot(1)]: { '-': slot(7) } },
    })
  })
})
