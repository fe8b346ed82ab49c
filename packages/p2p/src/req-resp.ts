import { CairnError, bytesToHex, equalBytes } from '@cairn/primitives'
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { readBlockHeader } from './block-rlp.ts'

/**
 * Request/response wire format (both protocols), every frame length-prefixed (unsigned varint):
 *
 *   request   blocks-by-range: from uint64 BE ‖ count uint32 BE (12 bytes)
 *             blocks-by-hash:  blockHash (32 bytes)
 *   response  zero or more `0x00 ‖ blockRlp` frames, then exactly one terminal frame:
 *             `0x01` end · `0x02 ‖ reason` invalid request · `0x03 ‖ reason` rate limited ·
 *             `0x04 ‖ reason` server error (reasons are UTF-8)
 *
 * A range answer is the longest run of consecutive blocks the server has starting at `from`
 * (possibly empty); the client checks numbers and parent hashes, so a peer cannot splice in
 * another chain. Blocks are plain RLP: a syncing node anchors them to a hash it trusts
 * (a signed preconfirmation or L1), as op-node does with `payload_by_number`.
 */
export const ResponseCode = {
  block: 0x00,
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

type ExchangeFailure = { code: string; message: string; blamePeer: boolean }

/**
 * Reads a response to a request: blocks, then one terminal frame. Throws a `CairnError` whose code
 * says what happened (`P2P_PEER_REJECTED_REQUEST`, `P2P_PEER_RATE_LIMITED`, `P2P_PEER_ERROR`,
 * `P2P_BAD_RESPONSE`); `blamePeer` on the error's details marks protocol violations worth a penalty.
 */
export async function readBlocksResponse(
  lp: LengthPrefixedStream<Stream>,
  options: {
    maxBlocks: number
    signal: AbortSignal
    /** Called on each block before it is accepted; returns a reason to refuse the response. */
    check?: (block: Uint8Array, index: number) => string | undefined
  },
): Promise<Uint8Array[]> {
  const blocks: Uint8Array[] = []
  for (;;) {
    let data: Uint8Array
    try {
      data = (await lp.read({ signal: options.signal })).subarray()
    } catch (error) {
      if (options.signal.aborted) throw error
      throw failure({
        code: 'P2P_BAD_RESPONSE',
        message: `response ended without an end frame after ${blocks.length} block(s): ${(error as Error).message}`,
        blamePeer: true,
      })
    }
    const code = data[0]
    const body = data.subarray(1)
    if (code === ResponseCode.block) {
      if (blocks.length >= options.maxBlocks) {
        throw failure({
          code: 'P2P_BAD_RESPONSE',
          message: `peer sent more than the ${options.maxBlocks} block(s) asked for`,
          blamePeer: true,
        })
      }
      const reason = options.check?.(body, blocks.length)
      if (reason !== undefined) throw failure({ code: 'P2P_BAD_RESPONSE', message: reason, blamePeer: true })
      blocks.push(new Uint8Array(body))
      continue
    }
    const reason = new TextDecoder().decode(body)
    switch (code) {
      case ResponseCode.end:
        return blocks
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
