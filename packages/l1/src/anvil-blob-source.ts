import { type BlobRequest, type BlobSource, blobFromHex, checkRequest, matchBlobs } from './blob-source.ts'
import { BlobSourceError } from './errors.ts'
import { httpError, requestJson } from './http.ts'

/**
 * Reads a transaction's blobs from anvil's `anvil_getBlobsByTransactionHash` (a dev L1 only: real
 * execution clients drop sidecars once mined). Blobs are verified against the versioned hashes.
 */
export class AnvilBlobSource implements BlobSource {
  readonly name: string

  constructor(
    private readonly rpcUrl: string,
    private readonly options: { timeoutMs?: number } = {},
  ) {
    this.name = 'anvil'
  }

  async getBlobs(request: BlobRequest): Promise<Uint8Array[]> {
    checkRequest(request)
    const response = await requestJson(this.rpcUrl, {
      method: 'POST',
      body: { jsonrpc: '2.0', id: 1, method: 'anvil_getBlobsByTransactionHash', params: [request.txHash] },
      source: this.name,
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    })
    if (response.status !== 200) throw httpError(this.name, this.rpcUrl, response)
    const body = response.body as { result?: unknown; error?: { code?: number; message?: string } }
    if (body.error !== undefined) {
      throw new BlobSourceError(
        'RPC_ERROR',
        `anvil_getBlobsByTransactionHash failed: ${body.error.message ?? 'unknown error'}.`,
        {
          details: { source: this.name, error: body.error, txHash: request.txHash },
        },
      )
    }
    if (body.result === null || body.result === undefined) {
      throw new BlobSourceError('BLOB_NOT_FOUND', `anvil has no blobs for transaction ${request.txHash}.`, {
        details: { source: this.name, txHash: request.txHash },
      })
    }
    if (!Array.isArray(body.result)) {
      throw new BlobSourceError('BAD_RESPONSE', 'anvil_getBlobsByTransactionHash did not return a list of blobs.', {
        details: { source: this.name, txHash: request.txHash },
      })
    }
    const blobs = body.result.map((hex, index) => blobFromHex(hex, this.name, index))
    return matchBlobs(request, blobs, this.name)
  }
}
