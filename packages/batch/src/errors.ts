import { CairnError } from '@cairn/primitives'

/**
 * Why a batch could not be decoded. Derivation maps every one of these to the same fixed rule (the
 * batch's blocks are empty); the code says which check failed, for logs, metrics and tests.
 */
export type BatchDecodeErrorCode =
  /** Zero blobs, or more than {@link MAX_BLOBS_PER_BATCH}. */
  | 'BLOB_COUNT_OUT_OF_RANGE'
  /** A blob is not exactly {@link BLOB_SIZE} bytes. */
  | 'BLOB_SIZE_INVALID'
  /** A field element uses its top two bits (so may be ≥ the BLS modulus), or padding after the payload is not zero. */
  | 'BLOB_NOT_CANONICAL'
  /** The length prefix disagrees with the bytes or blobs it frames (too short, too long, or an unused blob). */
  | 'LENGTH_OUT_OF_RANGE'
  /** The compression format byte is not one this codec knows. */
  | 'UNKNOWN_COMPRESSION'
  /** The compressed stream is corrupt, truncated, or followed by trailing bytes. */
  | 'DECOMPRESSION_FAILED'
  /** The stream inflates past {@link MAX_MANIFEST_BYTES} (a decompression bomb, or a batch no proposer may build). */
  | 'DECOMPRESSED_TOO_LARGE'
  /** The manifest bytes are not one canonical RLP item. */
  | 'RLP_INVALID'
  /** Well-formed RLP of the wrong shape: unsupported version, too many blocks, bad field sizes, non-canonical numbers. */
  | 'MANIFEST_INVALID'

export class BatchDecodeError extends CairnError<BatchDecodeErrorCode> {
  override readonly name = 'BatchDecodeError'
}

/** Why a proposer's batch could not be encoded; thrown, since it is a bug or a misuse on the encoding side. */
export type BatchEncodeErrorCode =
  /** A block field is out of range (negative or above uint64, coinbase not 20 bytes, too many blocks). */
  | 'MANIFEST_INVALID'
  /** The manifest RLP exceeds {@link MAX_MANIFEST_BYTES}, which decoders refuse to inflate. */
  | 'MANIFEST_TOO_LARGE'
  /** The framed payload does not fit in {@link MAX_BLOBS_PER_BATCH} blobs (or the caller's budget). */
  | 'PAYLOAD_TOO_LARGE'
  /** The bytes given to `packBlobs` do not start with a length prefix matching their size. */
  | 'PAYLOAD_NOT_FRAMED'
  /** One block alone does not fit in a batch, so no split can carry it. */
  | 'BLOCK_TOO_LARGE'

export class BatchEncodeError extends CairnError<BatchEncodeErrorCode> {
  override readonly name = 'BatchEncodeError'
}
