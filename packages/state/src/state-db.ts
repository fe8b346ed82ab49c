import type { Common } from '@ethereumjs/common'
import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { CacheType, Caches, type MerkleStateManager, type Proof, getMerkleStateProof } from '@ethereumjs/statemanager'
import {
  Account,
  Address,
  KECCAK256_RLP,
  ValueEncoding,
  bigIntToBytes,
  bytesToHex,
  hexToBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import type { EventLoopTurns, GethGenesisFile, Hex } from '@cairn/primitives'
import { BatchFlushStateManager } from './batch-state-manager.ts'
import { DecodedNodeCache } from './trie-update.ts'
import { LevelTrieDB, type BytesStore } from './trie-db.ts'

export interface StateBatchOp {
  type: 'put'
  sublevel: BytesStore
  key: Uint8Array
  value: Uint8Array
}

export interface StateDBOptions {
  /** Trie nodes kept decoded in memory by the head state's trie (LRU). */
  trieCacheSize?: number
  /** Accounts and storage slots the head state caches. */
  accountCacheSize?: number
  storageCacheSize?: number
  /**
   * Accounts, and storage slots, each shared read view ({@link StateDB.view}) caches (LRU): RPC
   * reads go through them, so a client reading many accounts must not grow them without bound.
   * lru-cache allocates its whole capacity up front, and a new head gets a new view: at 50,000 the
   * two caches cost the main thread ~7 ms and 2.8 MB per block.
   */
  viewCacheSize?: number
}

/**
 * All world state, every version of it: one MPT node store on level. Hands out a long-lived
 * head state (with caches) for block production and fresh read-only views for any historical root.
 */
export class StateDB {
  readonly trieDB: LevelTrieDB
  private readonly options: Required<StateDBOptions>
  private readonly views = new Map<string, MerkleStateManager>()
  /** Decoded trie nodes, shared by every state this store hands out. */
  private readonly decodedNodes = new DecodedNodeCache(20_000)

  constructor(
    private readonly store: BytesStore,
    private readonly common: Common,
    options: StateDBOptions = {},
  ) {
    this.trieDB = new LevelTrieDB(store)
    this.options = {
      trieCacheSize: 200_000,
      accountCacheSize: 200_000,
      storageCacheSize: 200_000,
      viewCacheSize: 10_000,
      ...options,
    }
  }

  private trieAt(root: Uint8Array, cacheSize: number): MerklePatriciaTrie {
    return new MerklePatriciaTrie({
      db: this.trieDB,
      root,
      useKeyHashing: true,
      valueEncoding: ValueEncoding.Bytes,
      cacheSize,
      common: this.common,
    })
  }

  /**
   * The state the executor mutates: large caches, kept across blocks. With `turns`, committing a
   * block gives the event loop turns while the tries are updated.
   */
  headState(root: Uint8Array, options: { turns?: EventLoopTurns } = {}): MerkleStateManager {
    return new BatchFlushStateManager({
      common: this.common,
      decodedNodes: this.decodedNodes,
      turns: options.turns,
      trie: this.trieAt(root, this.options.trieCacheSize),
      // LRU, so the sizes bound them: ethereumjs' default kind ignores its size and this state
      // lives as long as the node. A block touches far fewer entries than a cache holds, so
      // nothing it changed is evicted before the block's flush.
      caches: new Caches({
        account: { size: this.options.accountCacheSize, type: CacheType.LRU },
        storage: { size: this.options.storageCacheSize, type: CacheType.LRU },
        code: { size: 10_000, type: CacheType.LRU },
      }),
    })
  }

  /**
   * A view of the state at `root` for reads and throw-away execution (eth_call, tracing). Callers
   * that execute must wrap their work in checkpoint()/revert() so nothing reaches the node store.
   */
  stateAt(root: Uint8Array): MerkleStateManager {
    return new BatchFlushStateManager({
      common: this.common,
      decodedNodes: this.decodedNodes,
      trie: this.trieAt(root, 0),
      caches: new Caches({ account: { size: 1000 }, storage: { size: 1000 }, code: { size: 100 } }),
    })
  }

  /**
   * A read-only view of the state at `root`, shared by readers of the same root (RPC state
   * queries, the mempool's admission checks) so their account and slot caches stay warm. Never
   * execute on it: use {@link stateAt} for that.
   */
  view(root: Uint8Array): MerkleStateManager {
    const key = Buffer.from(root).toString('hex')
    let view = this.views.get(key)
    if (view === undefined) {
      view = new BatchFlushStateManager({
        common: this.common,
        decodedNodes: this.decodedNodes,
        trie: this.trieAt(root, 0),
        caches: new Caches({
          account: { size: this.options.viewCacheSize, type: CacheType.LRU },
          storage: { size: this.options.viewCacheSize, type: CacheType.LRU },
          code: { size: 1_000, type: CacheType.LRU },
        }),
      })
      this.views.set(key, view)
      if (this.views.size > 8) this.views.delete(this.views.keys().next().value!)
    }
    return view
  }

  async hasState(root: Uint8Array): Promise<boolean> {
    if (equal(root, KECCAK256_RLP)) return true
    return (await this.trieDB.get(Buffer.from(root).toString('hex'))) !== undefined
  }

  /**
   * EIP-1186 proof of an account and storage slots at `root`, with one storage entry per slot in
   * order. An account that does not exist is reported as geth does: its absence proven, zero code
   * and storage hashes, and each slot `0x0` with an empty proof.
   */
  async getProof(root: Uint8Array, address: Address, slots: Uint8Array[]): Promise<Proof> {
    const state = this.stateAt(root)
    if ((await state.getAccount(address)) !== undefined) return getMerkleStateProof(state, address, slots)
    const absent = await getMerkleStateProof(state, address)
    return {
      ...absent,
      codeHash: ZERO_HASH,
      storageHash: ZERO_HASH,
      storageProof: slots.map((slot) => ({ key: bytesToHex(slot), value: '0x0', proof: [] })),
    }
  }

  /**
   * The state writes of the blocks executed since the last call, as batch operations for the
   * database's atomic batch; call `release` once the batch is written.
   */
  pendingBatch(): { ops: StateBatchOp[]; release(): void } {
    const writes = this.trieDB.pendingWrites()
    return {
      ops: writes.map((w) => ({ type: 'put', sublevel: this.store, key: w.key, value: w.value })),
      release: () => this.trieDB.release(writes),
    }
  }

  /** Forgets unpersisted writes (after an abandoned block). Harmless: nodes are content-addressed. */
  discardPending(): void {
    this.trieDB.release('all')
  }
}

/** Writes a genesis alloc into an empty state and returns its root. */
export async function writeGenesisState(state: MerkleStateManager, genesis: GethGenesisFile): Promise<Uint8Array> {
  await state.checkpoint()
  for (const [addressHex, account] of Object.entries(genesis.alloc)) {
    const address = new Address(hexToBytes((addressHex.startsWith('0x') ? addressHex : `0x${addressHex}`) as Hex))
    await state.putAccount(address, new Account(BigInt(account.nonce ?? 0), BigInt(account.balance ?? 0)))
    if (account.code !== undefined && account.code !== '0x') await state.putCode(address, hexToBytes(account.code))
    for (const [slot, value] of Object.entries(account.storage ?? {})) {
      const word = BigInt(value)
      if (word !== 0n) await state.putStorage(address, setLengthLeft(hexToBytes(slot as Hex), 32), bigIntToBytes(word))
    }
  }
  await state.commit()
  return state.getStateRoot()
}

const ZERO_HASH: Hex = `0x${'00'.repeat(32)}`

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
