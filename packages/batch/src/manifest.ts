import { RLP } from '@ethereumjs/rlp'
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
  if (top.next !== bytes.length) rlpError('trailing bytes after the manifest', top.next)
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
    pos = blockItem.next
    blocks.push(blockOf(bytes, blockItem, blocks.length, budget))
  }
  return { blocks }
}

type Item = { list: boolean; start: number; end: number; next: number }

function blockOf(bytes: Uint8Array, item: Item, index: number, budget: { transactions: number }): BatchBlock {
  if (!item.list) manifestError(`block ${index} is not a list`)
  const fields = listItems(bytes, item, 6, `block ${index} fields`)
  if (fields.length !== 5) manifestError(`block ${index} has ${fields.length} fields, not 5`)
  const [timestamp, gasLimit, coinbase, anchorBlockNumber, txs] = fields as [Item, Item, Item, Item, Item]
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
function listItems(bytes: Uint8Array, list: Item, max: number, what: string): Item[] {
  const items: Item[] = []
  for (let pos = list.start; pos < list.end; ) {
    if (items.length === max) manifestError(`too many ${what}`)
    const item = readItem(bytes, pos, list.end)
    items.push(item)
    pos = item.next
  }
  return items
}

/** Reads the item header at `pos`; the item must end by `limit`. Rejects every non-canonical form. */
function readItem(bytes: Uint8Array, pos: number, limit: number): Item {
  if (pos >= limit) rlpError('unexpected end of input', pos)
  const prefix = bytes[pos]!
  if (prefix < 0x80) return { list: false, start: pos, end: pos + 1, next: pos + 1 }
  const list = prefix >= 0xc0
  const short = list ? prefix <= 0xf7 : prefix <= 0xb7
  let start: number
  let length: number
  if (short) {
    length = prefix - (list ? 0xc0 : 0x80)
    start = pos + 1
    if (!list && length === 1 && start < limit && bytes[start]! < 0x80) {
      rlpError('a single byte below 0x80 must not carry a length prefix', pos)
    }
  } else {
    const lengthBytes = prefix - (list ? 0xf7 : 0xb7)
    if (pos + 1 + lengthBytes > limit) rlpError('length runs past the end of its container', pos)
    if (bytes[pos + 1] === 0) rlpError('length has a leading zero byte', pos)
    // Four length bytes already exceed any input this codec accepts; refusing more keeps lengths exact numbers.
    if (lengthBytes > 4) rlpError('length field longer than 4 bytes', pos)
    length = 0
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + bytes[pos + 1 + i]!
    if (length < 56) rlpError('long form used for a length below 56', pos)
    start = pos + 1 + lengthBytes
  }
  const end = start + length
  if (end > limit) rlpError('item runs past the end of its container', pos)
  return { list, start, end, next: end }
}

function uintOf(bytes: Uint8Array, item: Item, what: string): bigint {
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
