import { RLP } from '@ethereumjs/rlp'
import { CairnError } from '@cairn/primitives'
import { bytesToHex, type Hex, hexToBytes, keccak256 } from 'viem'

/** One preconfirmed L2 block, reduced to what a batch needs (docs/protocol.md: the header carries the anchor). */
export interface L2Block {
  number: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
  gasLimit: bigint
  coinbase: Hex
  /** `extraData`: the anchor L1 block number. */
  anchorBlockNumber: bigint
  /** `mixHash`: the anchor L1 block hash. */
  anchorBlockHash: Hex
  /** Raw signed EIP-2718 transactions (legacy ones as their RLP list), in block order. */
  transactions: Uint8Array[]
}

/**
 * Where the proposer reads L2 blocks from: the sequencer's JSON-RPC (`cairn-proposer`) or the node's
 * own chain store (`cairn node --based`).
 */
export interface L2BlockSource {
  headNumber(): Promise<bigint>
  /** `undefined` when the node has no block with that number (yet). */
  blockByNumber(number: bigint): Promise<L2Block | undefined>
  /**
   * Hash of block `number` if the node has derived it from L1 (it is at or below the node's safe
   * head), else `undefined`. A source that implements it lets the proposer check that the next batch
   * builds on the chain L1 already holds: after another proposer won, the node's own preconfirmed
   * blocks are stale until derivation replaces them, and must not be proposed.
   */
  derivedHash?(number: bigint): Promise<Hex | undefined>
}

const HEADER = { parentHash: 0, coinbase: 2, number: 8, gasLimit: 9, timestamp: 11, extraData: 12, mixHash: 13 }

/** Decodes `debug_getRawBlock` output: RLP `[header, transactions, uncles, withdrawals?]`. */
export function decodeRawBlock(raw: Uint8Array): L2Block {
  let decoded: unknown
  try {
    decoded = RLP.decode(raw)
  } catch (cause) {
    throw new CairnError('L2_BLOCK_INVALID', 'The L2 node returned a block that is not valid RLP.', { cause })
  }
  if (!Array.isArray(decoded) || !Array.isArray(decoded[0]) || !Array.isArray(decoded[1])) {
    throw new CairnError('L2_BLOCK_INVALID', 'The L2 node returned a block that is not [header, transactions, ...].')
  }
  const header = decoded[0] as Uint8Array[]
  const field = (index: number): Uint8Array => {
    const value = header[index]
    if (!(value instanceof Uint8Array)) {
      throw new CairnError('L2_BLOCK_INVALID', `L2 block header field ${index} is missing or not bytes.`)
    }
    return value
  }
  const extraData = field(HEADER.extraData)
  if (extraData.length !== 8) {
    throw new CairnError(
      'L2_BLOCK_INVALID',
      `L2 block header extraData must be the 8-byte anchor L1 block number, got ${extraData.length} bytes.`,
    )
  }
  const transactions = (decoded[1] as unknown[]).map((tx) =>
    tx instanceof Uint8Array ? tx : RLP.encode(tx as Uint8Array[]),
  )
  return {
    number: toBigInt(field(HEADER.number)),
    hash: keccak256(RLP.encode(header)),
    parentHash: bytesToHex(field(HEADER.parentHash)),
    timestamp: toBigInt(field(HEADER.timestamp)),
    gasLimit: toBigInt(field(HEADER.gasLimit)),
    coinbase: bytesToHex(field(HEADER.coinbase)),
    anchorBlockNumber: toBigInt(extraData),
    anchorBlockHash: bytesToHex(field(HEADER.mixHash)),
    transactions,
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(bytesToHex(bytes))
}

/** Reads blocks from a Cairn node over JSON-RPC (`eth_blockNumber`, `debug_getRawBlock`). */
export class RpcL2BlockSource implements L2BlockSource {
  private id = 0
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async headNumber(): Promise<bigint> {
    return BigInt((await this.call('eth_blockNumber', [])) as Hex)
  }

  async blockByNumber(number: bigint): Promise<L2Block | undefined> {
    try {
      const raw = (await this.call('debug_getRawBlock', [`0x${number.toString(16)}`])) as Hex | null
      if (raw === null) return undefined
      return decodeRawBlock(hexToBytes(raw))
    } catch (error) {
      if (error instanceof CairnError && error.code === 'L2_RPC_ERROR' && /not found/i.test(error.message)) {
        return undefined
      }
      throw error
    }
  }

  private async call(method: string, params: unknown[]): Promise<unknown> {
    let response: Response
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (cause) {
      throw new CairnError('L2_RPC_UNREACHABLE', `Cannot reach the L2 node at ${this.url}: ${String(cause)}`, {
        cause,
      })
    }
    if (!response.ok) {
      throw new CairnError('L2_RPC_UNREACHABLE', `The L2 node at ${this.url} answered HTTP ${response.status}.`)
    }
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string } }
    if (body.error) {
      throw new CairnError('L2_RPC_ERROR', `L2 ${method} failed: ${body.error.message} (code ${body.error.code})`, {
        details: { method, code: body.error.code },
      })
    }
    return body.result
  }
}
