import { CairnError, bytesToHex, equalBytes } from '@cairn/primitives'
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { readBlockHeader } from './block-rlp.ts'
import { type SignedBlock, decodeSignedBlock } from './preconf.ts'
import type { ReqRespKind } from './topics.ts'

/**
 * Request/response wire format (every protocol), every frame length-prefixed (unsigned varint):
 *
 *   request   blocks-by-range: from uint64 BE ‖ count uint32 BE (12 bytes)
 *             blocks-by-hash:  blockHash (32 bytes)
 *             head:            the asker's latest block number, uint64 BE (8 bytes)
 *             tx-announce:     1..256 transaction hashes (32 bytes each), "I have these pooled"
 *             pooled-txs:      1..256 transaction hashes (32 bytes each), "send me these"
 *   response  zero or more `0x00 ‖ item` frames, then exactly one terminal frame:
 *             `0x01` end · `0x02 ‖ reason` invalid request · `0x03 ‖ reason` rate limited ·
 *             `0x04 ‖ reason` server error (reasons are UTF-8)
 *
 * Items are block RLP (blocks-by-*), one `signature(65) ‖ block RLP` (head, only when the server's
 * signed head is above the asker's number), raw transactions in request order, skipping unknown ones
 * (pooled-txs), and none (tx-announce: the answer is an acknowledgement; the receiver fetches what
 * it lacks with pooled-txs afterwards, as eth/68 pairs NewPooledTransactionHashes with
 * GetPooledTransactions).
 *
 * A range answer is the longest run of consecutive blocks the server has starting at `from`
 * (possibly empty); the client checks numbers and parent hashes, so a peer cannot splice in
 * another chain. Blocks are plain RLP: a syncing node anchors them to a hash it trusts
 * (a signed preconfirmation or L1), as op-node does with `payload_by_number`.
 */
export const ResponseCode = {
  item: 0x00,
  end: 0x01,
  invalidRequest: 0x02,
  rateLimited: 0x03,
  serverError: 0x04,
} as const

export interface ReqRespLimits {
  /** Most blocks one range request may ask for (default 64). */
  maxBlocksPerRequest: number
  /** Most bytes of blocks one response carries; the server stops early past it (default 16 MiB). */
  maxResponseBytes: number
  /** Whole-exchange timeout for an outgoing request, ms (default 10 s). */
  requestTimeoutMs: number
  /** How long a server waits for the request frame, ms (default 5 s). */
  inboundRequestTimeoutMs: number
}

export const DEFAULT_REQRESP_LIMITS: ReqRespLimits = {
  maxBlocksPerRequest: 64,
  maxResponseBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  inboundRequestTimeoutMs: 5_000,
}

/** Most transaction hashes one tx-announce or pooled-txs request carries (8 KiB of hashes). */
export const MAX_TX_HASHES_PER_REQUEST = 256

/** Largest request of each protocol, bytes: a server reads no more. */
export const MAX_REQUEST_BYTES: Record<ReqRespKind, number> = {
  'blocks-by-range': 12,
  'blocks-by-hash': 32,
  head: 8,
  'tx-announce': MAX_TX_HASHES_PER_REQUEST * 32,
  'pooled-txs': MAX_TX_HASHES_PER_REQUEST * 32,
}

export function encodeRangeRequest(from: bigint, count: number): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, from)
  view.setUint32(8, count)
  return out
}

export function decodeRangeRequest(data: Uint8Array): { from: bigint; count: number } {
  if (data.length !== 12) {
    throw new CairnError('P2P_BAD_REQUEST', `blocks-by-range request has ${data.length} bytes, expected 12`)
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  return { from: view.getBigUint64(0), count: view.getUint32(8) }
}

export function encodeHeadRequest(after: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, after)
  return out
}

export function decodeHeadRequest(data: Uint8Array): bigint {
  if (data.length !== 8) throw new CairnError('P2P_BAD_REQUEST', `head request has ${data.length} bytes, expected 8`)
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0)
}

export function encodeHashList(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length < 1 || hashes.length > MAX_TX_HASHES_PER_REQUEST) {
    throw new CairnError(
      'P2P_REQUEST_INVALID',
      `a hash list carries 1..${MAX_TX_HASHES_PER_REQUEST} hashes, got ${hashes.length}`,
    )
  }
  const out = new Uint8Array(hashes.length * 32)
  for (const [i, hash] of hashes.entries()) {
    if (hash.length !== 32)
      throw new CairnError('P2P_REQUEST_INVALID', `hash ${i} has ${hash.length} bytes, expected 32`)
    out.set(hash, i * 32)
  }
  return out
}

export function decodeHashList(data: Uint8Array): Uint8Array[] {
  const count = data.length / 32
  if (!Number.isInteger(count) || count < 1 || count > MAX_TX_HASHES_PER_REQUEST) {
    throw new CairnError(
      'P2P_BAD_REQUEST',
      `a hash list must be 1..${MAX_TX_HASHES_PER_REQUEST} hashes of 32 bytes, got ${data.length} bytes`,
    )
  }
  const hashes: Uint8Array[] = []
  for (let i = 0; i < count; i++) hashes.push(data.slice(i * 32, i * 32 + 32))
  return hashes
}

export function frame(code: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + body.length)
  out[0] = code
  out.set(body, 1)
  return out
}

export function errorFrame(code: number, reason: string): Uint8Array {
  return frame(code, new TextEncoder().encode(reason))
}

/** What the server looks up; `undefined` means it does not have the block. */
export interface BlockProvider {
  byNumber(number: bigint): Promise<Uint8Array | undefined>
  byHash(hash: Uint8Array): Promise<Uint8Array | undefined>
  /**
   * The newest preconfirmed block this node serves as latest, with the preconfer's signature, when
   * it is above `after`; peers ask for it when they join or go quiet. Without it the node answers that it has none.
   */
  signedHead?(after: bigint): Promise<SignedBlock | undefined>
}

/** Writes frames then closes the stream; one `lp` wrapper per stream, shared by reads and writes. */
export async function writeFrames(
  lp: LengthPrefixedStream<Stream>,
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  signal: AbortSignal,
): Promise<void> {
  for await (const f of frames) await lp.write(f, { signal })
  await lp.unwrap().close({ signal })
}

/** A pending transaction's hash, with its lowercase 0x-hex form (the pool's own key, so none is re-encoded here). */
export interface PendingTxHash {
  readonly hash: Uint8Array
  readonly hashHex: string
  /** When the pool took it in (milliseconds since the epoch): its re-announcements count from here. */
  readonly addedAt: number
}

/** The node's transaction pool, as the re-announcer and the pooled-txs server see it. */
export interface TxPoolView {
  /** Hashes of the transactions this node would include now (pending, not queued behind a gap). */
  pendingHashes(): Iterable<PendingTxHash>
  /** A pooled transaction's raw encoding, for a peer that asks for it. */
  rawTransaction(hash: Uint8Array): Uint8Array | undefined
  /** Whether the node already has the transaction (pooled or included): announced ones it knows are not fetched. */
  knows(hash: Uint8Array): boolean | Promise<boolean>
  /**
   * Whether the node holds blocks it has received and not imported yet. Its pending set then still
   * holds what those blocks include, and announcing it would only make peers look up transactions
   * they have included: no re-announce round runs until the node has caught up.
   */
  lagging?(): boolean
}

/** Length-prefix errors of `lpStream` reads: the frame itself was wrong (too long, bad varint). */
const MALFORMED_FRAME_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
])

/** True when a read failed on a malformed frame (a protocol violation), not on a cut-off stream. */
export function isMalformedFrame(error: unknown): boolean {
  return error instanceof Error && MALFORMED_FRAME_ERRORS.has(error.name)
}

type ExchangeFailure = { code: string; message: string; blamePeer: boolean }

/**
 * Reads a response to a request: items (blocks, transactions), then one terminal frame. Throws a
 * `CairnError` whose code says what happened (`P2P_PEER_REJECTED_REQUEST`, `P2P_PEER_RATE_LIMITED`,
 * `P2P_PEER_ERROR`, `P2P_BAD_RESPONSE`, `P2P_STREAM_ERROR`); `blamePeer` on the error's details marks
 * protocol violations worth a penalty.
 */
export async function readResponse(
  lp: LengthPrefixedStream<Stream>,
  options: {
    maxItems: number
    signal: AbortSignal
    /** Called on each item before it is accepted; returns a reason to refuse the response. */
    check?: (item: Uint8Array, index: number) => string | undefined
  },
): Promise<Uint8Array[]> {
  const items: Uint8Array[] = []
  for (;;) {
    let data: Uint8Array
    try {
      data = (await lp.read({ signal: options.signal })).subarray()
    } catch (error) {
      if (options.signal.aborted) throw error
      // Cut off (reset, EOF, a stream deadline): nothing wrong was said, and under load the cause is as
      // likely on this side, so the peer is not blamed. A garbled frame is a violation.
      const malformed = isMalformedFrame(error)
      throw failure({
        code: malformed ? 'P2P_BAD_RESPONSE' : 'P2P_STREAM_ERROR',
        message: `response ended without an end frame after ${items.length} item(s): ${(error as Error).message}`,
        blamePeer: malformed,
      })
    }
    const code = data[0]
    const body = data.subarray(1)
    if (code === ResponseCode.item) {
      if (items.length >= options.maxItems) {
        throw failure({
          code: 'P2P_BAD_RESPONSE',
          message: `peer sent more than the ${options.maxItems} item(s) asked for`,
          blamePeer: true,
        })
      }
      const reason = options.check?.(body, items.length)
      if (reason !== undefined) throw failure({ code: 'P2P_BAD_RESPONSE', message: reason, blamePeer: true })
      items.push(new Uint8Array(body))
      continue
    }
    const reason = new TextDecoder().decode(body)
    switch (code) {
      case ResponseCode.end:
        return items
      case ResponseCode.invalidRequest:
        throw failure({
          code: 'P2P_PEER_REJECTED_REQUEST',
          message: `peer rejected the request: ${reason}`,
          blamePeer: false,
        })
      case ResponseCode.rateLimited:
        throw failure({
          code: 'P2P_PEER_RATE_LIMITED',
          message: `peer is rate limiting us: ${reason}`,
          blamePeer: false,
        })
      case ResponseCode.serverError:
        throw failure({
          code: 'P2P_PEER_ERROR',
          message: `peer failed to serve the request: ${reason}`,
          blamePeer: false,
        })
      default:
        throw failure({ code: 'P2P_BAD_RESPONSE', message: `unknown response code ${code}`, blamePeer: true })
    }
  }
}

function failure(f: ExchangeFailure): CairnError {
  return new CairnError(f.code, f.message, { details: { blamePeer: f.blamePeer } })
}

/** The check a range response must pass: consecutive numbers from `from`, each block the child of the previous. */
export function rangeChecker(from: bigint): (block: Uint8Array, index: number) => string | undefined {
  let previousHash: Uint8Array | undefined
  return (block, index) => {
    let header: ReturnType<typeof readBlockHeader>
    try {
      header = readBlockHeader(block)
    } catch (error) {
      return `block ${index} of the response does not decode: ${(error as Error).message}`
    }
    const expected = from + BigInt(index)
    if (header.number !== expected) return `response block ${index} is number ${header.number}, expected ${expected}`
    if (previousHash !== undefined && !equalBytes(header.parentHash, previousHash)) {
      return `block ${header.number} has parent ${bytesToHex(header.parentHash)}, not the previous block ${bytesToHex(previousHash)}`
    }
    previousHash = header.hash
    return undefined
  }
}

/** The check a by-hash response must pass: the block hashes to what was asked. */
export function hashChecker(hash: Uint8Array): (block: Uint8Array) => string | undefined {
  return (block) => {
    try {
      const header = readBlockHeader(block)
      if (!equalBytes(header.hash, hash))
        return `peer answered ${bytesToHex(hash)} with block ${bytesToHex(header.hash)}`
      return undefined
    } catch (error) {
      return `response block does not decode: ${(error as Error).message}`
    }
  }
}

/** The check a pooled-txs response must pass: each transaction hashes to a requested hash, none twice. */
export function txChecker(requested: Uint8Array[]): (raw: Uint8Array) => string | undefined {
  const outstanding = new Set(requested.map((hash) => bytesToHex(hash)))
  return (raw) => {
    const hash = bytesToHex(keccak_256(raw))
    if (!outstanding.delete(hash))
      return `peer answered with transaction ${hash}, which was not asked for (or sent twice)`
    return undefined
  }
}

/** The check a head response must pass: a signed block that decodes and is above `after`. */
export function headChecker(after: bigint): (item: Uint8Array) => string | undefined {
  return (item) => {
    try {
      const { number } = readBlockHeader(decodeSignedBlock(item).block)
      return number > after ? undefined : `peer answered a head request above ${after} with block ${number}`
    } catch (error) {
      return `head response does not decode: ${(error as Error).message}`
    }
  }
}
