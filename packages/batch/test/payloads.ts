import { RLP } from '@ethereumjs/rlp'
import { LENGTH_PREFIX_BYTES } from '../src/index.ts'

/** A framed payload around arbitrary bytes: length prefix ‖ format byte ‖ body (for crafting garbage). */
export function framed(formatByte: number, body: Uint8Array): Uint8Array {
  const payload = new Uint8Array(LENGTH_PREFIX_BYTES + 1 + body.length)
  new DataView(payload.buffer).setUint32(0, payload.length - LENGTH_PREFIX_BYTES)
  payload[LENGTH_PREFIX_BYTES] = formatByte
  payload.set(body, LENGTH_PREFIX_BYTES + 1)
  return payload
}

/** A framed, uncompressed payload around any RLP structure (for crafting wrong manifest shapes). */
export function framedRlp(value: Parameters<typeof RLP.encode>[0]): Uint8Array {
  return framed(0x00, RLP.encode(value))
}

export const COINBASE = new Uint8Array(20).fill(0xcb)
