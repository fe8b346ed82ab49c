import zlib from 'node:zlib'
import { MAX_MANIFEST_BYTES } from './constants.ts'
import { BatchDecodeError } from './errors.ts'

/**
 * How the manifest RLP is compressed; the format byte in the payload names it, so every format stays
 * decodable whichever one a proposer picks. `brotli` decodes the same whatever mode or quality encoded it.
 */
export type CompressionFormat = 'none' | 'deflate' | 'brotli'

/** Format byte written after the length prefix. Values are protocol: never renumber. */
export const COMPRESSION_FORMAT_BYTES: Readonly<Record<CompressionFormat, number>> = {
  none: 0x00,
  /** Raw DEFLATE (RFC 1951, no zlib header or checksum), level 9. */
  deflate: 0x01,
  /** Brotli (RFC 7932), quality 11, generic mode, 4 MiB window. */
  brotli: 0x02,
}

/**
 * Chosen by measurement (bench/batch.bench.ts, 5,000 signed transfers from 500 senders): brotli q11
 * fits 1,481 ETH / 1,468 ERC-20 transfers per blob, against 1,454 / 1,422 for deflate level 9 and
 * 1,451 / 1,413 for plain zlib at its default level (+2% / +4%). Signatures and fresh addresses do
 * not compress, which caps every format near 88 bytes per transfer. Brotli decodes as fast as deflate.
 */
export const DEFAULT_COMPRESSION: CompressionFormat = 'brotli'

export function compressionFormatOf(byte: number): CompressionFormat | undefined {
  for (const [format, value] of Object.entries(COMPRESSION_FORMAT_BYTES)) {
    if (value === byte) return format as CompressionFormat
  }
  return undefined
}

/**
 * Brotli encoder settings. Only the encoder sees them, so any choice decodes the same. Text mode gave
 * byte-identical output to generic on transaction data, and a 16 MiB window (lgwin 24) no gain over 4 MiB.
 */
export type BrotliTuning = { mode?: 'generic' | 'text'; quality?: number; windowBits?: number }

/**
 * Quality 11 is the densest but encodes at 0.2–0.6 MB/s (2–4 s for a full 6-blob batch); quality 9
 * runs at 4–11 MB/s and is 0.3–0.8% larger. The splitter sizes batches at 9 and encodes the result at 11.
 */
export const DEFAULT_BROTLI_QUALITY = 11

export function compress(format: CompressionFormat, data: Uint8Array, brotli: BrotliTuning = {}): Uint8Array {
  switch (format) {
    case 'none':
      return data
    case 'deflate':
      return asBytes(zlib.deflateRawSync(data, { level: 9, memLevel: 9 }))
    case 'brotli':
      return asBytes(
        zlib.brotliCompressSync(data, {
          params: {
            [zlib.constants.BROTLI_PARAM_MODE]:
              brotli.mode === 'text' ? zlib.constants.BROTLI_MODE_TEXT : zlib.constants.BROTLI_MODE_GENERIC,
            [zlib.constants.BROTLI_PARAM_QUALITY]: brotli.quality ?? DEFAULT_BROTLI_QUALITY,
            [zlib.constants.BROTLI_PARAM_LGWIN]: brotli.windowBits ?? 22,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
          },
        }),
      )
  }
}

/**
 * Inflates `data`, refusing to produce more than {@link MAX_MANIFEST_BYTES} and requiring the stream to
 * end exactly at the last byte: trailing bytes would give one batch many encodings.
 */
export function decompress(format: CompressionFormat, data: Uint8Array): Uint8Array {
  if (format === 'none') return data
  const inflate = format === 'deflate' ? zlib.inflateRawSync : zlib.brotliDecompressSync
  let result: { buffer: Buffer; engine: zlib.Zlib }
  try {
    result = inflate(data, { info: true, maxOutputLength: MAX_MANIFEST_BYTES }) as unknown as typeof result
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BatchDecodeError(
        'DECOMPRESSED_TOO_LARGE',
        `The ${format} stream inflates past ${MAX_MANIFEST_BYTES} bytes; no valid batch is that large.`,
        { cause, details: { format, limit: MAX_MANIFEST_BYTES } },
      )
    }
    throw new BatchDecodeError(
      'DECOMPRESSION_FAILED',
      `The ${format} stream does not decompress: ${errorText(cause)}.`,
      {
        cause,
        details: { format },
      },
    )
  }
  const consumed = result.engine.bytesWritten
  if (consumed !== data.length) {
    throw new BatchDecodeError(
      'DECOMPRESSION_FAILED',
      `The ${format} stream ends after ${consumed} of ${data.length} bytes; trailing bytes are not allowed.`,
      { details: { format, consumed, length: data.length } },
    )
  }
  return asBytes(result.buffer)
}

/** A plain Uint8Array view of a Buffer, so callers and tests see one type. */
function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
