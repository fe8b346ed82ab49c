import { batchFromBlobs, unpackBlobs } from '@cairn/batch'
import type { BlobFetcher, DecodedPayload } from '@cairn/derivation'
import type { NodeConfig } from './settings.ts'

/** The batch codec's result in derivation's terms: per-block transactions, or why not. */
export function decodeBatchBlobs(blobs: Uint8Array[]): DecodedPayload {
  const result = batchFromBlobs(blobs)
  return result.ok
    ? { ok: true, blocks: result.manifest.blocks }
    : { ok: false, reason: `${result.error.code}: ${result.error.message}` }
}

/** A forced inclusion's blob payload (packed as a batch's blobs are), or undefined if it is not one. */
export function unpackForcedInclusionBlob(blobs: Uint8Array[]): Uint8Array | undefined {
  try {
    return unpackBlobs(blobs)
  } catch {
    return undefined
  }
}

/**
 * Blobs from the beacon API (`--l1.beacon`), falling back to anvil's blob RPC on the L1 URL. The
 * blob package (and its ~2 s KZG setup) loads on the first fetch, so nodes without L1 never pay it.
 */
export function createBlobFetcher(config: NodeConfig & { l1Rpc: string }): BlobFetcher {
  let source: Promise<BlobFetcher> | undefined
  const load = async (): Promise<BlobFetcher> => {
    const { AnvilBlobSource, BeaconBlobSource, FallbackBlobSource } = await import('@cairn/l1')
    return new FallbackBlobSource([
      new BeaconBlobSource(config.l1Beacon ?? config.l1Rpc),
      new AnvilBlobSource(config.l1Rpc),
    ])
  }
  return {
    async getBlobs(request) {
      source ??= load()
      return (await source).getBlobs(request)
    },
  }
}
