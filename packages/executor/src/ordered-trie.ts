import { KECCAK256_RLP, intToUnpaddedBytes } from '@ethereumjs/util'
import { type EventLoopTurns, type RlpInput, encodeRlp } from '@cairn/primitives'
import { compareNibbles, hexPrefix, toNibbles } from '@cairn/state'

const EMPTY = new Uint8Array(0)

/** Subtrees of at most this many values are encoded without a turn (~1 ms of transfers' receipts). */
const SUBTREE_IN_ONE_GO = 128

interface Item {
  nibbles: Uint8Array
  value: Uint8Array
}

/**
 * Root of the Merkle-Patricia trie mapping rlp(i) → values[i], as transactionsRoot and
 * receiptsRoot are defined, computed directly from the sorted keys instead of by n inserts into
 * an MPT (which hashes and re-encodes every node on the path at each insert). RLP encodings are
 * prefix-free, so no key ends at a branch and branch value slots stay empty. With `turns`, a
 * large trie gives the event loop turns between its subtrees.
 */
export async function orderedTrieRoot(
  values: readonly Uint8Array[],
  keccak256: (data: Uint8Array) => Uint8Array,
  turns?: EventLoopTurns,
): Promise<Uint8Array> {
  if (values.length === 0) return KECCAK256_RLP
  const items: Item[] = values.map((value, i) => ({ nibbles: toNibbles(encodeRlp(intToUnpaddedBytes(i))), value }))
  items.sort((a, b) => compareNibbles(a.nibbles, b.nibbles))
  const reference = (node: RlpInput): RlpInput => {
    const encoded = encodeRlp(node)
    return encoded.length < 32 ? node : keccak256(encoded)
  }
  const encodeNode = (depth: number, from: number, to: number): RlpInput => {
    const shape = nodeShape(items, depth, from, to)
    switch (shape.kind) {
      case 'leaf':
        return shape.node
      case 'extension':
        return [shape.path, reference(encodeNode(depth + shape.nibbles, from, to))]
      case 'branch':
        return branchOf(
          shape.children,
          shape.children.map((child) => reference(encodeNode(depth + 1, child.from, child.to))),
        )
    }
  }
  // Above SUBTREE_IN_ONE_GO values the same walk, with a turn before each subtree when one is due.
  const encodeLarge = async (depth: number, from: number, to: number): Promise<RlpInput> => {
    if (turns === undefined || to - from <= SUBTREE_IN_ONE_GO) return encodeNode(depth, from, to)
    const shape = nodeShape(items, depth, from, to)
    switch (shape.kind) {
      case 'leaf':
        return shape.node
      case 'extension':
        return [shape.path, reference(await encodeLarge(depth + shape.nibbles, from, to))]
      case 'branch': {
        const references: RlpInput[] = []
        for (const child of shape.children) {
          if (turns.due()) await turns.take()
          references.push(reference(await encodeLarge(depth + 1, child.from, child.to)))
        }
        return branchOf(shape.children, references)
      }
    }
  }
  const root = await encodeLarge(0, 0, items.length)
  // The root is always referenced by hash, even when its encoding is shorter than 32 bytes.
  return keccak256(encodeRlp(root))
}

interface ChildRange {
  nibble: number
  from: number
  to: number
}

type NodeShape =
  | { kind: 'leaf'; node: RlpInput }
  /** `path` hex-prefix encoded, `nibbles` long. */
  | { kind: 'extension'; path: Uint8Array; nibbles: number }
  | { kind: 'branch'; children: ChildRange[] }

/** What the node over the sorted items [from, to) below `depth` is, before its children are encoded. */
function nodeShape(items: readonly Item[], depth: number, from: number, to: number): NodeShape {
  if (to - from === 1) {
    const item = items[from]!
    return { kind: 'leaf', node: [hexPrefix(item.nibbles.subarray(depth), true), item.value] }
  }
  const shared = commonPrefix(items[from]!.nibbles, items[to - 1]!.nibbles, depth)
  if (shared > 0) {
    return {
      kind: 'extension',
      path: hexPrefix(items[from]!.nibbles.subarray(depth, depth + shared), false),
      nibbles: shared,
    }
  }
  const children: ChildRange[] = []
  let start = from
  while (start < to) {
    const nibble = items[start]!.nibbles[depth]!
    let end = start + 1
    while (end < to && items[end]!.nibbles[depth] === nibble) end++
    children.push({ nibble, from: start, to: end })
    start = end
  }
  return { kind: 'branch', children }
}

/** A branch node's items: each child's reference at its nibble, empty strings elsewhere. */
function branchOf(children: readonly ChildRange[], references: readonly RlpInput[]): RlpInput[] {
  const branch: RlpInput[] = new Array(17).fill(EMPTY)
  for (const [i, child] of children.entries()) branch[child.nibble] = references[i]!
  return branch
}

/** Shared nibbles of the first and last key from `depth` (the keys are sorted, so all share them). */
function commonPrefix(a: Uint8Array, b: Uint8Array, depth: number): number {
  let n = 0
  while (depth + n < a.length && depth + n < b.length && a[depth + n] === b[depth + n]) n++
  return n
}
