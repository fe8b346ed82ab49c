import {
  BLOB_PAYLOAD_CAPACITY,
  BLOB_SIZE,
  LENGTH_PREFIX_BYTES,
  MAX_BLOBS_PER_BATCH,
  MAX_PAYLOAD_BYTES,
} from './constants.ts'
import { BatchDecodeError, BatchEncodeError } from './errors.ts'

/*
 * Layout. The payload is a byte stream cut into 127-byte chunks; chunk g of the whole batch goes to
 * group g mod 1024 of blob ⌊g / 1024⌋, a group being 4 consecutive field elements (128 bytes; 4096
 * elements = 1024 groups per blob):
 *   element k (k = 0..3), bytes 1..31  ← chunk bytes 31k .. 31k+30
 *   element k, byte 0                  ← bits (18 − 6k) .. (23 − 6k) of the 24-bit value chunk[124..126]
 * Byte 0 of every element therefore stays below 0x40, which keeps each element below the BLS modulus
 * (0x73ed…) with room to spare. Everything after the payload is zero.
 */
const GROUP_BYTES = 127

/** Blobs needed for a framed payload of `payloadLength` bytes. */
export function blobCountFor(payloadLength: number): number {
  return Math.max(1, Math.ceil(payloadLength / BLOB_PAYLOAD_CAPACITY))
}

/** Reads the big-endian uint32 length prefix (the caller ensures 4 bytes are there). */
export function readLengthPrefix(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0
}

/**
 * Packs a framed payload (from `encodeBatch`) into the fewest blobs that hold it. Throws
 * {@link BatchEncodeError} when the bytes are not framed or need more than {@link MAX_BLOBS_PER_BATCH} blobs.
 */
export function packBlobs(payload: Uint8Array): Uint8Array[] {
  if (payload.length < LENGTH_PREFIX_BYTES || readLengthPrefix(payload) !== payload.length - LENGTH_PREFIX_BYTES) {
    throw new BatchEncodeError(
      'PAYLOAD_NOT_FRAMED',
      'packBlobs expects a framed payload from encodeBatch: a 4-byte length prefix equal to the number of bytes after it.',
      { details: { length: payload.length } },
    )
  }
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new BatchEncodeError(
      'PAYLOAD_TOO_LARGE',
      `A payload of ${payload.length} bytes needs more than ${MAX_BLOBS_PER_BATCH} blobs (at most ${MAX_PAYLOAD_BYTES} bytes).`,
      { details: { length: payload.length, max: MAX_PAYLOAD_BYTES } },
    )
  }
  const count = blobCountFor(payload.length)
  const stream = new Uint8Array(count * BLOB_PAYLOAD_CAPACITY)
  stream.set(payload)
  const blobs: Uint8Array[] = []
  for (let b = 0; b < count; b++) {
    const blob = new Uint8Array(BLOB_SIZE)
    let s = b * BLOB_PAYLOAD_CAPACITY
    for (let o = 0; o < BLOB_SIZE; o += 128, s += GROUP_BYTES) {
      const high = (stream[s + 124]! << 16) | (stream[s + 125]! << 8) | stream[s + 126]!
      for (let k = 0; k < 4; k++) {
        const element = o + 32 * k
        blob[element] = (high >>> (18 - 6 * k)) & 0x3f
        blob.set(stream.subarray(s + 31 * k, s + 31 * k + 31), element + 1)
      }
    }
    blobs.push(blob)
  }
  return blobs
}

/**
 * Recovers the framed payload from blobs, checking that the blobs are exactly what {@link packBlobs}
 * would produce for it: right count and size, top bits clear, length within the last blob, zero padding.
 * Throws {@link BatchDecodeError}; {@link batchFromBlobs} turns that into a result.
 */
export function unpackBlobs(blobs: readonly Uint8Array[]): Uint8Array {
  if (blobs.length === 0 || blobs.length > MAX_BLOBS_PER_BATCH) {
    throw new BatchDecodeError(
      'BLOB_COUNT_OUT_OF_RANGE',
      `A batch has 1 to ${MAX_BLOBS_PER_BATCH} blobs, not ${blobs.length}.`,
      { details: { count: blobs.length } },
    )
  }
  const stream = new Uint8Array(blobs.length * BLOB_PAYLOAD_CAPACITY)
  for (let b = 0; b < blobs.length; b++) {
    const blob = blobs[b]!
    if (blob.length !== BLOB_SIZE) {
      throw new BatchDecodeError('BLOB_SIZE_INVALID', `Blob ${b} has ${blob.length} bytes, not ${BLOB_SIZE}.`, {
        details: { blobIndex: b, length: blob.length },
      })
    }
    let s = b * BLOB_PAYLOAD_CAPACITY
    for (let o = 0; o < BLOB_SIZE; o += 128, s += GROUP_BYTES) {
      let high = 0
      for (let k = 0; k < 4; k++) {
        const element = o + 32 * k
        const top = blob[element]!
        if (top > 0x3f) {
          throw new BatchDecodeError(
            'BLOB_NOT_CANONICAL',
            `Blob ${b} field element ${element / 32} sets its top two bits; Cairn blobs never do.`,
            { details: { blobIndex: b, fieldElement: element / 32, topByte: top } },
          )
        }
        high = (high << 6) | top
        stream.set(blob.subarray(element + 1, element + 32), s + 31 * k)
      }
      stream[s + 124] = high >>> 16
      stream[s + 125] = (high >>> 8) & 0xff
      stream[s + 126] = high & 0xff
    }
  }
  const length = LENGTH_PREFIX_BYTES + readLengthPrefix(stream)
  const lowest = (blobs.length - 1) * BLOB_PAYLOAD_CAPACITY + 1
  if (length < Math.max(lowest, LENGTH_PREFIX_BYTES + 1) || length > stream.length) {
    throw new BatchDecodeError(
      'LENGTH_OUT_OF_RANGE',
      `The length prefix says ${length} payload bytes, but ${blobs.length} blob(s) carry ${lowest} to ${stream.length}.`,
      { details: { length, blobCount: blobs.length } },
    )
  }
  for (let i = length; i < stream.length; i++) {
    if (stream[i] !== 0) {
      throw new BatchDecodeError('BLOB_NOT_CANONICAL', `Padding after the ${length}-byte payload is not zero.`, {
        details: { offset: i },
      })
    }
  }
  return stream.subarray(0, length)
}
