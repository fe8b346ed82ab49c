import { describe, expect, it } from 'vitest'
import { blocksOf, randomBytes, seededRandom, signedTransfers } from '../test/fixtures.ts'
import { packBlobs } from './blob-packing.ts'
import { batchFromBlobs, decodeBatch, encodeBatch } from './codec.ts'
import type { CompressionFormat } from './compression.ts'
import { BLOB_SIZE } from './constants.ts'
import { BatchDecodeError } from './errors.ts'

/** Applies one random edit: flip a bit, overwrite, insert, delete, truncate, or splice in random bytes. */
function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const bytes = Uint8Array.from(input)
  const at = Math.floor(random() * Math.max(bytes.length, 1))
  switch (Math.floor(random() * 6)) {
    case 0:
      if (bytes.length > 0) bytes[at]! ^= 1 << Math.floor(random() * 8)
      return bytes
    case 1:
      if (bytes.length > 0) bytes[at] = Math.floor(random() * 256)
      return bytes
    case 2:
      return Uint8Array.from([...bytes.subarray(0, at), Math.floor(random() * 256), ...bytes.subarray(at)])
    case 3:
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)])
    case 4:
      return bytes.subarray(0, at)
    default: {
      const patch = randomBytes(random, 1 + Math.floor(random() * 16))
      bytes.set(patch.subarray(0, Math.max(0, bytes.length - at)), at)
      return bytes
    }
  }
}

function expectResult(result: unknown): void {
  expect(result).toHaveProperty('ok')
  const r = result as { ok: boolean; error?: unknown }
  if (!r.ok) expect(r.error).toBeInstanceOf(BatchDecodeError)
}

describe('decoding never throws', () => {
  const txs = signedTransfers('eth', 40, { senders: 10, seed: 5 })
  const manifest = { blocks: blocksOf(txs, 8) }

  it.each<CompressionFormat>(['none', 'deflate', 'brotli'])(
    'returns a result for 1,500 random mutations of a %s payload, fixing the length prefix half the time',
    (compression) => {
      const random = seededRandom(compression.length * 7919)
      const valid = encodeBatch(manifest, { compression })
      const codes = new Set<string>()
      for (let i = 0; i < 1500; i++) {
        let payload = valid
        for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) payload = mutate(payload, random)
        // Keep the prefix consistent so mutations reach the decompressor and the RLP reader.
        if (random() < 0.5 && payload.length >= 4) {
          payload = Uint8Array.from(payload)
          new DataView(payload.buffer).setUint32(0, payload.length - 4)
        }
        const result = decodeBatch(payload)
        expectResult(result)
        if (!result.ok) codes.add(result.error.code)
      }
      // The mutations reach past the framing into the decompressor or the manifest reader.
      expect(codes).toContain('LENGTH_OUT_OF_RANGE')
      expect(codes).toContain(compression === 'none' ? 'RLP_INVALID' : 'DECOMPRESSION_FAILED')
    },
  )

  it('returns a result for mutated blobs', () => {
    const random = seededRandom(99)
    const blobs = packBlobs(encodeBatch(manifest))
    for (let i = 0; i < 60; i++) {
      const blob = Uint8Array.from(blobs[0]!)
      const at = Math.floor(random() * 2048) // mutate where the payload lives, mostly
      blob[at] = Math.floor(random() * 256)
      expectResult(batchFromBlobs([blob]))
    }
  })

  it('rejects random canonical blobs (top bits clear) with an error result', () => {
    const random = seededRandom(1234)
    for (let i = 0; i < 20; i++) {
      const blob = randomBytes(random, BLOB_SIZE)
      for (let e = 0; e < BLOB_SIZE; e += 32) blob[e]! &= 0x3f
      const result = batchFromBlobs([blob])
      expect(result.ok).toBe(false)
    }
  })

  it('returns a result for random bytes of every small length', () => {
    const random = seededRandom(4242)
    for (let length = 0; length < 300; length++) {
      for (let i = 0; i < 5; i++) expectResult(decodeBatch(randomBytes(random, length)))
    }
  })
})
