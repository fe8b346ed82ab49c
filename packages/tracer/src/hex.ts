import type { Address } from '@ethereumjs/util'

// Tracers format millions of values per trace; a lookup table beats Number#toString(16) + padStart per byte.
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Bytes as 0x-prefixed hex ("0x" when empty), the way geth's hexutil.Bytes encodes them. */
export function bytesHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start > 64) return `0x${unprefixedHex(bytes, start, end)}`
  let out = '0x'
  for (let i = start; i < end; i++) out += BYTE_HEX[bytes[i] as number]
  return out
}

/** Hex without prefix; Node's native encoder for anything but tiny inputs. */
export function unprefixedHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('hex')
}

// Stack items are mostly small (offsets, lengths, counters, booleans): format those once.
const SMALL_QUANTITIES: string[] = Array.from({ length: 4096 }, (_, i) => `0x${i.toString(16)}`)
const SMALL_LIMIT = BigInt(SMALL_QUANTITIES.length)

/** JSON-RPC quantity: 0x-prefixed, minimal digits, "0x0" for zero (geth's hexutil.Uint64 / hexutil.Big / hexutil.U256). */
export function quantityHex(value: bigint | number): string {
  if (
    typeof value === 'bigint'
      ? value >= 0n && value < SMALL_LIMIT
      : value >= 0 && value < 4096 && Number.isInteger(value)
  ) {
    return SMALL_QUANTITIES[Number(value)] as string
  }
  return `0x${value.toString(16)}`
}

/** A 256-bit word as 0x + 64 hex digits (geth's common.Hash.Hex()). */
export function wordHex(value: bigint): string {
  return `0x${value.toString(16).padStart(64, '0')}`
}

/** Lower-case 0x-prefixed address, as geth marshals common.Address in trace JSON. */
export function addressHex(address: Address): string {
  return address.toString()
}
