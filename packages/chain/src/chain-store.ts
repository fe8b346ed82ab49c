import { type Block, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { RLP } from '@ethereumjs/rlp'
import {
  bigIntToBytes,
  bytesToBigInt,
  bytesToHex,
  concatBytes,
  intToUnpaddedBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import { Bloom } from '@ethereumjs/vm'
import { CairnError, type LogRecord, type ReceiptRecord, encodeRlp } from '@cairn/primitives'
import { encodeBlock } from './block-rlp.ts'
import type { BatchOp, BytesSublevel, NodeDatabase } from './database.ts'
import { type StoredReceipt, decodeReceipts, encodeReceipts } from './receipt-codec.ts'

/** A sealed block with everything the store keeps beside it. */
export interface BlockRecord {
  block: Block
  receipts: StoredReceipt[]
  /** Sender of each transaction, in order. */
  senders: Uint8Array[]
}

export type HeadName = 'latest' | 'safe' | 'finalized'

/** Writes of another store (the state) that must land in the same batch as a block. */
export interface PendingBatch {
  ops: BatchOp[]
  /** Called once the batch is on disk. */
  release(): void
}

const NO_WRITES: PendingBatch = { ops: [], release: () => {} }

export interface HeadChange {
  /** Blocks that joined the canonical chain, oldest first. */
  added: BlockRecord[]
  /** Blocks that left it (reorg), newest first. */
  removed: BlockRecord[]
}

export interface LogQuery {
  fromBlock: bigint
  toBlock: bigint
  /** Any of these addresses; empty or undefined matches all. */
  addresses?: Uint8Array[]
  /** Per position: any of the alternatives, or null for any topic. */
  topics?: (Uint8Array[] | null)[]
}

export interface LogQueryLimits {
  /** Stop with an error past this many matching logs. */
  maxResults: number
}

export class ChainStoreError extends CairnError {
  override readonly name = 'ChainStoreError'
}

// Key spaces inside the chain sublevel.
const BLOCK = 0x62 // b + hash → block RLP
const RECEIPTS = 0x72 // r + hash → receipts
const SENDERS = 0x66 // f + hash → concatenated 20-byte senders
const CANONICAL = 0x6e // n + number(8) → hash
const TX_INDEX = 0x74 // t + tx hash → [block hash, index]
const LOG_ADDRESS = 0x61 // a + address + number(8) → ''
const LOG_TOPIC = 0x70 // p + topic + number(8) → ''
const META = 0x6d // m + name → value

const EMPTY = new Uint8Array(0)
/** State writes per LevelDB batch when they go ahead of their block (~4 ms of the main thread each). */
const STATE_CHUNK_OPS = 1_000
const key = (prefix: number, ...parts: Uint8Array[]) => concatBytes(Uint8Array.of(prefix), ...parts)
const num8 = (n: bigint) => setLengthLeft(bigIntToBytes(n), 8)
const metaKey = (name: string) => key(META, new TextEncoder().encode(name))

/**
 * Blocks, receipts, the transaction index, a log index and the canonical heads, on level.
 * Every mutation is one atomic batch, optionally carrying the state writes of the same block.
 */
export class ChainStore {
  private readonly db: BytesSublevel
  private readonly recent = new Map<string, BlockRecord>()
  private readonly heads = new Map<HeadName, Block>()
  private readonly listeners = new Set<(change: HeadChange) => void>()

  constructor(
    private readonly database: NodeDatabase,
    private readonly common: Common,
    private readonly options: {
      recentBlocks?: number
      /**
       * Write a large block's state ahead of the block, in chunks, so the node stays responsive
       * while blocks are written (see writeStateAhead). Off: block and state in one batch.
       */
      writeStateAhead?: boolean
    } = {},
  ) {
    this.db = database.sublevel('chain')
  }

  /** Loads the heads; returns false for an empty database. */
  async open(): Promise<boolean> {
    for (const name of ['latest', 'safe', 'finalized'] as const) {
      const hash = await this.db.get(metaKey(name))
      if (hash === undefined) continue
      const record = await this.getBlockRecord(hash)
      if (record === undefined)
        throw new ChainStoreError(
          'CHAIN_CORRUPT',
          `the ${name} head ${bytesToHex(hash)} has no block in the database; the datadir is damaged, resync it`,
        )
      this.heads.set(name, record.block)
    }
    return this.heads.has('latest')
  }

  /** Writes the genesis block as the canonical head of an empty store. */
  async initGenesis(genesis: Block, state: PendingBatch = NO_WRITES): Promise<void> {
    const record: BlockRecord = { block: genesis, receipts: [], senders: [] }
    const ops = [...state.ops, ...this.recordOps(record), ...this.canonicalOps(record)]
    for (const name of ['latest', 'safe', 'finalized'] as const) ops.push(this.put(metaKey(name), genesis.hash()))
    await this.database.batch(ops)
    state.release()
    for (const name of ['latest', 'safe', 'finalized'] as const) this.heads.set(name, genesis)
    this.remember(record)
  }

  head(name: HeadName = 'latest'): Block {
    const block = this.heads.get(name)
    if (block === undefined) throw new ChainStoreError('CHAIN_NOT_INITIALIZED', 'the chain store has no genesis yet')
    return block
  }

  onHeadChange(listener: (change: HeadChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Appends a block on top of the latest head (the common case: one batch, no reorg work).
   * `state` holds the state writes of this block, persisted in the same batch.
   */
  async appendBlock(
    record: BlockRecord,
    state: PendingBatch = NO_WRITES,
    options: { alsoHeads?: ('safe' | 'finalized')[] } = {},
  ): Promise<void> {
    const latest = this.head('latest')
    if (
      !equalBytes(record.block.header.parentHash, latest.hash()) ||
      record.block.header.number !== latest.header.number + 1n
    ) {
      throw new ChainStoreError(
        'NOT_A_CHILD_OF_HEAD',
        `block ${record.block.header.number} does not extend the latest head ${latest.header.number}`,
      )
    }
    const heads: HeadName[] = ['latest', ...(options.alsoHeads ?? [])]
    const stateOps = await this.writeStateAhead(state.ops)
    const ops = [...stateOps, ...this.recordOps(record), ...this.canonicalOps(record)]
    for (const name of heads) ops.push(this.put(metaKey(name), record.block.hash()))
    await this.database.batch(ops)
    state.release()
    for (const name of heads) this.heads.set(name, record.block)
    this.remember(record)
    this.emit({ added: [record], removed: [] })
  }

  /** Stores a block without making it canonical (a side chain, or a block about to become head). */
  async putBlock(record: BlockRecord, state: PendingBatch = NO_WRITES): Promise<void> {
    await this.database.batch([...(await this.writeStateAhead(state.ops)), ...this.recordOps(record)])
    state.release()
    this.remember(record)
  }

  /**
   * Makes `hash` (already stored) the latest head, rewinding the canonical chain to the common
   * ancestor and re-indexing. Safe and finalized heads never move backwards past the new head.
   */
  async setLatest(hash: Uint8Array): Promise<HeadChange> {
    const target = await this.getBlockRecord(hash)
    if (target === undefined)
      throw new ChainStoreError('UNKNOWN_BLOCK', `cannot set head: block ${bytesToHex(hash)} is not stored`)
    const { fork: cursor, added } = await this.branchOf(target)
    const forkNumber = cursor.block.header.number
    const removed: BlockRecord[] = []
    for (let n = this.head('latest').header.number; n > forkNumber; n--) {
      const old = await this.getBlockByNumber(n)
      if (old !== undefined) removed.push(old)
    }
    const ops: BatchOp[] = []
    for (const old of removed) ops.push(...this.uncanonicalOps(old))
    for (const record of added) ops.push(...this.canonicalOps(record))
    ops.push(this.put(metaKey('latest'), target.block.hash()))
    for (const name of ['safe', 'finalized'] as const) {
      if (this.head(name).header.number > forkNumber) ops.push(this.put(metaKey(name), cursor.block.hash()))
    }
    await this.database.batch(ops)
    this.heads.set('latest', target.block)
    for (const name of ['safe', 'finalized'] as const)
      if (this.head(name).header.number > forkNumber) this.heads.set(name, cursor.block)
    const change = { added, removed }
    this.emit(change)
    return change
  }

  /**
   * Where a stored block's branch leaves the canonical chain: `fork` is its newest canonical
   * ancestor (the block itself when canonical) and `added` the blocks above it, oldest first.
   */
  async branchOf(record: BlockRecord): Promise<{ fork: BlockRecord; added: BlockRecord[] }> {
    const added: BlockRecord[] = []
    let cursor: BlockRecord | undefined = record
    while (cursor !== undefined) {
      const canonical = await this.getCanonicalHash(cursor.block.header.number)
      if (canonical !== undefined && equalBytes(canonical, cursor.block.hash())) return { fork: cursor, added }
      added.unshift(cursor)
      cursor = cursor.block.header.number === 0n ? undefined : await this.getBlockRecord(cursor.block.header.parentHash)
    }
    throw new ChainStoreError(
      'CHAIN_CORRUPT',
      `block ${bytesToHex(record.block.hash())} does not connect to the canonical chain`,
    )
  }

  /** Moves the safe or finalized head to a canonical block. */
  async setHead(name: 'safe' | 'finalized', hash: Uint8Array): Promise<void> {
    const record = await this.getBlockRecord(hash)
    if (record === undefined)
      throw new ChainStoreError('UNKNOWN_BLOCK', `cannot set ${name}: block ${bytesToHex(hash)} is not stored`)
    await this.database.batch([this.put(metaKey(name), hash)])
    this.heads.set(name, record.block)
  }

  async getCanonicalHash(number: bigint): Promise<Uint8Array | undefined> {
    if (number < 0n) return undefined
    return this.db.get(key(CANONICAL, num8(number)))
  }

  async getBlockRecord(hash: Uint8Array): Promise<BlockRecord | undefined> {
    const cached = this.recent.get(hex(hash))
    if (cached !== undefined) return cached
    const [blockBytes, receiptBytes, senderBytes] = await Promise.all([
      this.db.get(key(BLOCK, hash)),
      this.db.get(key(RECEIPTS, hash)),
      this.db.get(key(SENDERS, hash)),
    ])
    if (blockBytes === undefined || receiptBytes === undefined || senderBytes === undefined) return undefined
    const block = createBlockFromRLP(blockBytes, { common: this.common, setHardfork: false })
    const senders: Uint8Array[] = []
    for (let i = 0; i < senderBytes.length; i += 20) senders.push(senderBytes.subarray(i, i + 20))
    const record = { block, receipts: decodeReceipts(receiptBytes), senders }
    this.remember(record)
    return record
  }

  /** Parent hash of a stored block (for BLOCKHASH along a branch that is not canonical yet). */
  async getParentHash(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getBlockRecord(hash))?.block.header.parentHash
  }

  async getBlockByNumber(number: bigint): Promise<BlockRecord | undefined> {
    const hash = await this.getCanonicalHash(number)
    return hash === undefined ? undefined : this.getBlockRecord(hash)
  }

  /** Canonical location of a transaction. */
  async getTransactionLocation(txHash: Uint8Array): Promise<{ record: BlockRecord; index: number } | undefined> {
    const value = await this.db.get(key(TX_INDEX, txHash))
    if (value === undefined) return undefined
    const [blockHash, index] = RLP.decode(value) as Uint8Array[]
    const record = await this.getBlockRecord(blockHash!)
    return record === undefined ? undefined : { record, index: Number(bytesToBigInt(index!)) }
  }

  /** Receipts in JSON-RPC shape for a stored block. */
  receiptsOf(record: BlockRecord): ReceiptRecord[] {
    const { block, receipts, senders } = record
    const blockHash = block.hash()
    let logIndex = 0
    let previousCumulative = 0n
    return receipts.map((receipt, i) => {
      const tx = block.transactions[i]!
      const txHash = tx.hash()
      const logs: LogRecord[] = receipt.logs.map(([address, topics, data]) => ({
        address,
        topics,
        data,
        blockNumber: block.header.number,
        blockHash,
        blockTimestamp: block.header.timestamp,
        transactionHash: txHash,
        transactionIndex: i,
        logIndex: logIndex++,
        removed: false,
      }))
      const bloom = new Bloom(undefined, this.common)
      for (const [address, topics] of receipt.logs) {
        bloom.add(address)
        for (const topic of topics) bloom.add(topic)
      }
      const gasUsed = receipt.cumulativeGasUsed - previousCumulative
      previousCumulative = receipt.cumulativeGasUsed
      return {
        transactionHash: txHash,
        transactionIndex: i,
        blockHash,
        blockNumber: block.header.number,
        from: senders[i]!,
        to: tx.to?.bytes,
        contractAddress: receipt.contractAddress,
        cumulativeGasUsed: receipt.cumulativeGasUsed,
        gasUsed,
        effectiveGasPrice: receipt.effectiveGasPrice,
        status: receipt.status,
        logsBloom: bloom.bitvector,
        logs,
        type: tx.type,
      }
    })
  }

  /**
   * Logs matching a filter over a canonical range. The address and topic indices narrow the
   * blocks to read, so a selective filter over a long range reads only blocks that have matches.
   */
  async getLogs(query: LogQuery, limits: LogQueryLimits): Promise<LogRecord[]> {
    const candidates = await this.candidateBlocks(query)
    const results: LogRecord[] = []
    const visit = async (number: bigint) => {
      const record = await this.getBlockByNumber(number)
      if (record === undefined) return
      for (const receipt of this.receiptsOf(record)) {
        for (const log of receipt.logs) {
          if (!logMatches(log, query)) continue
          results.push(log)
          if (results.length > limits.maxResults) {
            throw new ChainStoreError(
              'LOG_RESULT_LIMIT',
              `query returned more than ${limits.maxResults} results; narrow the block range or the filter`,
              {
                details: { limit: limits.maxResults },
              },
            )
          }
        }
      }
    }
    if (candidates === 'all') {
      for (let n = query.fromBlock; n <= query.toBlock; n++) await visit(n)
    } else {
      for (const n of [...candidates].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) await visit(n)
    }
    return results
  }

  private async candidateBlocks(query: LogQuery): Promise<Set<bigint> | 'all'> {
    let result: Set<bigint> | 'all' = 'all'
    const narrow = (next: Set<bigint>) => {
      result = result === 'all' ? next : new Set([...result].filter((n) => next.has(n)))
    }
    if (query.addresses !== undefined && query.addresses.length > 0) {
      narrow(await this.scanIndex(LOG_ADDRESS, query.addresses, query))
    }
    for (const alternatives of query.topics ?? []) {
      if (alternatives === null || alternatives.length === 0) continue
      narrow(await this.scanIndex(LOG_TOPIC, alternatives, query))
    }
    return result
  }

  private async scanIndex(prefix: number, values: Uint8Array[], query: LogQuery): Promise<Set<bigint>> {
    const numbers = new Set<bigint>()
    for (const value of values) {
      const gte = key(prefix, value, num8(query.fromBlock))
      const lte = key(prefix, value, num8(query.toBlock))
      for await (const k of this.db.keys({ gte, lte })) numbers.add(bytesToBigInt(k.subarray(k.length - 8)))
    }
    return numbers
  }

  /**
   * With `writeStateAhead`, a large block's state goes to disk before the block, in batches of
   * STATE_CHUNK_OPS, and the block's own batch carries none of it. LevelDB copies a batch's
   * operations in on the calling thread (~4 µs each), and a block's trie nodes are tens of thousands
   * of them: in one batch they held the node for ~100 ms. The batches are issued a turn of the event
   * loop apart and written meanwhile, so the thread neither holds the loop nor idles while LevelDB
   * writes; their order does not matter, as trie nodes are content-addressed puts. Writing them
   * first is safe because only the new root, which the block's batch makes a head, reaches them: if
   * the process dies in between, they are unreferenced, as every node of an abandoned block is. All
   * of them complete before this returns, so the head never reaches the disk before its state.
   * Returns what is left for the block's batch.
   */
  private async writeStateAhead(stateOps: BatchOp[]): Promise<BatchOp[]> {
    if (!this.options.writeStateAhead || stateOps.length <= STATE_CHUNK_OPS) return stateOps
    const writes: Promise<void>[] = []
    for (let from = 0; from < stateOps.length; from += STATE_CHUNK_OPS) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve))
      const write = this.database.batch(stateOps.slice(from, from + STATE_CHUNK_OPS))
      // Observed at once: a failure must not go unhandled while the next batch waits for its turn.
      write.catch(() => {})
      writes.push(write)
    }
    await Promise.all(writes)
    return []
  }

  private recordOps(record: BlockRecord): BatchOp[] {
    const hash = record.block.hash()
    return [
      this.put(key(BLOCK, hash), encodeBlock(record.block)),
      this.put(key(RECEIPTS, hash), encodeReceipts(record.receipts)),
      this.put(key(SENDERS, hash), concatBytes(...record.senders)),
    ]
  }

  private canonicalOps(record: BlockRecord): BatchOp[] {
    const { block } = record
    const hash = block.hash()
    const number = num8(block.header.number)
    const ops = [this.put(key(CANONICAL, number), hash)]
    for (const [i, tx] of block.transactions.entries())
      ops.push(this.put(key(TX_INDEX, tx.hash()), encodeRlp([hash, intToUnpaddedBytes(i)])))
    for (const k of this.logIndexKeys(record)) ops.push(this.put(k, EMPTY))
    return ops
  }

  private uncanonicalOps(record: BlockRecord): BatchOp[] {
    const ops: BatchOp[] = [this.del(key(CANONICAL, num8(record.block.header.number)))]
    for (const tx of record.block.transactions) ops.push(this.del(key(TX_INDEX, tx.hash())))
    for (const k of this.logIndexKeys(record)) ops.push(this.del(k))
    return ops
  }

  private logIndexKeys(record: BlockRecord): Uint8Array[] {
    const number = num8(record.block.header.number)
    const keys = new Map<string, Uint8Array>()
    for (const receipt of record.receipts) {
      for (const [address, topics] of receipt.logs) {
        const a = key(LOG_ADDRESS, address, number)
        keys.set(hex(a), a)
        for (const topic of topics) {
          const t = key(LOG_TOPIC, topic, number)
          keys.set(hex(t), t)
        }
      }
    }
    return [...keys.values()]
  }

  private put(k: Uint8Array, value: Uint8Array): BatchOp {
    return { type: 'put', sublevel: this.db, key: k, value }
  }

  private del(k: Uint8Array): BatchOp {
    return { type: 'del', sublevel: this.db, key: k }
  }

  private remember(record: BlockRecord): void {
    const limit = this.options.recentBlocks ?? 512
    this.recent.set(hex(record.block.hash()), record)
    if (this.recent.size > limit) this.recent.delete(this.recent.keys().next().value!)
  }

  private emit(change: HeadChange): void {
    for (const listener of this.listeners) listener(change)
  }
}

export function logMatches(
  log: { address: Uint8Array; topics: Uint8Array[] },
  query: Pick<LogQuery, 'addresses' | 'topics'>,
): boolean {
  if (
    query.addresses !== undefined &&
    query.addresses.length > 0 &&
    !query.addresses.some((a) => equalBytes(a, log.address))
  )
    return false
  const topics = query.topics ?? []
  for (let i = 0; i < topics.length; i++) {
    const alternatives = topics[i]
    if (alternatives === null || alternatives === undefined || alternatives.length === 0) continue
    const topic = log.topics[i]
    if (topic === undefined || !alternatives.some((t) => equalBytes(t, topic))) return false
  }
  return true
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
