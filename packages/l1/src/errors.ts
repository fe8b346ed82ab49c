import { CairnError } from '@cairn/primitives'

export type BlobSourceErrorCode =
  /** The request itself is malformed (a versioned hash without the 0x01 KZG version byte, not 32 bytes). */
  | 'INVALID_REQUEST'
  /** The source does not have the block, the transaction, or a requested blob (pruned, not yet seen, wrong block). */
  | 'BLOB_NOT_FOUND'
  /** The source answered with blobs whose KZG commitments do not hash to the requested versioned hashes. */
  | 'BLOB_HASH_MISMATCH'
  /** A returned blob is not a blob: wrong size, not hex, or a field element ≥ the BLS modulus. */
  | 'INVALID_BLOB'
  /** The source answered something that is not the documented response shape. */
  | 'BAD_RESPONSE'
  /** The source answered an HTTP status other than 2xx and 404. */
  | 'HTTP_ERROR'
  /** The JSON-RPC endpoint returned an error object. */
  | 'RPC_ERROR'
  /** No answer within the timeout. */
  | 'TIMEOUT'
  /** Connection refused, reset, DNS failure: nothing answered. */
  | 'UNREACHABLE'
  /** The beacon chain's genesis and slot time do not place the execution block on a slot. */
  | 'SLOT_UNRESOLVABLE'
  /** Every source of a {@link FallbackBlobSource} failed; `details.errors` has each one's code and message. */
  | 'ALL_SOURCES_FAILED'

/** A blob fetch failed. Derivation decides what to do (usually: wait and retry; never skip the batch). */
export class BlobSourceError extends CairnError<BlobSourceErrorCode> {
  override readonly name = 'BlobSourceError'
}

export type BlobTransactionErrorCode =
  /** Options are inconsistent: no way to reach a node, no local account, no blobs, too many blobs. */
  | 'INVALID_OPTIONS'
  /** A blob cannot be committed to (wrong size or a field element ≥ the BLS modulus). */
  | 'INVALID_BLOB'
  /** The node refused the transaction (underpriced, replacement underpriced, nonce too low, …); see `cause`. */
  | 'REJECTED'

export class BlobTransactionError extends CairnError<BlobTransactionErrorCode> {
  override readonly name = 'BlobTransactionError'
}
