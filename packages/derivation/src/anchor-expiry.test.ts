import { describe, expect, it } from 'vitest'
import { lastAcceptingL1Block } from '@cairn/contracts'
import { findExpiredUnsafeBlock } from './anchor-expiry.ts'

const block = (number: bigint, anchorBlockId: bigint) => ({ number, anchorBlockId })

describe('lastAcceptingL1Block', () => {
  it('is the anchor plus the window, the last block.number Inbox._checkAnchor accepts', () => {
    expect(lastAcceptingL1Block(100n, 64)).toBe(164n)
  })
})

describe('findExpiredUnsafeBlock', () => {
  const window = 64

  it('keeps a block whose anchor a proposal in the next L1 block may still use', () => {
    // Next L1 block 164 = 100 + 64: the Inbox still accepts it there.
    expect(findExpiredUnsafeBlock([block(10n, 100n)], 163n, window)).toBeUndefined()
  })

  it('drops a block once a proposal in the next L1 block would be refused', () => {
    // Next L1 block 165 > 100 + 64.
    expect(findExpiredUnsafeBlock([block(10n, 100n)], 164n, window)).toEqual(block(10n, 100n))
  })

  it('ignores the proposer’s early-proposal margin: only the Inbox rule counts', () => {
    // Two L1 blocks before the limit the proposer already hurries (anchor_expiring), but a proposal in
    // flight may still land: nothing is dropped.
    expect(findExpiredUnsafeBlock([block(10n, 100n)], 162n, window)).toBeUndefined()
  })

  it('returns the oldest expired block: every later block builds on it', () => {
    const unsafe = [block(10n, 100n), block(11n, 100n), block(12n, 104n), block(13n, 160n)]
    expect(findExpiredUnsafeBlock(unsafe, 166n, window)).toEqual(block(10n, 100n))
  })

  it('finds an expired block behind a younger one (anchors that went back are never proposable either)', () => {
    const unsafe = [block(10n, 150n), block(11n, 90n)]
    expect(findExpiredUnsafeBlock(unsafe, 160n, window)).toEqual(block(11n, 90n))
  })

  it('keeps blocks anchored ahead of the derived L1 head (an L1 reorg shortened the chain)', () => {
    expect(findExpiredUnsafeBlock([block(10n, 170n)], 165n, window)).toBeUndefined()
  })

  it('finds nothing without unsafe blocks', () => {
    expect(findExpiredUnsafeBlock([], 10_000n, window)).toBeUndefined()
  })
})
