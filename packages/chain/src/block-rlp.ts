import type { Block } from '@ethereumjs/block'
import { encodeRlp } from '@cairn/primitives'

/** `block.serialize()`, byte for byte, in one allocation (see `encodeRlp`): the stored and gossiped form. */
export function encodeBlock(block: Block): Uint8Array {
  return encodeRlp(block.raw())
}
