import { type Hex, isHex } from '@cairn/primitives'
import { BlobSourceError } from './errors.ts'
import { BLOB_SIZE, blobVersionedHash } from './kzg.ts'

/** Which blobs to fetch: those of one L1 transaction, identified every way a source may need. */
export type BlobRequest = {
  /** L1 execution block that includes the transaction. */
  blockNumber: bigint
  blockHash: Hex
  blockTimestamp: bigint
  txHash: Hex
  /** The blobs wanted, in the order wanted (usually the transaction's `blobVersionedHashes`). */
  versionedHashes: Hex[]
}

/**
 * Where derivation reads blobs from. `getBlobs` resolves to the blobs in the order of
 * `request.versionedHashes`, each checked against its versioned hash, or throws {@link BlobSourceError}.
 */
export interface BlobSource {
  /** For logs: which source answered or failed. */
  readonly name: string
  getBlobs(request: BlobRequest): Promise<Uint8Array[]>
}

/** Throws `INVALID_REQUEST` unless every versioned hash is 32 bytes with the KZG version byte. */
export function checkRequest(request: BlobRequest): void {
  for (const [index, hash] of request.versionedHashes.entries()) {
    if (!isHex(hash, { bytes: 32 }) || !hash.toLowerCase().startsWith('0x01')) {
      throw new BlobSourceError(
        'INVALID_REQUEST',
        `Versioned hash ${index} (${String(hash)}) is not a 32-byte KZG versioned hash (0x01…).`,
        { details: { index, hash } },
      )
    }
  }
}

/**
 * Matches blobs a source returned to the requested versioned hashes by committing to each one, and
 * returns them in request order. Blobs nobody asked for are ignored (a beacon node returns a whole
 * block's blobs when it ignores the filter). A requested hash with no matching blob throws
 * `BLOB_HASH_MISMATCH` if the source returned blobs that matched nothing, else `BLOB_NOT_FOUND`.
 */
export function matchBlobs(request: BlobRequest, candidates: readonly Uint8Array[], source: string): Uint8Array[] {
  const wanted = new Set(request.versionedHashes.map((h) => h.toLowerCase()))
  const byHash = new Map<string, Uint8Array>()
  let unmatched = 0
  for (const [index, blob] of candidates.entries()) {
    if (blob.length !== BLOB_SIZE) {
      throw new BlobSourceError('INVALID_BLOB', `${source} returned blob ${index} of ${blob.length} bytes.`, {
        details: { source, index, length: blob.length },
      })
    }
    let hash: string
    try {
      hash = blobVersionedHash(blob)
    } catch (cause) {
      throw new BlobSourceError('INVALID_BLOB', `${source} returned blob ${index}, which KZG cannot commit to.`, {
        cause,
        details: { source, index },
      })
    }
    if (wanted.has(hash)) byHash.set(hash, blob)
    else unmatched++
  }
  const missing = request.versionedHashes.filter((h) => !byHash.has(h.toLowerCase()))
  if (missing.length > 0) {
    const mismatch = unmatched > 0
    throw new BlobSourceError(
      mismatch ? 'BLOB_HASH_MISMATCH' : 'BLOB_NOT_FOUND',
      mismatch
        ? `${source} returned ${unmatched} blob(s) that match none of the requested versioned hashes; missing ${missing.join(', ')}.`
        : `${source} does not have the blob(s) ${missing.join(', ')} of transaction ${request.txHash}.`,
      { details: { source, missing, txHash: request.txHash, blockNumber: request.blockNumber } },
    )
  }
  return request.versionedHashes.map((h) => byHash.get(h.toLowerCase())!)
}

/** Parses a 0x-prefixed blob from JSON, or throws `INVALID_BLOB`. */
export function blobFromHex(value: unknown, source: string, index: number): Uint8Array {
  if (!isHex(value, { bytes: BLOB_SIZE })) {
    const shown = typeof value === 'string' ? `${value.length} characters` : typeof value
    throw new BlobSourceError(
      'INVALID_BLOB',
      `${source} returned blob ${index} that is not ${BLOB_SIZE} bytes of hex (${shown}).`,
      {
        details: { source, index },
      },
    )
  }
  return Uint8Array.from(Buffer.from(value.slice(2), 'hex'))
}

/**
 * Tries each source in order and returns the first verified answer. A source that fails, including
 * one serving wrong blobs, is skipped; if all fail, throws `ALL_SOURCES_FAILED` listing each failure.
 */
export class FallbackBlobSource implements BlobSource {
  readonly name: string

  constructor(private readonly sources: readonly BlobSource[]) {
    if (sources.length === 0)
      throw new BlobSourceError('INVALID_REQUEST', 'FallbackBlobSource needs at least one source.')
    this.name = `fallback(${sources.map((s) => s.name).join(', ')})`
  }

  async getBlobs(request: BlobRequest): Promise<Uint8Array[]> {
    checkRequest(request)
    const errors: unknown[] = []
    for (const source of this.sources) {
      try {
        return await source.getBlobs(request)
      } catch (error) {
        errors.push(error)
      }
    }
    throw new BlobSourceError(
      'ALL_SOURCES_FAILED',
      `No blob source could serve transaction ${request.txHash}: ${errors.map((e, i) => `${this.sources[i]!.name}: ${describe(e)}`).join('; ')}`,
      {
        cause: new AggregateError(errors),
        details: {
          txHash: request.txHash,
          errors: errors.map((e, i) => ({
            source: this.sources[i]!.name,
            code: (e as { code?: string }).code,
            message: describe(e),
          })),
        },
      },
    )
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Builds the request for a mined blob transaction from an L1 RPC (the transaction, then its block).
 * Derivation usually has these fields from the proposal event already.
 */
export async function blobRequestForTransaction(
  client: {
    getTransaction(args: {
      hash: Hex
    }): Promise<{ blockNumber: bigint | null; blobVersionedHashes?: readonly Hex[] | undefined }>
    getTransactionReceipt(args: { hash: Hex }): Promise<{ blockNumber: bigint }>
    getBlock(args: { blockNumber: bigint }): Promise<{ hash: Hex | null; timestamp: bigint }>
  },
  txHash: Hex,
): Promise<BlobRequest> {
  const tx = await client.getTransaction({ hash: txHash })
  // A node can still list a transaction as pending just after its receipt is out (anvil does, for a
  // moment, while its pool catches up with the block): the receipt says where it was mined.
  const blockNumber =
    tx.blockNumber ?? (await client.getTransactionReceipt({ hash: txHash }).catch(() => undefined))?.blockNumber
  if (blockNumber === undefined) {
    throw new BlobSourceError('BLOB_NOT_FOUND', `Transaction ${txHash} is not mined yet.`, { details: { txHash } })
  }
  const block = await client.getBlock({ blockNumber })
  return {
    blockNumber,
    blockHash: block.hash!,
    blockTimestamp: block.timestamp,
    txHash,
    versionedHashes: [...(tx.blobVersionedHashes ?? [])],
  }
}
