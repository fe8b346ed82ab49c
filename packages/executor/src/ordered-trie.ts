import { RLP } from '@ethereumjs/rlp'
import { KECCAK256_RLP } from '@ethereumjs/util'
import { compareNibbles, hexPrefix, toNibbles } from '@cairn/state'

/**
 * Root of the Merkle-Patricia trie mapping rlp(i) → values[i], as transactionsRoot and
 * receiptsRoot are defined, computed directly from the sorted keys instead of by n inserts into
 * an MPT (which hashes and re-encodes every node on the path at each insert). RLP encodings are
 * prefix-free, so no key ends at a branch and branch value slots stay empty.
 */
export function orderedTrieRoot(
  values: readonly Uint8Array[],
  keccak256: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  if (values.length === 0) return KECCAK256_RLP
  const items = values.map((value, i) => ({ nibbles: toNibbles(RLP.encode(i)), value }))
  items.sort((a, b) => compareNibbles(a.nibbles, b.nibbles))
  const root = encodeNode(items, 0, 0, items.length)
  // The root is always referenced by hash, even when its encoding is shorter than 32 bytes.
  return keccak256(RLP.encode(root as never))
  function reference(node: unknown): unknown {
    const encoded = RLP.encode(node as never)
    return encoded.length < 32 ? node : keccak256(encoded)
  }
  function encodeNode(list: typeof items, depth: number, from: number, to: number): unknown {
    if (to - from === 1) {
      const item = list[from]!
      return [hexPrefix(item.nibbles.subarray(depth), true), item.value]
    }
    const shared = commonPrefix(list[from]!.nibbles, list[to - 1]!.nibbles, depth)
    if (shared > 0) {
      return [
        hexPrefix(list[from]!.nibbles.subarray(depth, depth + shared), false),
        reference(encodeNode(list, depth + shared, from, to)),
      ]
    }
    const branch: unknown[] = new Array(17).fill(new Uint8Array(0))
    let start = from
    while (start < to) {
      const nibble = list[start]!.nibbles[depth]!
      let end = start + 1
      while (end < to && list[end]!.nibbles[depth] === nibble) end++
      branch[nibble] = reference(encodeNode(list, depth + 1, start, end))
      start = end
    }
    return branch
  }
}

/** Shared nibbles of the first and last key from `depth` (the keys are sorted, so all share them). */
function commonPrefix(a: Uint8Array, b: Uint8Array, depth: number): number {
  let n = 0
  while (depth + n < a.length && depth + n < b.length && a[depth + n] === b[depth + n]) n++
  return n
}
