import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { bytesToHex } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { EventLoopTurns } from '@cairn/primitives'
import { wasmKeccak256 } from './keccak.ts'
import { orderedTrieRoot } from './ordered-trie.ts'

async function referenceRoot(values: Uint8Array[]): Promise<string> {
  const trie = new MerklePatriciaTrie()
  for (const [i, value] of values.entries()) await trie.put(RLP.encode(i), value)
  return bytesToHex(trie.root())
}

function values(count: number, size: (i: number) => number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    Uint8Array.from({ length: size(i) }, (_, j) => (i * 31 + j * 7) & 0xff),
  )
}

describe('orderedTrieRoot', () => {
  it.each([0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 300, 1000, 5000])(
    'matches an MPT built by inserts for %i values',
    async (count) => {
      const vals = values(count, (i) => 1 + ((i * 13) % 150))
      expect(bytesToHex(await orderedTrieRoot(vals, wasmKeccak256))).toBe(await referenceRoot(vals))
    },
  )

  it('matches for tiny values whose nodes embed instead of hashing', async () => {
    const vals = values(40, () => 1)
    expect(bytesToHex(await orderedTrieRoot(vals, wasmKeccak256))).toBe(await referenceRoot(vals))
  })
  it.each([129, 300, 5000])('gives the event loop turns over %i values and computes the same root', async (count) => {
    const vals = values(count, (i) => 1 + ((i * 13) % 150))
    let taken = 0
    const turns = new (class extends EventLoopTurns {
      override async take(): Promise<void> {
        taken++
        await super.take()
      }
    })(0)
    expect(bytesToHex(await orderedTrieRoot(vals, wasmKeccak256, turns))).toBe(await referenceRoot(vals))
    // One turn before each child of every node above 128 values: at least the root's children.
    expect(taken).toBeGreaterThanOrEqual(2)
  })
})
