import { lastAcceptingL1Block } from '@cairn/contracts'

/** What the expiry check needs of an unsafe (preconfirmed, not yet proposed) L2 block. */
export interface UnsafeBlockAnchor {
  number: bigint
  /** The L1 block it anchors to (header `extraData`). */
  anchorBlockId: bigint
}

/**
 * The first unsafe block that can never be proposed, or undefined. `l1Head` is the newest L1 block whose
 * proposals have all been derived, so a proposal that could still carry these blocks lands in
 * `l1Head + 1` or later; a block whose anchor the Inbox refuses there is refused in every later L1
 * block too (the window only moves forward). This is the Inbox's own rule, without the proposer's
 * early-proposal margin: a proposal already in flight can still land while the rule holds.
 *
 * Every block after the returned one builds on it, so it is doomed with it. `unsafe` is oldest
 * first; anchors never decrease along a chain (the Anchor predeploy refuses that), so in practice the
 * first block, `safe + 1`, is the one that expires.
 */
export function findExpiredUnsafeBlock(
  unsafe: readonly UnsafeBlockAnchor[],
  l1Head: bigint,
  anchorWindow: number,
): UnsafeBlockAnchor | undefined {
  return unsafe.find((block) => lastAcceptingL1Block(block.anchorBlockId, anchorWindow) < l1Head + 1n)
}
