import { RLP } from '@ethereumjs/rlp'
import { RlpError, type RlpItem, readRlpItem } from '@cairn/primitives'
import { MANIFEST_VERSION, MAX_BLOCKS_PER_BATCH, MAX_TRANSACTIONS_PER_BATCH } from './constants.ts'
import { BatchDecodeError, BatchEncodeError } from './errors.ts'

/** One L2 block as a batch carries it. */
export interface BatchBlock {
  timestamp: bigint
  gasLimit: bigint
  /** 20 bytes. */
  coinbase: Uint8Array
  anchorBlockNumber: bigint
  /** Raw signed EIP-2718 transactions, in block order; not validated by the codec. */
  transactions: Uint8Array[]
}

export interface BatchManifest {
  blocks: BatchBlock[]
}

const MAX_UINT64 = (1n << 64n) - 1n
const NUMBER_FIELDS = ['timestamp', 'gasLimit', 'anchorBlockNumber'] as const

/*
 * Manifest RLP: [version, [block, ...]] with block = [timestamp, gasLimit, coinbase, anchorBlockNumber, [tx, ...]].
 * Numbers are canonical RLP integers of at most 8 bytes; each tx is a byte string holding its raw EIP-2718 bytes.
 */

/** RLP fields of one block, checked; `encodeManifest` and the batch splitter share it. */
export function blockToRlpFields(block: BatchBlock, index: number): Uint8Array[] | (Uint8Array | Uint8Array[])[] {
  for (const field of NUMBER_FIELDS) {
    const value = block[field]
    if (typeof value !== 'bigint' || value < 0n || value > MAX_UINT64) {
      throw new BatchEncodeError('MANIFEST_INVALID', `Block ${index} ${field} must be a uint64 bigint, got ${value}.`, {
        details: { blockIndex: index, field },
      })
    }
  }
  if (!(block.coinbase instanceof Uint8Array) || block.coinbase.length !== 20) {
    throw new BatchEncodeError('MANIFEST_INVALID', `Block ${index} coinbase must be 20 bytes.`, {
      details: { blockIndex: index },
    })
  }
  return [
    uintBytes(block.timestamp),
    uintBytes(block.gasLimit),
    block.coinbase,
    uintBytes(block.anchorBlockNumber),
    block.transactions,
  ]
}

export function encodeManifest(manifest: BatchManifest): Uint8Array {
  if (manifest.blocks.length > MAX_BLOCKS_PER_BATCH) {
    throw new BatchEncodeError(
      'MANIFEST_INVALID',
      `A batch holds at most ${MAX_BLOCKS_PER_BATCH} blocks, not ${manifest.blocks.length}.`,
      { details: { blocks: manifest.blocks.length } },
    )
  }
  const transactions = manifest.blocks.reduce((sum, block) => sum + block.transactions.length, 0)
  if (transactions > MAX_TRANSACTIONS_PER_BATCH) {
    throw new BatchEncodeError(
      'MANIFEST_INVALID',
      `A batch holds at most ${MAX_TRANSACTIONS_PER_BATCH} transactions, not ${transactions}.`,
      { details: { transactions } },
    )
  }
  return RLP.encode([uintBytes(BigInt(MANIFEST_VERSION)), manifest.blocks.map(blockToRlpFields)])
}

/**
 * Decodes manifest RLP with a reader that knows the expected shape: it never recurses deeper than the
 * manifest's four levels, never copies the input (transactions are views into `bytes`), and accepts only
 * canonical RLP, so each manifest has exactly one encoding. A generic decoder would copy every nested
 * list and recurse as deep as the input nests, which crafted input can turn into a stall.
 */
export function decodeManifest(bytes: Uint8Array): BatchManifest {
  const top = readItem(bytes, 0, bytes.length)
  if (top.end !== bytes.length) rlpError('trailing bytes after the manifest', top.end)
  if (!top.list) manifestError('the manifest must be [version, [blocks...]]')
  const [versionItem, blocksItem, ...extra] = listItems(bytes, top, 3, 'manifest items')
  const version = versionItem && uintOf(bytes, versionItem, 'version')
  if (version !== BigInt(MANIFEST_VERSION)) {
    manifestError(
      `unsupported manifest version ${version ?? '(missing)'}; this codec reads version ${MANIFEST_VERSION}`,
    )
  }
  if (!blocksItem?.list || extra.length > 0) manifestError('the manifest must be [version, [blocks...]]')

  const budget = { transactions: MAX_TRANSACTIONS_PER_BATCH }
  const blocks: BatchBlock[] = []
  for (let pos = blocksItem.start; pos < blocksItem.end; ) {
    if (blocks.length === MAX_BLOCKS_PER_BATCH) manifestError(`more than ${MAX_BLOCKS_PER_BATCH} blocks`)
    const blockItem = readItem(bytes, pos, blocksItem.end)
    pos = blockItem.end
    blocks.push(blockOf(bytes, blockItem, blocks.length, budget))
  }
  return { blocks }
}

function blockOf(bytes: Uint8Array, item: RlpItem, index: number, budget: { transactions: number }): BatchBlock {
  if (!item.list) manifestError(`block ${index} is not a list`)
  const fields = listItems(bytes, item, 6, `block ${index} fields`)
  if (fields.length !== 5) manifestError(`block ${index} has ${fields.length} fields, not 5`)
  const [timestamp, gasLimit, coinbase, anchorBlockNumber, txs] = fields as [
    RlpItem,
    RlpItem,
    RlpItem,
    RlpItem,
    RlpItem,
  ]
  if (coinbase.list || coinbase.end - coinbase.start !== 20) manifestError(`block ${index} coinbase is not 20 bytes`)
  if (!txs.list) manifestError(`block ${index} transactions are not a list`)
  const transactions: Uint8Array[] = []
  const items = listItems(
    bytes,
    txs,
    budget.transactions,
    `transactions (at most ${MAX_TRANSACTIONS_PER_BATCH} per batch)`,
  )
  budget.transactions -= items.length
  for (const tx of items) {
    if (tx.list) manifestError(`block ${index} transaction ${transactions.length} is a list, not bytes`)
    transactions.push(bytes.subarray(tx.start, tx.end))
  }
  return {
    timestamp: uintOf(bytes, timestamp, `block ${index} timestamp`),
    gasLimit: uintOf(bytes, gasLimit, `block ${index} gasLimit`),
    coinbase: bytes.subarray(coinbase.start, coinbase.end),
    anchorBlockNumber: uintOf(bytes, anchorBlockNumber, `block ${index} anchorBlockNumber`),
    transactions,
  }
}

/** The items of `list`; more than `max` is a shape error, raised before reading further (bounds memory). */
function listItems(bytes: Uint8Array, list: RlpItem, max: number, what: string): RlpItem[] {
  const items: RlpItem[] = []
  for (let pos = list.start; pos < list.end; ) {
    if (items.length === max) manifestError(`too many ${what}`)
    const item = readItem(bytes, pos, list.end)
    items.push(item)
    pos = item.end
  }
  return items
}

/** The item at `pos`, ending by `limit`, with non-canonical RLP reported as the manifest's error. */
function readItem(bytes: Uint8Array, pos: number, limit: number): RlpItem {
  try {
    return readRlpItem(bytes, pos, limit)
  } catch (error) {
    if (error instanceof RlpError) rlpError(error.reason, error.offset)
    throw error
  }
}

function uintOf(bytes: Uint8Array, item: RlpItem, what: string): bigint {
  const size = item.end - item.start
  if (item.list) manifestError(`${what} is a list, not a number`)
  if (size > 8) manifestError(`${what} is ${size} bytes, more than a uint64`)
  if (size > 0 && bytes[item.start] === 0) manifestError(`${what} has a leading zero byte`)
  let value = 0n
  for (let i = item.start; i < item.end; i++) value = (value << 8n) | BigInt(bytes[i]!)
  return value
}

function uintBytes(value: bigint): Uint8Array {
  if (value === 0n) return new Uint8Array(0)
  const hex = value.toString(16)
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'))
}

function rlpError(reason: string, offset: number): never {
  throw new BatchDecodeError('RLP_INVALID', `The manifest is not canonical RLP: ${reason} (offset ${offset}).`, {
    details: { offset },
  })
}

function manifestError(reason: string): never {
  throw new BatchDecodeError('MANIFEST_INVALID', `The manifest has the wrong shape: ${reason}.`)
}
