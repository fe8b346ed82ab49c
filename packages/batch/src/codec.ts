import { packBlobs, readLengthPrefix, unpackBlobs } from './blob-packing.ts'
import {
  COMPRESSION_FORMAT_BYTES,
  type CompressionFormat,
  compress,
  compressionFormatOf,
  DEFAULT_COMPRESSION,
  decompress,
} from './compression.ts'
import { LENGTH_PREFIX_BYTES, MAX_MANIFEST_BYTES, MAX_PAYLOAD_BYTES } from './constants.ts'
import { BatchDecodeError, BatchEncodeError } from './errors.ts'
import { type BatchManifest, decodeManifest, encodeManifest } from './manifest.ts'

/*
 * Framed payload: uint32 BE length L ‖ format byte ‖ compressed manifest RLP (L − 1 bytes).
 * `packBlobs` spreads it over blobs; `unpackBlobs` gives it back.
 */

export type DecodeResult = { ok: true; manifest: BatchManifest } | { ok: false; error: BatchDecodeError }

export type EncodeBatchOptions = {
  /** Defaults to {@link DEFAULT_COMPRESSION}. */
  compression?: CompressionFormat
  /** Brotli encoder quality 0–11 (default 11); decoding is the same for every quality. */
  brotliQuality?: number
}

/**
 * Encodes a manifest into a framed payload. Deterministic for a given Node build (its zlib and brotli
 * versions); decoding never depends on how the encoder compressed. Throws {@link BatchEncodeError}
 * for invalid fields or a payload larger than {@link MAX_PAYLOAD_BYTES}.
 */
export function encodeBatch(manifest: BatchManifest, options: EncodeBatchOptions = {}): Uint8Array {
  const rlp = encodeManifest(manifest)
  return frameManifest(rlp, options.compression ?? DEFAULT_COMPRESSION, options.brotliQuality)
}

/** Compresses and frames already-encoded manifest RLP (the batch splitter reuses it). */
export function frameManifest(rlp: Uint8Array, format: CompressionFormat, brotliQuality?: number): Uint8Array {
  if (rlp.length > MAX_MANIFEST_BYTES) {
    throw new BatchEncodeError(
      'MANIFEST_TOO_LARGE',
      `The manifest is ${rlp.length} bytes; decoders refuse more than ${MAX_MANIFEST_BYTES}. Split the blocks into smaller batches.`,
      { details: { length: rlp.length, max: MAX_MANIFEST_BYTES } },
    )
  }
  const payload = frameUnchecked(rlp, format, brotliQuality)
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new BatchEncodeError(
      'PAYLOAD_TOO_LARGE',
      `The batch compresses to ${payload.length} bytes, more than the ${MAX_PAYLOAD_BYTES} that fit in the blobs of one transaction. Split the blocks into smaller batches.`,
      { details: { length: payload.length, max: MAX_PAYLOAD_BYTES, compression: format } },
    )
  }
  return payload
}

/** Length prefix ‖ format byte ‖ compressed RLP, whatever its size (the splitter measures oversize candidates). */
export function frameUnchecked(rlp: Uint8Array, format: CompressionFormat, brotliQuality?: number): Uint8Array {
  const compressed = compress(format, rlp, brotliQuality === undefined ? {} : { quality: brotliQuality })
  const payload = new Uint8Array(LENGTH_PREFIX_BYTES + 1 + compressed.length)
  new DataView(payload.buffer).setUint32(0, payload.length - LENGTH_PREFIX_BYTES)
  payload[LENGTH_PREFIX_BYTES] = COMPRESSION_FORMAT_BYTES[format]
  payload.set(compressed, LENGTH_PREFIX_BYTES + 1)
  return payload
}

/**
 * Decodes a framed payload. Never throws: every failure is a {@link BatchDecodeError} in the result.
 * Transactions and coinbases are views into the inflated bytes (for format `none`, into `payload`).
 */
export function decodeBatch(payload: Uint8Array): DecodeResult {
  return asResult(() => decodeFramed(payload))
}

export function batchToBlobs(manifest: BatchManifest, options: EncodeBatchOptions = {}): Uint8Array[] {
  return packBlobs(encodeBatch(manifest, options))
}

/** Decodes a batch from its blobs, in versioned-hash order. Never throws. */
export function batchFromBlobs(blobs: readonly Uint8Array[]): DecodeResult {
  return asResult(() => decodeFramed(unpackBlobs(blobs)))
}

function decodeFramed(payload: Uint8Array): BatchManifest {
  if (payload.length < LENGTH_PREFIX_BYTES + 1 || payload.length > MAX_PAYLOAD_BYTES) {
    throw new BatchDecodeError(
      'LENGTH_OUT_OF_RANGE',
      `A framed payload has ${LENGTH_PREFIX_BYTES + 1} to ${MAX_PAYLOAD_BYTES} bytes, not ${payload.length}.`,
      { details: { length: payload.length } },
    )
  }
  const declared = readLengthPrefix(payload)
  if (declared !== payload.length - LENGTH_PREFIX_BYTES) {
    throw new BatchDecodeError(
      'LENGTH_OUT_OF_RANGE',
      `The length prefix says ${declared} bytes follow, but ${payload.length - LENGTH_PREFIX_BYTES} do.`,
      { details: { declared, actual: payload.length - LENGTH_PREFIX_BYTES } },
    )
  }
  const formatByte = payload[LENGTH_PREFIX_BYTES]!
  const format = compressionFormatOf(formatByte)
  if (format === undefined) {
    throw new BatchDecodeError(
      'UNKNOWN_COMPRESSION',
      `Compression format byte 0x${formatByte.toString(16).padStart(2, '0')} is not one this codec knows.`,
      { details: { formatByte } },
    )
  }
  return decodeManifest(decompress(format, payload.subarray(LENGTH_PREFIX_BYTES + 1)))
}

function asResult(decode: () => BatchManifest): DecodeResult {
  try {
    return { ok: true, manifest: decode() }
  } catch (error) {
    if (error instanceof BatchDecodeError) return { ok: false, error }
    // Not reachable by design; kept so that a bug in a check still yields a result, never a crash.
    return {
      ok: false,
      error: new BatchDecodeError('MANIFEST_INVALID', `Unexpected decoder failure: ${String(error)}`, {
        cause: error,
      }),
    }
  }
}
