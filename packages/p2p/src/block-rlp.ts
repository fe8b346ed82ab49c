import { RLP } from '@ethereumjs/rlp'
import { CairnError } from '@cairn/primitives'
import { keccak_256 } from '@noble/hashes/sha3.js'

/** The few header fields the p2p layer needs from a block's RLP, without decoding transactions. */
export interface BlockHeaderFields {
  /** keccak256 of the header's RLP: the Ethereum block hash. */
  hash: Uint8Array
  parentHash: Uint8Array
  number: bigint
  /** Seconds since the epoch. */
  timestamp: bigint
}

// Positions in the Ethereum header list (London and later keep these fixed).
const PARENT_HASH = 0
const NUMBER = 8
const TIMESTAMP = 11
const MIN_HEADER_FIELDS = 15

/**
 * Reads hash, parent hash, number and timestamp from a block's RLP (`[header, txs, ...]`).
 * Used to check that a range response is the chain that was asked for and to time block arrival;
 * full validation (transactions, state) stays with the node.
 */
export function readBlockHeader(blockRlp: Uint8Array): BlockHeaderFields {
  let decoded: unknown
  try {
    decoded = RLP.decode(blockRlp)
  } catch (error) {
    throw new CairnError('P2P_BAD_BLOCK_ENCODING', `block is not valid RLP: ${(error as Error).message}`)
  }
  if (!Array.isArray(decoded) || decoded.length < 2 || !Array.isArray(decoded[0])) {
    throw new CairnError('P2P_BAD_BLOCK_ENCODING', 'block RLP is not a list starting with a header list')
  }
  const header = decoded[0] as unknown[]
  if (header.length < MIN_HEADER_FIELDS || !header.every((field) => field instanceof Uint8Array)) {
    throw new CairnError(
      'P2P_BAD_BLOCK_ENCODING',
      `block header has ${header.length} fields, expected at least 15 byte strings`,
    )
  }
  const fields = header as Uint8Array[]
  const parentHash = fields[PARENT_HASH] as Uint8Array
  if (parentHash.length !== 32) {
    throw new CairnError('P2P_BAD_BLOCK_ENCODING', `block parent hash has ${parentHash.length} bytes, expected 32`)
  }
  return {
    hash: keccak_256(RLP.encode(fields)),
    parentHash,
    number: bytesToBigInt(fields[NUMBER] as Uint8Array),
    timestamp: bytesToBigInt(fields[TIMESTAMP] as Uint8Array),
  }
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return value
}
