import type { Hex } from './hex.ts'

/**
 * Protocol constants shared by the node, the provers and the contracts (the Solidity side declares
 * the same values; a contracts test checks they agree).
 */

/** The L2 anchor predeploy. */
export const ANCHOR_ADDRESS: Hex = '0xca11000000000000000000000000000000000001'
/** The keyless caller of the per-block anchor system call. */
export const SYSTEM_SENDER: Hex = '0xfffffffffffffffffffffffffffffffffffffffe'
/** Gas the anchor system call may use. */
export const ANCHOR_GAS_LIMIT = 1_000_000n

/** The L1 block an L2 block is anchored to; its fields are carried in the L2 header (docs/protocol.md). */
export interface L1Anchor {
  number: bigint
  hash: Uint8Array
  stateRoot: Uint8Array
}
