/**
 * Batch codec figures: L2 transactions per blob for signed ETH and ERC-20 transfers under each
 * compression (the chosen default against plain RLP + zlib at its default level), and encode/decode speed.
 *
 *   npx tsx packages/batch/bench/batch.bench.ts            (~30 s; signs 10,000 transactions first)
 */
import zlib from 'node:zlib'
import { RLP } from '@ethereumjs/rlp'
import {
  BLOB_PAYLOAD_CAPACITY,
  type BatchManifest,
  batchFromBlobs,
  type CompressionFormat,
  DEFAULT_COMPRESSION,
  decodeBatch,
  encodeBatch,
  MAX_BLOBS_PER_BATCH,
  packBlobs,
  splitIntoBatches,
  unpackBlobs,
} from '../src/index.ts'
import { frameUnchecked } from '../src/codec.ts'
import { decodeManifest } from '../src/manifest.ts'
import { blocksOf, signedTransfers, type TransferKind } from '../test/fixtures.ts'

const TXS = Number(process.env.BENCH_TXS ?? 5000)
const SENDERS = 500
const FRAMING = 5 // length prefix + format byte

type Variant = {
  name: string
  encode: (m: BatchManifest, rlp: Uint8Array) => Uint8Array
  decode?: (p: Uint8Array) => void
}

const ours =
  (compression: CompressionFormat, brotliQuality?: number): Variant['encode'] =>
  (m) =>
    encodeBatch(m, brotliQuality === undefined ? { compression } : { compression, brotliQuality })

const variants: Variant[] = [
  // Framed without the size check: uncompressed ERC-20 transfers overflow 6 blobs.
  {
    name: 'RLP, no compression',
    encode: (_, rlp) => frameUnchecked(rlp, 'none'),
    decode: (p) => decodeManifest(p.subarray(5)),
  },
  {
    name: 'RLP + zlib default level (baseline)',
    encode: (_, rlp) => zlib.deflateSync(rlp),
    decode: (p) => RLP.decode(zlib.inflateSync(p)),
  },
  { name: 'RLP + deflate raw level 9', encode: ours('deflate'), decode: decodeBatch },
  { name: 'RLP + brotli q9', encode: ours('brotli', 9), decode: decodeBatch },
  { name: 'RLP + brotli q11 generic (default)', encode: ours('brotli'), decode: decodeBatch },
  {
    name: 'RLP + brotli q11 text mode',
    encode: (_, rlp) =>
      zlib.brotliCompressSync(rlp, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        },
      }),
  },
]

function time<T>(fn: () => T, minMs = 300): { value: T; ms: number } {
  let runs = 0
  let value!: T
  const start = performance.now()
  do {
    value = fn()
    runs++
  } while (performance.now() - start < minMs && runs < 20)
  return { value, ms: (performance.now() - start) / runs }
}

const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(1)

console.log(
  `Cairn batch codec benchmark: ${TXS} signed transfers per kind from ${SENDERS} senders, 100 per block; default compression: ${DEFAULT_COMPRESSION}`,
)
console.log(
  `Blob capacity: ${BLOB_PAYLOAD_CAPACITY} payload bytes per blob, ${BLOB_PAYLOAD_CAPACITY * MAX_BLOBS_PER_BATCH} per 6-blob transaction\n`,
)

for (const kind of ['eth', 'erc20'] as TransferKind[]) {
  const signStart = performance.now()
  const txs = signedTransfers(kind, TXS, { senders: SENDERS })
  const avgTx = txs.reduce((s, t) => s + t.length, 0) / txs.length
  const manifest = { blocks: blocksOf(txs, 100) }
  const rlp = RLP.encode([
    1n,
    manifest.blocks.map((b) => [b.timestamp, b.gasLimit, b.coinbase, b.anchorBlockNumber, b.transactions]),
  ])
  console.log(
    `${kind.toUpperCase()} transfers: ${txs.length} txs, ${avgTx.toFixed(1)} bytes each, manifest RLP ${rlp.length} bytes (signed in ${((performance.now() - signStart) / 1000).toFixed(1)} s)`,
  )
  console.log('  variant                               bytes/tx  tx/blob  tx/6 blobs  encode MB/s  decode MB/s')
  for (const variant of variants) {
    const encoded = time(() => variant.encode(manifest, rlp), 1)
    const framed =
      encoded.value.length + (variant.name.startsWith('RLP + zlib') || variant.name.includes('text') ? FRAMING : 0)
    const perTx = framed / txs.length
    const decoded = variant.decode ? time(() => variant.decode!(encoded.value)) : undefined
    console.log(
      `  ${variant.name.padEnd(37)} ${perTx.toFixed(1).padStart(8)} ${Math.floor(BLOB_PAYLOAD_CAPACITY / perTx)
        .toString()
        .padStart(8)} ${Math.floor((BLOB_PAYLOAD_CAPACITY * MAX_BLOBS_PER_BATCH) / perTx)
        .toString()
        .padStart(
          11,
        )} ${mbps(rlp.length, encoded.ms).padStart(12)} ${(decoded ? mbps(rlp.length, decoded.ms) : '-').padStart(12)}`,
    )
  }
  // Whole blocks of 10 transactions into one-blob batches, as the proposer would cut them.
  const split = time(() => splitIntoBatches(blocksOf(txs, 10), { maxPayloadBytes: BLOB_PAYLOAD_CAPACITY }), 1)
  const full = split.value.slice(0, -1)
  const txsInFull = full.reduce((s, b) => s + b.manifest.blocks.reduce((n, bl) => n + bl.transactions.length, 0), 0)
  const fill = full.reduce((s, b) => s + b.payload.length, 0) / (full.length * BLOB_PAYLOAD_CAPACITY)
  console.log(
    `  splitIntoBatches into 1-blob batches: ${split.value.length} batches, ${(txsInFull / full.length).toFixed(0)} tx per full blob, fill ${(fill * 100).toFixed(1)}%, ${(split.ms / 1000).toFixed(1)} s`,
  )
  const payload = encodeBatch(manifest)
  const packed = time(() => packBlobs(payload))
  const unpacked = time(() => unpackBlobs(packed.value))
  const endToEnd = time(() => batchFromBlobs(packed.value))
  console.log(
    `  blobs (${packed.value.length}): pack ${mbps(payload.length, packed.ms)} MB/s, unpack+check ${mbps(payload.length, unpacked.ms)} MB/s, batchFromBlobs ${endToEnd.ms.toFixed(1)} ms (${mbps(rlp.length, endToEnd.ms)} MB/s of manifest)\n`,
  )
}
