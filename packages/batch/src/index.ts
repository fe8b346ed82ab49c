export { blobCountFor, packBlobs, unpackBlobs } from './blob-packing.ts'
export {
  batchFromBlobs,
  batchToBlobs,
  type DecodeResult,
  decodeBatch,
  type EncodeBatchOptions,
  encodeBatch,
} from './codec.ts'
export {
  COMPRESSION_FORMAT_BYTES,
  type CompressionFormat,
  DEFAULT_COMPRESSION,
} from './compression.ts'
export {
  BLOB_PAYLOAD_CAPACITY,
  BLOB_SIZE,
  FIELD_ELEMENTS_PER_BLOB,
  LENGTH_PREFIX_BYTES,
  MANIFEST_VERSION,
  MAX_BLOBS_PER_BATCH,
  MAX_BLOCKS_PER_BATCH,
  MAX_MANIFEST_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_TRANSACTIONS_PER_BATCH,
} from './constants.ts'
export {
  BatchDecodeError,
  type BatchDecodeErrorCode,
  BatchEncodeError,
  type BatchEncodeErrorCode,
} from './errors.ts'
export type { BatchBlock, BatchManifest } from './manifest.ts'
export { type EncodedBatch, type SplitOptions, splitIntoBatches } from './split.ts'
