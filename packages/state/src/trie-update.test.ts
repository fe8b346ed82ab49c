import { MerklePatriciaTrie, createMerkleProof, verifyMerkleProof } from '@ethereumjs/mpt'
import { KECCAK256_RLP, MapDB, bytesToHex } from '@ethereumjs/util'
import { keccak_256 as keccak256 } from '@noble/hashes/sha3.js'
import { describe, expect, it } from 'vitest'
import { EventLoopTurns } from '@cairn/primitives'
import { DecodedNodeCache, type TrieNodeStore, type TrieWrite32, applyTrieWrites, readTrie } from './trie-update.ts'

/** A seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** Keys 1500-1599 share their first 31 bytes: their leaves encode under 32 bytes and are inlined. */
function key(n: number): Uint8Array {
  if (n >= 1500 && n < 1600) return Uint8Array.from({ length: 32 }, (_, i) => (i < 31 ? 0xab : n - 1500))
  return keccak256(new TextEncoder().encode(`key ${n}`))
}

/** Turns at every check (0 ms), counted. */
class CountedTurns extends EventLoopTurns {
  taken = 0
  override async take(): Promise<void> {
    this.taken++
    await super.take()
  }
}

/** ethereumjs' trie over a plain Map, written one key at a time: the reference. */
async function referenceTrie() {
  const trie = new MerklePatriciaTrie()
  const db = trie.database()
  const store: TrieNodeStore = { get: async (hash) => db.get(hash), put: (hash, encoded) => db.put(hash, encoded) }
  return { trie, store }
}

async function applyOneByOne(trie: MerklePatriciaTrie, writes: TrieWrite32[]): Promise<void> {
  for (const write of writes) {
    if (write.value === undefined) await trie.del(write.key)
    else await trie.put(write.key, write.value)
  }
}

describe('applyTrieWrites', () => {
  it('gives the root of the empty trie for no entries, and leaves a root alone for no writes', async () => {
    const { store } = await referenceTrie()
    expect(await applyTrieWrites(KECCAK256_RLP, [], store, keccak256)).toEqual(KECCAK256_RLP)
    expect(await applyTrieWrites(KECCAK256_RLP, [{ key: key(1), value: undefined }], store, keccak256)).toEqual(
      KECCAK256_RLP,
    )
  })

  it('computes the same roots as ethereumjs put/del over random blocks of inserts, updates and deletes', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      // Even seeds update with a turn at every check: the interleaving must not change a root.
      const turns = seed % 2 === 0 ? new CountedTurns(0) : undefined
      const next = random(seed)
      const { trie, store } = await referenceTrie()
      let root = KECCAK256_RLP
      const live = new Set<number>()
      const decoded = new DecodedNodeCache(64)
      for (let block = 0; block < 12; block++) {
        const writes: TrieWrite32[] = []
        const count = 1 + Math.floor(next() * (block % 3 === 0 ? 300 : 12))
        for (let i = 0; i < count; i++) {
          const roll = next()
          const n = roll < 0.3 && live.size > 0 ? [...live][Math.floor(next() * live.size)]! : Math.floor(next() * 2000)
          if (roll < 0.15 && live.size > 0) {
            writes.push({ key: key(n), value: undefined })
            live.delete(n)
          } else {
            // Short values make nodes under 32 bytes, which are inlined in their parent.
            const length = next() < 0.3 ? 1 : 1 + Math.floor(next() * 40)
            writes.push({ key: key(n), value: new Uint8Array(length).fill(1 + Math.floor(next() * 250)) })
            live.add(n)
          }
        }
        // Deleting a key the trie never had is a no-op, as in the trie.
        writes.push({ key: key(100_000 + block), value: undefined })
        await applyOneByOne(trie, writes)
        const takenBefore = turns?.taken ?? 0
        root = await applyTrieWrites(root, writes, store, keccak256, decoded, turns)
        expect(bytesToHex(root), `seed ${seed} block ${block}`).toBe(bytesToHex(trie.root()))
        // A block of 100+ writes reads and encodes below a branch at the root: turns between its children.
        if (turns !== undefined && count > 100) expect(turns.taken - takenBefore).toBeGreaterThan(16)
        // Reads agree with ethereumjs' own, for present, deleted and never-written keys, through a cache.
        for (let n = 0; n < 2000; n += 37) {
          expect(await readTrie(root, key(n), store, decoded)).toEqual((await trie.get(key(n))) ?? undefined)
        }
      }
    }
  })

  it('applies writes to one key in order: the last write wins', async () => {
    const { trie, store } = await referenceTrie()
    const writes: TrieWrite32[] = [
      { key: key(1), value: Uint8Array.of(1) },
      { key: key(2), value: Uint8Array.of(2) },
      { key: key(1), value: undefined },
      { key: key(2), value: Uint8Array.of(3) },
    ]
    await applyOneByOne(trie, writes)
    expect(await applyTrieWrites(KECCAK256_RLP, writes, store, keccak256)).toEqual(trie.root())
  })

  it('empties a trie whose every key is deleted, and folds a branch left with one child', async () => {
    const { trie, store } = await referenceTrie()
    const keys = Array.from({ length: 40 }, (_, i) => key(i))
    let root = await applyTrieWrites(
      KECCAK256_RLP,
      keys.map((k) => ({ key: k, value: k })),
      store,
      keccak256,
    )
    await applyOneByOne(
      trie,
      keys.map((k) => ({ key: k, value: k })),
    )
    expect(root).toEqual(trie.root())
    const removeAllButOne = keys.slice(1).map((k) => ({ key: k, value: undefined }))
    root = await applyTrieWrites(root, removeAllButOne, store, keccak256)
    await applyOneByOne(trie, removeAllButOne)
    expect(root).toEqual(trie.root())
    root = await applyTrieWrites(root, [{ key: keys[0]!, value: undefined }], store, keccak256)
    expect(root).toEqual(KECCAK256_RLP)
  })

  it('decodes nodes the store hands out as views into larger buffers, and never writes into them', async () => {
    const { trie, store: reference } = await referenceTrie()
    const handedOut: Array<{ view: Uint8Array; copy: Uint8Array }> = []
    // level hands values out as Buffers, which may be views at an offset; decoded items are views of them.
    const store: TrieNodeStore = {
      get: async (hash) => {
        const encoded = await reference.get(hash)
        if (encoded === undefined) return undefined
        const backing = new Uint8Array(encoded.length + 16).fill(0xee)
        backing.set(encoded, 7)
        const view = backing.subarray(7, 7 + encoded.length)
        handedOut.push({ view, copy: encoded.slice() })
        return view
      },
      put: reference.put,
    }
    let root = KECCAK256_RLP
    const decoded = new DecodedNodeCache(64)
    for (let block = 0; block < 3; block++) {
      const writes = Array.from({ length: 150 }, (_, i) => ({
        key: key(block * 100 + i),
        value: keccak256(key(block + i)),
      }))
      await applyOneByOne(trie, writes)
      root = await applyTrieWrites(root, writes, store, keccak256, decoded)
      expect(bytesToHex(root), `block ${block}`).toBe(bytesToHex(trie.root()))
    }
    for (let n = 0; n < 400; n += 7) {
      expect(await readTrie(root, key(n), store)).toEqual((await trie.get(key(n))) ?? undefined)
    }
    expect(handedOut.length).toBeGreaterThan(100)
    for (const { view, copy } of handedOut) expect(view).toEqual(copy)
  })

  it('writes nodes that an ethereumjs trie opened at the new root reads and proves from', async () => {
    const db = new MapDB<string, Uint8Array>()
    const writer = new MerklePatriciaTrie({ db }).database()
    const store: TrieNodeStore = { get: (hash) => writer.get(hash), put: (hash, encoded) => writer.put(hash, encoded) }
    const writes = Array.from({ length: 200 }, (_, i) => ({ key: key(i), value: keccak256(key(i)) }))
    const root = await applyTrieWrites(KECCAK256_RLP, writes, store, keccak256)
    const reader = new MerklePatriciaTrie({ db, root })
    for (const { key: k, value } of writes.slice(0, 20)) {
      expect(await reader.get(k)).toEqual(value)
      const proof = await createMerkleProof(reader, k)
      expect(await verifyMerkleProof(k, proof, { root })).toEqual(value)
    }
    expect(await reader.get(key(5000))).toBeNull()
  })

  it('refuses a key that is not 32 bytes, and a root whose node is missing', async () => {
    const { store } = await referenceTrie()
    await expect(
      applyTrieWrites(KECCAK256_RLP, [{ key: Uint8Array.of(1), value: Uint8Array.of(1) }], store, keccak256),
    ).rejects.toThrow(/32/)
    await expect(applyTrieWrites(key(7), [{ key: key(1), value: Uint8Array.of(1) }], store, keccak256)).rejects.toThrow(
      /missing trie node/,
    )
  })
})
