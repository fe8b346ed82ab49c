import { RLP } from '@ethereumjs/rlp'
import { rlpList } from '@cairn/primitives'
import { frameUnchecked } from './codec.ts'
import { type CompressionFormat, DEFAULT_BROTLI_QUALITY, DEFAULT_COMPRESSION } from './compression.ts'
import {
  LENGTH_PREFIX_BYTES,
  MANIFEST_VERSION,
  MAX_BLOCKS_PER_BATCH,
  MAX_MANIFEST_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_TRANSACTIONS_PER_BATCH,
} from './constants.ts'
import { BatchEncodeError } from './errors.ts'
import { type BatchBlock, type BatchManifest, blockToRlpFields } from './manifest.ts'

export type SplitOptions = {
  /** Largest framed payload per batch (default and upper bound: {@link MAX_PAYLOAD_BYTES}, i.e. 6 blobs). */
  maxPayloadBytes?: number
  /** Default {@link MAX_BLOCKS_PER_BATCH}; set it to the Inbox's `maxBlocksPerBatch`. */
  maxBlocksPerBatch?: number
  compression?: CompressionFormat
  /** Brotli quality of the final encoding (default 11); sizing uses quality ≤ 9, ~20× faster. */
  brotliQuality?: number
  /** Compressions tried per batch before settling for the fullest fit found (default 4). */
  maxAttempts?: number
}

/** A batch ready to pack: its blocks and the framed payload already encoded from them. */
export type EncodedBatch = { manifest: BatchManifest; payload: Uint8Array }

/** Stop growing a batch once it is this full: another compression would gain little. */
const GOOD_ENOUGH_FILL = 0.97
/** Aim a little under the budget, since the compression ratio of a larger batch drifts. */
const ESTIMATE_MARGIN = 0.985
/** Brotli quality used to size batches; the final encoding at a higher quality is (almost always) smaller still. */
const PROBE_BROTLI_QUALITY = 9
/** Bytes the manifest adds around its blocks: two list headers of up to 5 bytes and the version. */
const MANIFEST_OVERHEAD = 11

/**
 * Cuts blocks, in order, into consecutive batches whose payloads fit `maxPayloadBytes`. A batch's
 * block count is estimated from the compression ratio last observed, then checked by compressing it
 * for real: every returned payload is the actual encoding of its manifest, so none is over budget.
 * With enough blocks each batch is grown towards ≥ 97% of the budget, within `maxAttempts`
 * compressions. Throws {@link BatchEncodeError} `BLOCK_TOO_LARGE` for a block that fits no batch.
 */
export function splitIntoBatches(blocks: readonly BatchBlock[], options: SplitOptions = {}): EncodedBatch[] {
  const budget = Math.min(options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES)
  const maxBlocks = Math.max(1, Math.min(options.maxBlocksPerBatch ?? MAX_BLOCKS_PER_BATCH, MAX_BLOCKS_PER_BATCH))
  const format = options.compression ?? DEFAULT_COMPRESSION
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4)
  const finalQuality = options.brotliQuality ?? DEFAULT_BROTLI_QUALITY
  const probeQuality = Math.min(finalQuality, PROBE_BROTLI_QUALITY)

  const encodedBlocks = blocks.map((block, i) => RLP.encode(blockToRlpFields(block, i)))
  // Prefix sums: bytes and transactions of blocks [0, i).
  const rawBefore = [0]
  const txsBefore = [0]
  for (let i = 0; i < blocks.length; i++) {
    rawBefore.push(rawBefore[i]! + encodedBlocks[i]!.length)
    txsBefore.push(txsBefore[i]! + blocks[i]!.transactions.length)
  }
  const rawSize = (first: number, count: number) => MANIFEST_OVERHEAD + rawBefore[first + count]! - rawBefore[first]!

  const batches: EncodedBatch[] = []
  let ratio = 1 // compressed bytes per RLP byte; starts pessimistic and learns from every compression
  for (let first = 0; first < blocks.length; ) {
    // Largest count the hard caps allow, before any compression.
    let maxCount = 0
    while (
      first + maxCount < blocks.length &&
      maxCount < maxBlocks &&
      rawSize(first, maxCount + 1) <= MAX_MANIFEST_BYTES &&
      txsBefore[first + maxCount + 1]! - txsBefore[first]! <= MAX_TRANSACTIONS_PER_BATCH
    ) {
      maxCount++
    }
    if (maxCount === 0) {
      throw new BatchEncodeError(
        'BLOCK_TOO_LARGE',
        `Block ${first} alone exceeds the per-batch caps (${MAX_MANIFEST_BYTES} RLP bytes, ${MAX_TRANSACTIONS_PER_BATCH} transactions).`,
        {
          details: { blockIndex: first, rlpBytes: rawSize(first, 1), transactions: blocks[first]!.transactions.length },
        },
      )
    }
    const estimate = (r: number) => {
      let count = 1
      while (count < maxCount && LENGTH_PREFIX_BYTES + 1 + rawSize(first, count + 1) * r <= budget * ESTIMATE_MARGIN) {
        count++
      }
      return count
    }

    let best: { count: number; rlp: Uint8Array; payload: Uint8Array } | undefined
    let fitsUpTo = 0 // largest count known to fit
    let tooBigFrom = maxCount + 1 // smallest count known not to fit
    let count = estimate(ratio)
    for (let attempt = 1; ; attempt++) {
      const rlp = manifestRlp(encodedBlocks, first, count)
      const payload = frameUnchecked(rlp, format, probeQuality)
      ratio = (payload.length - LENGTH_PREFIX_BYTES - 1) / rlp.length
      let next: number
      if (payload.length <= budget) {
        best = { count, rlp, payload }
        fitsUpTo = count
        if (count === maxCount || payload.length >= budget * GOOD_ENOUGH_FILL) break
        next = Math.max(estimate(ratio), count + 1)
      } else {
        if (count === 1) {
          throw new BatchEncodeError(
            'BLOCK_TOO_LARGE',
            `Block ${first} alone encodes to ${payload.length} bytes, over the ${budget}-byte batch budget.`,
            { details: { blockIndex: first, length: payload.length, budget } },
          )
        }
        tooBigFrom = count
        // Shrink at least in proportion to the overshoot.
        next = Math.min(estimate(ratio), Math.floor((count * budget) / payload.length))
      }
      next = Math.min(Math.max(next, fitsUpTo + 1), tooBigFrom - 1)
      if (next <= fitsUpTo || (best !== undefined && attempt >= maxAttempts)) break
      count = next
    }
    if (best === undefined) throw new Error('unreachable: a single block either fits or throws')
    let payload = best.payload
    if (format === 'brotli' && finalQuality !== probeQuality) {
      const dense = frameUnchecked(best.rlp, format, finalQuality)
      if (dense.length <= payload.length) payload = dense
    }
    batches.push({ manifest: { blocks: blocks.slice(first, first + best.count) }, payload })
    first += best.count
  }
  return batches
}

/** Manifest RLP from pre-encoded blocks: the same bytes `encodeManifest` produces for those blocks. */
function manifestRlp(encodedBlocks: Uint8Array[], first: number, count: number): Uint8Array {
  const blocksList = rlpList(encodedBlocks.slice(first, first + count))
  return rlpList([RLP.encode(BigInt(MANIFEST_VERSION)), blocksList])
}
