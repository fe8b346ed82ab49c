import { TwoGenerationCache } from './two-generation-cache.ts'
import type { BatchDBOp, DB, EncodingOpts } from '@ethereumjs/util'
import { hexToBytes, unprefixedHexToBytes } from '@ethereumjs/util'

/** What the trie DB needs from a level sublevel (bytes in, bytes out). */
export interface BytesStore {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
}

/** A put the trie produced and that still has to reach disk. */
export interface TrieWrite {
  key: Uint8Array
  value: Uint8Array
  /** The key as the trie names it (unprefixed hex), kept so releasing the write costs no conversion. */
  id: string
}

/**
 * The MPT's database over level, write-behind: trie nodes and code written while a block executes
 * stay in memory until the chain store writes them in the same atomic batch as the block itself,
 * so a crash never leaves a head pointing at a state that is only half on disk. Nodes are
 * content-addressed and never deleted (no pruning): every historical state root stays readable.
 */
export class LevelTrieDB implements DB<string, string | Uint8Array> {
  private readonly pending: Map<string, Uint8Array>
  private readonly cache: TwoGenerationCache<Uint8Array>

  constructor(
    private readonly store: BytesStore,
    options: { cacheEntries?: number } = {},
    shared?: { pending: Map<string, Uint8Array>; cache: TwoGenerationCache<Uint8Array> },
  ) {
    this.pending = shared?.pending ?? new Map()
    this.cache = shared?.cache ?? new TwoGenerationCache<Uint8Array>(options.cacheEntries ?? 250_000)
  }

  async get(key: string, _opts?: EncodingOpts): Promise<Uint8Array | undefined> {
    const buffered = this.pending.get(key) ?? this.cache.get(key)
    if (buffered !== undefined) return buffered
    // level hands back Buffer views; the trie compares with Uint8Array semantics, which a Buffer satisfies.
    const value = await this.store.get(keyBytes(key))
    if (value !== undefined) this.cache.set(key, value)
    return value ?? undefined
  }

  async put(key: string, value: string | Uint8Array, _opts?: EncodingOpts): Promise<void> {
    this.pending.set(key, typeof value === 'string' ? unprefixedHexToBytes(value) : value)
  }

  async del(_key: string, _opts?: EncodingOpts): Promise<void> {
    // Deliberately a no-op: nodes may be shared by older state roots that RPC still serves.
  }

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') await this.put(op.key, op.value)
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return new LevelTrieDB(this.store, {}, { pending: this.pending, cache: this.cache })
  }

  async open(): Promise<void> {}

  /** Writes buffered since the last {@link release}, for the caller to persist atomically. */
  pendingWrites(): TrieWrite[] {
    const writes: TrieWrite[] = []
    for (const [id, value] of this.pending) writes.push({ key: keyBytes(id), value, id })
    return writes
  }

  /** Drops buffered writes once they are on disk (or were discarded with an abandoned block). */
  release(writes: TrieWrite[] | 'all'): void {
    if (writes === 'all') {
      this.pending.clear()
      return
    }
    for (const { id, value } of writes) {
      this.pending.delete(id)
      // Fresh nodes are the ones the next block reads: keep them hot.
      this.cache.set(id, value)
    }
  }

  get pendingCount(): number {
    return this.pending.size
  }
}

function keyBytes(key: string): Uint8Array {
  return key.startsWith('0x') ? hexToBytes(key as `0x${string}`) : unprefixedHexToBytes(key)
}
