import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hex } from '@cairn/primitives'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { distinctBlobs } from '../test/blobs.ts'
import { BeaconBlobSource } from './beacon-blob-source.ts'
import { type BlobRequest, type BlobSource, FallbackBlobSource } from './blob-source.ts'
import { BlobSourceError } from './errors.ts'
import { blobVersionedHash, loadKzg } from './kzg.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A stand-in beacon node whose behaviour each test sets; records the paths it was asked for. */
let handler: Handler
const asked: string[] = []
let server: Server
let url: string

const GENESIS = 1_700_000_000n
const blobs = distinctBlobs(3, 5)
const hexOf = (blob: Uint8Array) => `0x${Buffer.from(blob).toString('hex')}`
let request: BlobRequest

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** A beacon node with 12 s slots whose slot 100 holds `blobs`. */
const beaconNode: Handler = (req, res) => {
  const path = req.url!.split('?')[0]!
  if (path === '/eth/v1/beacon/genesis') return json(res, 200, { data: { genesis_time: GENESIS.toString() } })
  if (path === '/eth/v1/config/spec') return json(res, 200, { data: { SECONDS_PER_SLOT: '12', SLOTS_PER_EPOCH: '32' } })
  if (path === '/eth/v1/beacon/blobs/100') return json(res, 200, { data: blobs.map(hexOf) })
  json(res, 404, { code: 404, message: 'NOT_FOUND: beacon block at slot' })
}

beforeAll(async () => {
  loadKzg()
  request = {
    blockNumber: 5_000n,
    blockHash: `0x${'ab'.repeat(32)}`,
    blockTimestamp: GENESIS + 100n * 12n,
    txHash: `0x${'cd'.repeat(32)}`,
    versionedHashes: blobs.map(blobVersionedHash),
  }
  server = createServer((req, res) => {
    asked.push(req.url!)
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

async function failure(source: BlobSource, req: BlobRequest = request): Promise<BlobSourceError> {
  const error = await source.getBlobs(req).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BlobSourceError)
  return error as BlobSourceError
}

describe('BeaconBlobSource against a beacon node', () => {
  it('asks for the slot of the execution block, with the versioned hashes, and returns the blobs in request order', async () => {
    handler = beaconNode
    asked.length = 0
    const wanted = [request.versionedHashes[2]!, request.versionedHashes[0]!]
    const fetched = await new BeaconBlobSource(url).getBlobs({ ...request, versionedHashes: wanted })
    expect(fetched.map((b) => Buffer.from(b).equals(blobs[2]!) || Buffer.from(b).equals(blobs[0]!))).toEqual([
      true,
      true,
    ])
    expect(Buffer.from(fetched[0]!).equals(blobs[2]!)).toBe(true)
    expect(asked).toContain(`/eth/v1/beacon/blobs/100?versioned_hashes=${wanted.join(',')}`)
  })

  it('reads genesis and spec once per source', async () => {
    handler = beaconNode
    asked.length = 0
    const source = new BeaconBlobSource(url)
    await source.getBlobs(request)
    await source.getBlobs(request)
    expect(asked.filter((p) => p === '/eth/v1/config/spec')).toHaveLength(1)
    expect(asked.filter((p) => p.startsWith('/eth/v1/beacon/blobs/100'))).toHaveLength(2)
  })

  it('uses the execution block hash when the server has no beacon spec (as anvil)', async () => {
    handler = (req, res) => {
      if (req.url!.startsWith(`/eth/v1/beacon/blobs/${request.blockHash}`))
        return json(res, 200, { data: blobs.map(hexOf) })
      json(res, 404, { code: 404, message: 'Not found' })
    }
    asked.length = 0
    expect(await new BeaconBlobSource(url).getBlobs(request)).toHaveLength(3)
    expect(asked.some((p) => p.startsWith('/eth/v1/beacon/blobs/') && !p.includes(request.blockHash))).toBe(false)
  })

  it('takes genesis time and slot length from options without asking', async () => {
    handler = beaconNode
    asked.length = 0
    await new BeaconBlobSource(url, { genesisTime: GENESIS, secondsPerSlot: 12n }).getBlobs(request)
    expect(asked.every((p) => p.startsWith('/eth/v1/beacon/blobs/100'))).toBe(true)
  })

  it('refuses an execution block that falls between slots (beacon node on another network)', async () => {
    handler = beaconNode
    const error = await failure(new BeaconBlobSource(url), { ...request, blockTimestamp: request.blockTimestamp + 5n })
    expect(error.code).toBe('SLOT_UNRESOLVABLE')
  })

  it('reports BLOB_HASH_MISMATCH when the node serves other blobs, and BLOB_NOT_FOUND for an unknown slot', async () => {
    const others = distinctBlobs(1, 99)
    handler = (req, res) =>
      req.url!.startsWith('/eth/v1/beacon/blobs/') ? json(res, 200, { data: others.map(hexOf) }) : beaconNode(req, res)
    expect((await failure(new BeaconBlobSource(url))).code).toBe('BLOB_HASH_MISMATCH')
    handler = beaconNode
    expect((await failure(new BeaconBlobSource(url), { ...request, blockTimestamp: GENESIS + 12n })).code).toBe(
      'BLOB_NOT_FOUND',
    )
  })

  it('reports TIMEOUT, HTTP_ERROR, BAD_RESPONSE and INVALID_BLOB with the cause', async () => {
    handler = () => {} // never answers
    expect((await failure(new BeaconBlobSource(url, { timeoutMs: 200 }))).code).toBe('TIMEOUT')
    handler = (_, res) => json(res, 503, { code: 503, message: 'Beacon node is currently syncing' })
    const unavailable = await failure(new BeaconBlobSource(url))
    expect(unavailable.code).toBe('HTTP_ERROR')
    expect(unavailable.message).toMatch(/HTTP 503: Beacon node is currently syncing/)
    handler = (_, res) => res.writeHead(200).end('<html>proxy error</html>')
    expect((await failure(new BeaconBlobSource(url))).code).toBe('BAD_RESPONSE')
    handler = (req, res) =>
      req.url!.startsWith('/eth/v1/beacon/blobs/') ? json(res, 200, { data: ['0x1234'] }) : beaconNode(req, res)
    expect((await failure(new BeaconBlobSource(url))).code).toBe('INVALID_BLOB')
    const notCanonical = `0x${'ff'.repeat(131_072)}`
    handler = (req, res) =>
      req.url!.startsWith('/eth/v1/beacon/blobs/') ? json(res, 200, { data: [notCanonical] }) : beaconNode(req, res)
    expect((await failure(new BeaconBlobSource(url))).code).toBe('INVALID_BLOB')
  })

  it('retries reading the spec after a transient failure instead of remembering it', async () => {
    handler = (_, res) => json(res, 500, { message: 'boom' })
    const source = new BeaconBlobSource(url)
    expect((await failure(source)).code).toBe('HTTP_ERROR')
    handler = beaconNode
    expect(await source.getBlobs(request)).toHaveLength(3)
  })

  it('rejects a request whose versioned hash lacks the KZG version byte', async () => {
    handler = beaconNode
    const bad = { ...request, versionedHashes: [`0x00${request.versionedHashes[0]!.slice(4)}` as Hex] }
    expect((await failure(new BeaconBlobSource(url), bad)).code).toBe('INVALID_REQUEST')
  })
})

describe('FallbackBlobSource', () => {
  it('returns the first source that serves verified blobs, skipping one that serves wrong blobs', async () => {
    const liar: BlobSource = { name: 'liar', getBlobs: async () => distinctBlobs(3, 77) }
    handler = beaconNode
    const fetched = await new FallbackBlobSource([liar, new BeaconBlobSource(url)]).getBlobs(request)
    expect(fetched).toHaveLength(3)
  })
})
