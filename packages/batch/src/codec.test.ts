import zlib from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { blocksOf, seededRandom, signedTransfers } from '../test/fixtures.ts'
import { COINBASE, framed, framedRlp } from '../test/payloads.ts'
import { batchFromBlobs, batchToBlobs, decodeBatch, encodeBatch } from './codec.ts'
import type { CompressionFormat } from './compression.ts'
import { MAX_BLOCKS_PER_BATCH, MAX_MANIFEST_BYTES, MAX_PAYLOAD_BYTES, MAX_TRANSACTIONS_PER_BATCH } from './constants.ts'
import type { BatchDecodeErrorCode } from './errors.ts'
import type { BatchBlock, BatchManifest } from './manifest.ts'

const FORMATS: CompressionFormat[] = ['none', 'deflate', 'brotli']
const MAX_UINT64 = (1n << 64n) - 1n

function block(overrides: Partial<BatchBlock> = {}): BatchBlock {
  return {
    timestamp: 1_750_000_000n,
    gasLimit: 30_000_000n,
    coinbase: COINBASE,
    anchorBlockNumber: 42n,
    transactions: [],
    ...overrides,
  }
}

function errorCode(payload: Uint8Array): BatchDecodeErrorCode {
  const result = decodeBatch(payload)
  if (result.ok) throw new Error('the payload decoded')
  return result.error.code
}

describe('batch codec round trips', () => {
  let manyBlocks: BatchManifest
  beforeAll(() => {
    const txs = [
      ...signedTransfers('eth', 150, { senders: 40 }),
      ...signedTransfers('erc20', 150, { senders: 40, seed: 2 }),
    ]
    manyBlocks = { blocks: blocksOf(txs, 10) }
  })

  it.each(FORMATS)('round-trips an empty batch (%s)', (compression) => {
    const result = batchFromBlobs(batchToBlobs({ blocks: [] }, { compression }))
    expect(result).toEqual({ ok: true, manifest: { blocks: [] } })
  })

  it.each(FORMATS)('round-trips one block without transactions (%s)', (compression) => {
    const manifest = { blocks: [block()] }
    expect(batchFromBlobs(batchToBlobs(manifest, { compression }))).toEqual({ ok: true, manifest })
  })

  it.each(FORMATS)('round-trips 30 blocks of signed ETH and ERC-20 transfers (%s)', (compression) => {
    const result = batchFromBlobs(batchToBlobs(manyBlocks, { compression }))
    expect(result).toEqual({ ok: true, manifest: manyBlocks })
  })

  it('round-trips extreme field values: zero, uint64 max, empty and odd transaction bytes', () => {
    const manifest = {
      blocks: [
        block({
          timestamp: 0n,
          gasLimit: 0n,
          anchorBlockNumber: 0n,
          transactions: [new Uint8Array(0), Uint8Array.of(0)],
        }),
        block({
          timestamp: MAX_UINT64,
          gasLimit: MAX_UINT64,
          anchorBlockNumber: MAX_UINT64,
          transactions: [Uint8Array.of(0x7f), Uint8Array.of(0x80)],
        }),
      ],
    }
    expect(decodeBatch(encodeBatch(manifest))).toEqual({ ok: true, manifest })
  })

  it('round-trips a payload of exactly 6 full blobs, and refuses one byte more', () => {
    // Uncompressed random bytes make the payload size exact; grow one transaction until it is.
    const random = seededRandom(3)
    const noise = Uint8Array.from({ length: MAX_PAYLOAD_BYTES }, () => Math.floor(random() * 256))
    const withTx = (size: number) => ({ blocks: [block({ transactions: [noise.subarray(0, size)] })] })
    let size = MAX_PAYLOAD_BYTES - 100
    for (let length = 0; length !== MAX_PAYLOAD_BYTES; ) {
      length = encodeBatch(withTx(size), { compression: 'none' }).length
      size += MAX_PAYLOAD_BYTES - length
    }
    const blobs = batchToBlobs(withTx(size), { compression: 'none' })
    expect(blobs).toHaveLength(6)
    const result = batchFromBlobs(blobs)
    expect(result.ok && Buffer.from(result.manifest.blocks[0]!.transactions[0]!).equals(noise.subarray(0, size))).toBe(
      true,
    )
    expect(() => encodeBatch(withTx(size + 1), { compression: 'none' })).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    )
  })

  it('encodes deterministically: the same manifest gives the same bytes and blobs', () => {
    for (const compression of FORMATS) {
      expect(encodeBatch(manyBlocks, { compression })).toEqual(
        encodeBatch(structuredClone(manyBlocks), { compression }),
      )
    }
    expect(batchToBlobs(manyBlocks)).toEqual(batchToBlobs(manyBlocks))
  })

  it('decodes every compression format whatever the default, by its format byte', () => {
    const payloads = FORMATS.map((compression) => encodeBatch(manyBlocks, { compression }))
    expect(payloads.map((p) => p[4])).toEqual([0, 1, 2])
    for (const payload of payloads) expect(decodeBatch(payload)).toEqual({ ok: true, manifest: manyBlocks })
    expect(encodeBatch(manyBlocks)[4]).toBe(2)
  })

  it('decodes brotli payloads of any encoder quality the same way', () => {
    const fast = encodeBatch(manyBlocks, { brotliQuality: 1 })
    expect(fast).not.toEqual(encodeBatch(manyBlocks))
    expect(decodeBatch(fast)).toEqual({ ok: true, manifest: manyBlocks })
  })
})

describe('encoding refuses manifests no decoder would accept', () => {
  it.each([
    ['a negative timestamp', block({ timestamp: -1n })],
    ['a gas limit above uint64', block({ gasLimit: MAX_UINT64 + 1n })],
    ['a 19-byte coinbase', block({ coinbase: new Uint8Array(19) })],
  ])('rejects %s', (_, bad) => {
    expect(() => encodeBatch({ blocks: [bad] })).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }))
  })

  it('rejects more blocks or transactions than a batch may hold', () => {
    const blocks = Array.from({ length: MAX_BLOCKS_PER_BATCH + 1 }, () => block())
    expect(() => encodeBatch({ blocks })).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }))
    const txs = Array.from({ length: MAX_TRANSACTIONS_PER_BATCH + 1 }, () => Uint8Array.of(1))
    expect(() => encodeBatch({ blocks: [block({ transactions: txs })] })).toThrow(/at most 65536 transactions/)
  })

  it('rejects a manifest that would inflate past the decoder cap, however well it compresses', () => {
    const blocks = [block({ transactions: [new Uint8Array(MAX_MANIFEST_BYTES)] })]
    expect(() => encodeBatch({ blocks }, { compression: 'deflate' })).toThrow(
      expect.objectContaining({ code: 'MANIFEST_TOO_LARGE' }),
    )
  })
})

describe('decoding garbage returns an error result with a precise code', () => {
  const valid = () =>
    encodeBatch({ blocks: [block({ transactions: [Uint8Array.of(1, 2, 3)] })] }, { compression: 'deflate' })

  it('LENGTH_OUT_OF_RANGE: truncated, extended, too short, oversize', () => {
    const payload = valid()
    expect(errorCode(payload.subarray(0, payload.length - 1))).toBe('LENGTH_OUT_OF_RANGE')
    expect(errorCode(Uint8Array.from([...payload, 0]))).toBe('LENGTH_OUT_OF_RANGE')
    expect(errorCode(Uint8Array.from([0, 0, 0, 0]))).toBe('LENGTH_OUT_OF_RANGE')
    expect(errorCode(new Uint8Array(0))).toBe('LENGTH_OUT_OF_RANGE')
    expect(errorCode(framed(0, new Uint8Array(MAX_PAYLOAD_BYTES)))).toBe('LENGTH_OUT_OF_RANGE')
  })

  it('UNKNOWN_COMPRESSION: a format byte no version defined', () => {
    const payload = valid()
    payload[4] = 0x03
    expect(errorCode(payload)).toBe('UNKNOWN_COMPRESSION')
    expect(errorCode(framed(0xff, Uint8Array.of(0xc0)))).toBe('UNKNOWN_COMPRESSION')
  })

  it('DECOMPRESSION_FAILED: corrupt, truncated, empty, or followed by trailing bytes', () => {
    const deflated = zlib.deflateRawSync(Buffer.from('not a manifest'))
    const brotli = zlib.brotliCompressSync(Buffer.from('not a manifest'))
    expect(errorCode(framed(0x01, Uint8Array.of(0xff, 0xff, 0xff)))).toBe('DECOMPRESSION_FAILED')
    expect(errorCode(framed(0x02, Uint8Array.of(0xff, 0xff, 0xff)))).toBe('DECOMPRESSION_FAILED')
    expect(errorCode(framed(0x01, deflated.subarray(0, deflated.length - 2)))).toBe('DECOMPRESSION_FAILED')
    expect(errorCode(framed(0x02, brotli.subarray(0, brotli.length - 2)))).toBe('DECOMPRESSION_FAILED')
    expect(errorCode(framed(0x01, new Uint8Array(0)))).toBe('DECOMPRESSION_FAILED')
    const trailing = decodeBatch(framed(0x01, Uint8Array.from([...deflated, 0])))
    expect(trailing.ok === false && trailing.error.message).toMatch(/trailing bytes/)
    expect(errorCode(framed(0x02, Uint8Array.from([...brotli, 0])))).toBe('DECOMPRESSION_FAILED')
  })

  it('DECOMPRESSED_TOO_LARGE: deflate and brotli bombs stop at the cap', () => {
    const zeros = new Uint8Array(MAX_MANIFEST_BYTES + 1)
    const deflateBomb = zlib.deflateRawSync(zeros, { level: 9 })
    const brotliBomb = zlib.brotliCompressSync(new Uint8Array(256 * 1024 * 1024), {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
    })
    // Both fit easily in one batch while inflating ~1,000× (deflate) and ~5,000× (brotli).
    expect(deflateBomb.length).toBeLessThan(10_000)
    expect(brotliBomb.length).toBeLessThan(60_000)
    expect(errorCode(framed(0x01, deflateBomb))).toBe('DECOMPRESSED_TOO_LARGE')
    expect(errorCode(framed(0x02, brotliBomb))).toBe('DECOMPRESSED_TOO_LARGE')
  })

  it('RLP_INVALID: not RLP, non-canonical forms, trailing bytes after the manifest', () => {
    const manifestRlp = valid().subarray(5)
    expect(errorCode(framed(0x00, Uint8Array.of(0xf8)))).toBe('RLP_INVALID') // long list, no length
    expect(errorCode(framed(0x00, Uint8Array.of(0xc3, 0x01, 0x02)))).toBe('RLP_INVALID') // runs past the end
    expect(errorCode(framed(0x00, Uint8Array.of(0xc2, 0x81, 0x05)))).toBe('RLP_INVALID') // 0x05 needs no prefix
    expect(errorCode(framed(0x00, Uint8Array.of(0xf8, 0x02, 0x01, 0x01)))).toBe('RLP_INVALID') // long form, short list
    expect(errorCode(framed(0x00, Uint8Array.of(0xf9, 0x00, 0x40, ...new Uint8Array(64))))).toBe('RLP_INVALID') // leading zero in length
    expect(errorCode(framed(0x00, Uint8Array.from([...zlib.inflateRawSync(manifestRlp), 0x80])))).toBe('RLP_INVALID')
  })

  it('MANIFEST_INVALID: unsupported version and wrong shapes', () => {
    const goodBlock = [1n, 30_000_000n, COINBASE, 2n, []]
    expect(decodeBatch(framedRlp([1n, [goodBlock]])).ok).toBe(true) // control: the well-shaped manifest decodes
    const cases: [string, Parameters<typeof framedRlp>[0]][] = [
      ['version 2', [2n, [goodBlock]]],
      ['version 0', [new Uint8Array(0), []]],
      ['a bare string', Uint8Array.of(1, 2, 3)],
      ['blocks not a list', [1n, Uint8Array.of(1)]],
      ['a third top-level item', [1n, [], []]],
      ['a block that is bytes', [1n, [Uint8Array.of(1)]]],
      ['a block with 4 fields', [1n, [goodBlock.slice(0, 4)]]],
      ['a block with 6 fields', [1n, [[...goodBlock, 1n]]]],
      ['a 19-byte coinbase', [1n, [[1n, 2n, new Uint8Array(19), 3n, []]]]],
      ['a 9-byte timestamp', [1n, [[1n << 64n, 2n, COINBASE, 3n, []]]]],
      ['a number with a leading zero', [1n, [[Uint8Array.of(0, 1), 2n, COINBASE, 3n, []]]]],
      ['a number that is a list', [1n, [[[], 2n, COINBASE, 3n, []]]]],
      ['transactions that are bytes', [1n, [[1n, 2n, COINBASE, 3n, Uint8Array.of(2)]]]],
      ['a transaction that is a list', [1n, [[1n, 2n, COINBASE, 3n, [[Uint8Array.of(2)]]]]]],
    ]
    for (const [name, value] of cases) expect(errorCode(framedRlp(value)), name).toBe('MANIFEST_INVALID')
  })

  it('MANIFEST_INVALID: more blocks or transactions than a batch may hold', () => {
    const emptyBlock = [1n, 2n, COINBASE, 3n, []]
    const tooManyBlocks = framedRlp([1n, Array.from({ length: MAX_BLOCKS_PER_BATCH + 1 }, () => emptyBlock)])
    const compressed = framed(0x01, zlib.deflateRawSync(tooManyBlocks.subarray(5)))
    expect(errorCode(compressed)).toBe('MANIFEST_INVALID')
    const txs = Array.from({ length: MAX_TRANSACTIONS_PER_BATCH / 2 + 1 }, () => Uint8Array.of(1))
    const tooManyTxs = framedRlp([
      1n,
      [
        [1n, 2n, COINBASE, 3n, txs],
        [1n, 2n, COINBASE, 3n, txs],
      ],
    ])
    const result = decodeBatch(tooManyTxs)
    expect(result.ok === false && result.error.code).toBe('MANIFEST_INVALID')
    expect(result.ok === false && result.error.message).toMatch(/too many transactions/)
  })
})
