import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { bytesToHex } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
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
      expect(bytesToHex(orderedTrieRoot(vals, wasmKeccak256))).toBe(await referenceRoot(vals))
    },
  )

  it('matches for tiny values whose nodes embed instead of hashing', async () => {
    const vals = values(40, () => 1)
    expect(bytesToHex(orderedTrieRoot(vals, wasmKeccak256))).toBe(await referenceRoot(vals))
  })
})
