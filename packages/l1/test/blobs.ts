import { BLOB_SIZE, packBlobs } from '@cairn/batch'

/** A framed payload of `length` bytes of seeded noise, as `@cairn/batch` would pack it. */
export function noisePayload(length: number, seed: number): Uint8Array {
  const payload = new Uint8Array(length)
  let state = seed >>> 0 || 1
  for (let i = 4; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    payload[i] = state & 0xff
  }
  new DataView(payload.buffer).setUint32(0, length - 4)
  return payload
}

/** `count` distinct canonical blobs (every field element below the BLS modulus). */
export function distinctBlobs(count: number, seed = 1): Uint8Array[] {
  return packBlobs(noisePayload(count * 130_048 - 100, seed))
}

/** A blob whose first field element is the maximum 32-byte value: far above the BLS modulus. */
export function nonCanonicalBlob(): Uint8Array {
  return new Uint8Array(BLOB_SIZE).fill(0xff)
}
