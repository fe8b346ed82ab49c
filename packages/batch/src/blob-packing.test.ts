import { describe, expect, it } from 'vitest'
import { seededRandom } from '../test/fixtures.ts'
import { framed } from '../test/payloads.ts'
import { blobCountFor, packBlobs, unpackBlobs } from './blob-packing.ts'
import { BLOB_PAYLOAD_CAPACITY, BLOB_SIZE, MAX_PAYLOAD_BYTES } from './constants.ts'
import { BatchDecodeError, BatchEncodeError } from './errors.ts'

function randomPayload(length: number, seed = 7): Uint8Array {
  const random = seededRandom(seed)
  const body = new Uint8Array(length - 5)
  for (let i = 0; i < body.length; i++) body[i] = Math.floor(random() * 256)
  return framed(0x00, body)
}

function decodeError(blobs: Uint8Array[]): BatchDecodeError {
  try {
    unpackBlobs(blobs)
  } catch (error) {
    if (error instanceof BatchDecodeError) return error
    throw error
  }
  throw new Error('unpackBlobs accepted the blobs')
}

describe('blob packing', () => {
  it('carries 127 bytes per 4 field elements: 130,048 per blob, 780,288 in 6 blobs', () => {
    expect(BLOB_PAYLOAD_CAPACITY).toBe((4096 / 4) * 127)
    expect(MAX_PAYLOAD_BYTES).toBe(780_288)
    expect(blobCountFor(BLOB_PAYLOAD_CAPACITY)).toBe(1)
    expect(blobCountFor(BLOB_PAYLOAD_CAPACITY + 1)).toBe(2)
  })

  it.each([
    5,
    127,
    128,
    BLOB_PAYLOAD_CAPACITY,
    BLOB_PAYLOAD_CAPACITY + 1,
    3 * BLOB_PAYLOAD_CAPACITY - 1,
    MAX_PAYLOAD_BYTES,
  ])('round-trips a %i-byte payload in the fewest blobs', (length) => {
    const payload = randomPayload(length)
    const blobs = packBlobs(payload)
    expect(blobs).toHaveLength(Math.ceil(length / BLOB_PAYLOAD_CAPACITY))
    for (const blob of blobs) expect(blob).toHaveLength(BLOB_SIZE)
    expect(Buffer.from(unpackBlobs(blobs)).equals(payload)).toBe(true)
  })

  it('keeps the top two bits of every field element clear, so every element is below the BLS modulus', () => {
    const payload = new Uint8Array(MAX_PAYLOAD_BYTES).fill(0xff)
    new DataView(payload.buffer).setUint32(0, MAX_PAYLOAD_BYTES - 4)
    for (const blob of packBlobs(payload)) {
      for (let element = 0; element < 4096; element++) expect(blob[element * 32]).toBeLessThan(0x40)
    }
  })

  it('lays bytes out as documented: 31 bytes after each top byte, bytes 124..126 of a chunk spread over the top bytes', () => {
    const chunk = Uint8Array.from({ length: 127 }, (_, i) => i)
    const payload = new Uint8Array(127)
    payload.set(chunk)
    payload.set([0, 0, 0, 123]) // a framed payload of 127 bytes starts with prefix 123
    const [blob] = packBlobs(payload)
    expect(blob!.subarray(1, 32)).toEqual(payload.subarray(0, 31))
    expect(blob!.subarray(33, 64)).toEqual(payload.subarray(31, 62))
    const high = (124 << 16) | (125 << 8) | 126
    expect([blob![0], blob![32], blob![64], blob![96]]).toEqual([
      (high >>> 18) & 63,
      (high >>> 12) & 63,
      (high >>> 6) & 63,
      high & 63,
    ])
    expect(blob!.subarray(128).every((b) => b === 0)).toBe(true)
  })

  it('refuses bytes that are not a framed payload, and payloads over 6 blobs', () => {
    expect(() => packBlobs(Uint8Array.from([1, 2, 3]))).toThrow(BatchEncodeError)
    expect(() => packBlobs(Uint8Array.from([0, 0, 0, 9, 0]))).toThrow(/length prefix/)
    const oversize = randomPayload(MAX_PAYLOAD_BYTES + 1)
    expect(() => packBlobs(oversize)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }))
  })

  it('rejects zero blobs and more than six', () => {
    expect(decodeError([]).code).toBe('BLOB_COUNT_OUT_OF_RANGE')
    expect(decodeError(Array.from({ length: 7 }, () => new Uint8Array(BLOB_SIZE))).code).toBe('BLOB_COUNT_OUT_OF_RANGE')
  })

  it('rejects a blob of the wrong size', () => {
    expect(decodeError([new Uint8Array(BLOB_SIZE - 1)]).code).toBe('BLOB_SIZE_INVALID')
  })

  it('rejects a field element with a top bit set, even one below the modulus', () => {
    const blobs = packBlobs(randomPayload(1000))
    blobs[0]![32 * 100] = 0x40
    const error = decodeError(blobs)
    expect(error.code).toBe('BLOB_NOT_CANONICAL')
    expect(error.details).toMatchObject({ blobIndex: 0, fieldElement: 100 })
  })

  it('rejects non-zero padding after the payload', () => {
    const blobs = packBlobs(randomPayload(1000))
    blobs[0]![BLOB_SIZE - 1] = 1
    expect(decodeError(blobs).code).toBe('BLOB_NOT_CANONICAL')
  })

  it('rejects a length prefix past the blobs, a zero length, and an unused trailing blob', () => {
    const tooLong = packBlobs(randomPayload(1000))
    tooLong[0]![1] = 0x01 // prefix now ~16M
    expect(decodeError(tooLong).code).toBe('LENGTH_OUT_OF_RANGE')
    expect(decodeError([new Uint8Array(BLOB_SIZE)]).code).toBe('LENGTH_OUT_OF_RANGE')
    const withSpare = [...packBlobs(randomPayload(1000)), new Uint8Array(BLOB_SIZE)]
    expect(decodeError(withSpare).code).toBe('LENGTH_OUT_OF_RANGE')
  })
})
