import { type BlobRequest, type BlobSource, blobFromHex, checkRequest, matchBlobs } from './blob-source.ts'
import { BlobSourceError } from './errors.ts'
import { httpError, requestJson } from './http.ts'

export type BeaconBlobSourceOptions = {
  timeoutMs?: number
  /**
   * Beacon chain timing, if known; otherwise read once from `/eth/v1/beacon/genesis` and
   * `/eth/v1/config/spec`. Set both to skip those requests.
   */
  genesisTime?: bigint
  secondsPerSlot?: bigint
}

type SlotTiming = { genesisTime: bigint; secondsPerSlot: bigint }

/**
 * Reads blobs from the Beacon API `GET {beaconUrl}/eth/v1/beacon/blobs/{block_id}?versioned_hashes=…`.
 *
 * Which `block_id`: a beacon node wants a slot or a beacon block root, not an execution block. When
 * the server serves `/eth/v1/beacon/genesis` and `/eth/v1/config/spec` (every beacon node does), the
 * execution block's slot is `(timestamp − genesis_time) / SECONDS_PER_SLOT`; that is asked first. When
 * it serves no spec (anvil, which has no slots but answers this path for execution block numbers and
 * hashes), or the slot yields nothing, the execution block hash is asked. Blobs are matched to the
 * versioned hashes by their commitments, so an id that names the wrong block can only fail, never
 * return wrong data.
 */
export class BeaconBlobSource implements BlobSource {
  readonly name: string
  private timing: Promise<SlotTiming | undefined> | undefined

  constructor(
    private readonly beaconUrl: string,
    private readonly options: BeaconBlobSourceOptions = {},
  ) {
    this.beaconUrl = beaconUrl.replace(/\/+$/, '')
    this.name = 'beacon'
    if (options.genesisTime !== undefined && options.secondsPerSlot !== undefined) {
      this.timing = Promise.resolve({ genesisTime: options.genesisTime, secondsPerSlot: options.secondsPerSlot })
    }
  }

  async getBlobs(request: BlobRequest): Promise<Uint8Array[]> {
    checkRequest(request)
    const ids: string[] = []
    const timing = await this.slotTiming()
    if (timing !== undefined) ids.push(slotOf(request, timing).toString())
    ids.push(request.blockHash)

    let lastError: BlobSourceError | undefined
    for (const id of ids) {
      try {
        return matchBlobs(request, await this.fetchBlobs(id, request), this.name)
      } catch (error) {
        // Only "this id names no such blobs" moves on to the next id; transport failures are final.
        if (!(error instanceof BlobSourceError) || !['BLOB_NOT_FOUND', 'BLOB_HASH_MISMATCH'].includes(error.code)) {
          throw error
        }
        lastError = error
      }
    }
    throw lastError!
  }

  private async fetchBlobs(blockId: string, request: BlobRequest): Promise<Uint8Array[]> {
    const url = `${this.beaconUrl}/eth/v1/beacon/blobs/${blockId}?versioned_hashes=${request.versionedHashes.join(',')}`
    const response = await requestJson(url, this.requestOptions())
    if (response.status === 404) {
      throw new BlobSourceError('BLOB_NOT_FOUND', `The beacon node has no block ${blockId} (HTTP 404).`, {
        details: { source: this.name, blockId, txHash: request.txHash },
      })
    }
    if (response.status !== 200) throw httpError(this.name, url, response)
    const data = (response.body as { data?: unknown }).data
    if (!Array.isArray(data)) {
      throw new BlobSourceError('BAD_RESPONSE', `The beacon node answered block ${blockId} without a data list.`, {
        details: { source: this.name, blockId },
      })
    }
    return data.map((hex, index) => blobFromHex(hex, this.name, index))
  }

  /** Genesis time and slot length, read once; undefined when the server has no beacon chain (anvil). */
  private slotTiming(): Promise<SlotTiming | undefined> {
    this.timing ??= this.readTiming().catch((error: unknown) => {
      this.timing = undefined // a transient failure must not stick for the process's lifetime
      throw error
    })
    return this.timing
  }

  private async readTiming(): Promise<SlotTiming | undefined> {
    const genesisUrl = `${this.beaconUrl}/eth/v1/beacon/genesis`
    const specUrl = `${this.beaconUrl}/eth/v1/config/spec`
    const [genesis, spec] = await Promise.all([
      this.options.genesisTime === undefined ? requestJson(genesisUrl, this.requestOptions()) : undefined,
      this.options.secondsPerSlot === undefined ? requestJson(specUrl, this.requestOptions()) : undefined,
    ])
    if (genesis?.status === 404 || spec?.status === 404) return undefined
    if (genesis && genesis.status !== 200) throw httpError(this.name, genesisUrl, genesis)
    if (spec && spec.status !== 200) throw httpError(this.name, specUrl, spec)
    const genesisTime =
      this.options.genesisTime ??
      uintField((genesis?.body as { data?: { genesis_time?: unknown } })?.data?.genesis_time)
    const secondsPerSlot =
      this.options.secondsPerSlot ??
      uintField((spec?.body as { data?: { SECONDS_PER_SLOT?: unknown } })?.data?.SECONDS_PER_SLOT)
    if (genesisTime === undefined || secondsPerSlot === undefined || secondsPerSlot === 0n) {
      throw new BlobSourceError(
        'BAD_RESPONSE',
        'The beacon node serves genesis and spec without a usable genesis_time or SECONDS_PER_SLOT.',
        {
          details: { source: this.name },
        },
      )
    }
    return { genesisTime, secondsPerSlot }
  }

  private requestOptions() {
    return { source: this.name, ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }) }
  }
}

function slotOf(request: BlobRequest, { genesisTime, secondsPerSlot }: SlotTiming): bigint {
  const sinceGenesis = request.blockTimestamp - genesisTime
  if (sinceGenesis < 0n || sinceGenesis % secondsPerSlot !== 0n) {
    throw new BlobSourceError(
      'SLOT_UNRESOLVABLE',
      `Execution block ${request.blockNumber} (timestamp ${request.blockTimestamp}) is not on a slot of this beacon chain (genesis ${genesisTime}, ${secondsPerSlot} s slots): is the beacon node on the same network as the L1 RPC?`,
      {
        details: {
          blockNumber: request.blockNumber,
          blockTimestamp: request.blockTimestamp,
          genesisTime,
          secondsPerSlot,
        },
      },
    )
  }
  return sinceGenesis / secondsPerSlot
}

function uintField(value: unknown): bigint | undefined {
  return typeof value === 'string' && /^\d+$/.test(value) ? BigInt(value) : undefined
}
