import { RLP } from '@ethereumjs/rlp'
import { bigIntToBytes, bytesToBigInt, concatBytes, setLengthLeft } from '@ethereumjs/util'
import type { BatchOp, BytesSublevel, NodeDatabase } from '@cairn/chain'

export interface L1Pointer {
  number: bigint
  hash: Uint8Array
}

export interface DerivedBatch {
  batchId: bigint
  l1: L1Pointer
  firstBlock: bigint
  lastBlock: bigint
}

const CURSOR = Uint8Array.of(0x63) // c → last L1 block fully processed
const L1_HASH = 0x68 // h + number(8) → hash of a processed L1 block (for reorg detection)
const BATCH = 0x62 // b + id(8) → derived batch
const LAST_BATCH = Uint8Array.of(0x6c) // l → id of the newest derived batch
const num8 = (n: bigint) => setLengthLeft(bigIntToBytes(n), 8)

/**
 * Derivation's own progress, restart-safe: the L1 cursor, hashes of the L1 blocks it processed
 * (to find the fork point after an L1 reorg) and where each batch's L2 blocks are.
 */
export class DerivationStore {
  private readonly db: BytesSublevel

  constructor(private readonly database: NodeDatabase) {
    this.db = database.sublevel('derivation')
  }

  async cursor(): Promise<L1Pointer | undefined> {
    const value = await this.db.get(CURSOR)
    if (value === undefined) return undefined
    const [number, hash] = RLP.decode(value) as Uint8Array[]
    return { number: bytesToBigInt(number!), hash: hash! }
  }

  async l1HashAt(number: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(concatBytes(Uint8Array.of(L1_HASH), num8(number)))
  }

  async batch(batchId: bigint): Promise<DerivedBatch | undefined> {
    const value = await this.db.get(concatBytes(Uint8Array.of(BATCH), num8(batchId)))
    if (value === undefined) return undefined
    const [l1Number, l1Hash, first, last] = RLP.decode(value) as Uint8Array[]
    return {
      batchId,
      l1: { number: bytesToBigInt(l1Number!), hash: l1Hash! },
      firstBlock: bytesToBigInt(first!),
      lastBlock: bytesToBigInt(last!),
    }
  }

  async lastBatchId(): Promise<bigint> {
    const value = await this.db.get(LAST_BATCH)
    return value === undefined ? 0n : bytesToBigInt(value)
  }

  /** The newest derived batch at or below an L1 block (undefined before the first batch). */
  async lastBatchAtOrBefore(l1Number: bigint, fromBatchId: bigint): Promise<DerivedBatch | undefined> {
    for (let id = fromBatchId; id >= 1n; id--) {
      const batch = await this.batch(id)
      if (batch !== undefined && batch.l1.number <= l1Number) return batch
    }
    return undefined
  }

  /** Records processed L1 blocks, the batches derived from them and the new cursor, atomically. */
  async advance(cursor: L1Pointer, processed: L1Pointer[], batches: DerivedBatch[]): Promise<void> {
    const ops: BatchOp[] = [this.put(CURSOR, RLP.encode([bigIntToBytes(cursor.number), cursor.hash]))]
    for (const l1 of processed) ops.push(this.put(concatBytes(Uint8Array.of(L1_HASH), num8(l1.number)), l1.hash))
    if (batches.length > 0) ops.push(this.put(LAST_BATCH, bigIntToBytes(batches[batches.length - 1]!.batchId)))
    for (const b of batches) {
      ops.push(
        this.put(
          concatBytes(Uint8Array.of(BATCH), num8(b.batchId)),
          RLP.encode([bigIntToBytes(b.l1.number), b.l1.hash, bigIntToBytes(b.firstBlock), bigIntToBytes(b.lastBlock)]),
        ),
      )
    }
    await this.database.batch(ops)
  }

  /**
   * Forgets batches proposed after an L1 fork point and moves the cursor back to it; with no fork
   * point left (the reorg is deeper than anything recorded) derivation starts over from the start block.
   */
  async rewind(to: L1Pointer | undefined, keptLastBatchId: bigint, droppedBatchIds: bigint[]): Promise<void> {
    const ops: BatchOp[] = [
      to === undefined
        ? { type: 'del', sublevel: this.db, key: CURSOR }
        : this.put(CURSOR, RLP.encode([bigIntToBytes(to.number), to.hash])),
      this.put(LAST_BATCH, bigIntToBytes(keptLastBatchId)),
    ]
    for (const id of droppedBatchIds)
      ops.push({ type: 'del', sublevel: this.db, key: concatBytes(Uint8Array.of(BATCH), num8(id)) })
    await this.database.batch(ops)
  }

  private put(key: Uint8Array, value: Uint8Array): BatchOp {
    return { type: 'put', sublevel: this.db, key, value }
  }
}
