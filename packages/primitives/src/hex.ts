import { bytesToHex, hexToBytes, bigIntToHex, intToHex, type PrefixedHexString } from '@ethereumjs/util'

export type Hex = PrefixedHexString
export { bytesToHex, hexToBytes, bigIntToHex, intToHex }

/** Quantity encoding as JSON-RPC wants it: 0x-prefixed, no leading zeros, "0x0" for zero. */
export function toQuantity(value: bigint | number): Hex {
  return typeof value === 'bigint' ? bigIntToHex(value) : intToHex(value)
}

export function isHex(value: unknown, opts: { bytes?: number } = {}): value is Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value)) return false
  return opts.bytes === undefined || value.length === 2 + opts.bytes * 2
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
