import { RLP } from '@ethereumjs/rlp'
import { KECCAK256_RLP } from '@ethereumjs/util'
import { type EventLoopTurns, decodeRlpInPlace, rlpList, rlpString } from '@cairn/primitives'
import { compareNibbles, hexPrefix, toNibbles } from './nibbles.ts'
import { TwoGenerationCache } from './two-generation-cache.ts'

/** A write to a secure trie: `key` is the 32-byte hashed key; `value` undefined deletes it. */
export interface TrieWrite32 {
  key: Uint8Array
  value: Uint8Array | undefined
}

/** Where trie nodes live, addressed by the keccak of their RLP encoding. */
export interface TrieNodeStore {
  get(hash: Uint8Array): Promise<Uint8Array | undefined>
  put(hash: Uint8Array, encoded: Uint8Array): Promise<void>
}

type Item = Uint8Array | Item[]

/** A reference to a node as it appears in its stored parent: a 32-byte hash, or the node itself when it encodes to under 32 bytes. */
class StoredRef {
  constructor(readonly item: Item) {}
}

interface Leaf {
  kind: 'leaf'
  path: Uint8Array
  value: Uint8Array
}
interface Extension {
  kind: 'extension'
  path: Uint8Array
  child: Child
}
interface Branch {
  kind: 'branch'
  children: Array<Child | undefined>
}
type TrieNode = Leaf | Extension | Branch
/** A child still as stored (untouched by this update), or a node this update rebuilt. */
type Child = StoredRef | TrieNode

interface Entry {
  nibbles: Uint8Array
  value: Uint8Array | undefined
}

/**
 * Applies a block's writes to a secure Merkle-Patricia trie in one pass and returns the new root.
 * `MerklePatriciaTrie.put` walks, re-encodes and re-hashes the whole path for every key, so the
 * nodes near the root are hashed once per write; here every node on the union of the paths is
 * read once and encoded and hashed once. The nodes written are the ones ethereumjs' trie writes
 * (same encoding, inlined under 32 bytes, root always stored), so its readers and proofs see one
 * trie. Keys must all be 32 bytes, as in the state and storage tries (no value in a branch).
 * With `turns`, a large update gives the event loop turns between subtrees, while it reads and
 * while it encodes.
 */
export async function applyTrieWrites(
  root: Uint8Array,
  writes: readonly TrieWrite32[],
  store: TrieNodeStore,
  keccak256: (data: Uint8Array) => Uint8Array,
  decoded?: DecodedNodeCache,
  turns?: EventLoopTurns,
): Promise<Uint8Array> {
  if (writes.length === 0) return root
  const entries: Entry[] = writes.map((write) => {
    if (write.key.length !== 32) throw new Error(`trie key has ${write.key.length} bytes, expected 32`)
    return { nibbles: toNibbles(write.key), value: write.value }
  })
  // Stable sort, then the last write of a key wins, as with sequential puts.
  entries.sort((a, b) => compareNibbles(a.nibbles, b.nibbles))
  const unique = entries.filter(
    (entry, i) => i + 1 === entries.length || compareNibbles(entry.nibbles, entries[i + 1]!.nibbles) !== 0,
  )

  const resolve = (child: Child): Promise<TrieNode> | TrieNode => resolveChild(child, store, decoded)

  const update = async (
    node: TrieNode | undefined,
    depth: number,
    from: number,
    to: number,
  ): Promise<TrieNode | undefined> => {
    if (node === undefined) return build(withoutDeletes(unique.slice(from, to)), depth)
    switch (node.kind) {
      case 'leaf': {
        const prefix = unique[from]!.nibbles.subarray(0, depth)
        const existing: Entry = { nibbles: concatNibbles(prefix, node.path), value: node.value }
        const merged = unique.slice(from, to)
        const at = merged.findIndex((entry) => compareNibbles(entry.nibbles, existing.nibbles) >= 0)
        if (at === -1) merged.push(existing)
        else if (compareNibbles(merged[at]!.nibbles, existing.nibbles) !== 0) merged.splice(at, 0, existing)
        return build(withoutDeletes(merged), depth)
      }
      case 'extension': {
        const path = node.path
        let allBelow = true
        for (let i = from; i < to && allBelow; i++) allBelow = startsWith(unique[i]!.nibbles, depth, path)
        if (allBelow) {
          const child = await update(await resolve(node.child), depth + path.length, from, to)
          return child === undefined ? undefined : prefixed(path, child)
        }
        // Some write leaves the shared path: continue as the one-child branch this extension stands for.
        const children: Array<Child | undefined> = new Array(16).fill(undefined)
        children[path[0]!] =
          path.length === 1 ? node.child : { kind: 'extension', path: path.subarray(1), child: node.child }
        return update({ kind: 'branch', children }, depth, from, to)
      }
      case 'branch': {
        const children = node.children.slice()
        let start = from
        while (start < to) {
          const nibble = unique[start]!.nibbles[depth]!
          let end = start + 1
          while (end < to && unique[end]!.nibbles[depth] === nibble) end++
          const child = children[nibble]
          if (turns?.due()) await turns.take()
          children[nibble] = await update(child === undefined ? undefined : await resolve(child), depth + 1, start, end)
          start = end
        }
        const left = children.flatMap((child, nibble) => (child === undefined ? [] : [nibble]))
        if (left.length === 0) return undefined
        if (left.length > 1) return { kind: 'branch', children }
        // A branch with one child is not canonical: fold it into that child.
        const only = left[0]!
        const child = await resolve(children[only]!)
        // A branch child stays referenced as it is; a leaf or extension absorbs the nibble.
        if (child.kind === 'branch') return { kind: 'extension', path: Uint8Array.of(only), child: children[only]! }
        return prefixed(Uint8Array.of(only), child)
      }
    }
  }

  const rootNode = await update(
    root.length === 32 && equalBytes(root, KECCAK256_RLP) ? undefined : await resolve(new StoredRef(root)),
    0,
    0,
    unique.length,
  )
  if (rootNode === undefined) return KECCAK256_RLP

  // Nodes are encoded straight from their items' encodings (one buffer per node): the generic RLP
  // encoder re-concatenated every nested list, and that was most of the cost of a block's root.
  const puts: Array<Promise<void>> = []
  const store32 = (encoded: Uint8Array): Uint8Array => {
    const hash = keccak256(encoded)
    puts.push(store.put(hash, encoded))
    return hash
  }
  const childItem = (child: Child): Uint8Array => {
    if (child instanceof StoredRef) {
      return child.item instanceof Uint8Array ? rlpString(child.item) : RLP.encode(child.item as never)
    }
    return referenceTo(encodeNode(child))
  }
  // A node under 32 bytes is embedded in its parent as it is, not referenced by hash.
  const referenceTo = (encoded: Uint8Array): Uint8Array => (encoded.length < 32 ? encoded : rlpString(store32(encoded)))
  const encodeNode = (node: TrieNode): Uint8Array => {
    switch (node.kind) {
      case 'leaf':
        return rlpList([rlpString(hexPrefix(node.path, true)), rlpString(node.value)])
      case 'extension':
        return rlpList([rlpString(hexPrefix(node.path, false)), childItem(node.child)])
      case 'branch': {
        const items = node.children.map((child) => (child === undefined ? EMPTY_STRING : childItem(child)))
        items.push(EMPTY_STRING)
        return rlpList(items)
      }
    }
  }
  // The branches near the root, whose subtrees hold most of a large update, encode their children
  // with a turn between them when one is due; deeper subtrees are encoded in one go.
  const encodeTop = async (node: TrieNode, depth: number): Promise<Uint8Array> => {
    if (turns === undefined || node.kind !== 'branch' || depth >= TURN_DEPTH) return encodeNode(node)
    const items: Uint8Array[] = []
    for (const child of node.children) {
      if (turns.due()) await turns.take()
      if (child === undefined) items.push(EMPTY_STRING)
      else if (child instanceof StoredRef) items.push(childItem(child))
      else items.push(referenceTo(await encodeTop(child, depth + 1)))
    }
    items.push(EMPTY_STRING)
    return rlpList(items)
  }
  // The root is always stored and referenced by hash, even when it encodes to under 32 bytes.
  const newRoot = store32(await encodeTop(rootNode, 0))
  await Promise.all(puts)
  return newRoot
}

/** RLP of the empty string. */
const EMPTY_STRING = Uint8Array.of(0x80)

/** Branches above this depth encode with turns: below it a subtree holds 1/256 of an update's writes. */
const TURN_DEPTH = 2

/**
 * The value at the 32-byte hashed `key` of the secure trie at `root`, or undefined. One lookup per
 * level, from decoded nodes when `decoded` has them: ethereumjs' `get` walks with a generic
 * walker and decodes every node on the path again, which dominated reads of accounts not yet
 * cached (a transfer's fresh recipient).
 */
export async function readTrie(
  root: Uint8Array,
  key: Uint8Array,
  store: TrieNodeStore,
  decoded?: DecodedNodeCache,
): Promise<Uint8Array | undefined> {
  if (equalBytes(root, KECCAK256_RLP)) return undefined
  const nibbles = toNibbles(key)
  let node = await resolveChild(new StoredRef(root), store, decoded)
  let depth = 0
  for (;;) {
    switch (node.kind) {
      case 'leaf':
        return node.path.length === nibbles.length - depth && startsWith(nibbles, depth, node.path)
          ? node.value
          : undefined
      case 'extension':
        if (!startsWith(nibbles, depth, node.path)) return undefined
        depth += node.path.length
        node = await resolveChild(node.child, store, decoded)
        break
      case 'branch': {
        const child = node.children[nibbles[depth]!]
        if (child === undefined) return undefined
        depth++
        node = await resolveChild(child, store, decoded)
      }
    }
  }
}

/**
 * Decoded trie nodes by hash: the nodes near the root are on every path, and decoding them was a
 * large part of every read and update. Entries must come from a store that only returns a node's
 * true content for its hash.
 */
export class DecodedNodeCache extends TwoGenerationCache<TrieNode> {
  constructor(capacity = 20_000) {
    super(capacity)
  }
}

/** A child as a node: rebuilt ones as they are, stored ones read and decoded (nodes are never changed in place). */
function resolveChild(
  child: Child,
  store: TrieNodeStore,
  decoded: DecodedNodeCache | undefined,
): Promise<TrieNode> | TrieNode {
  if (!(child instanceof StoredRef)) return child
  const item = child.item
  if (!(item instanceof Uint8Array)) return decodeNode(item)
  const id = Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('hex')
  const hit = decoded?.get(id)
  if (hit !== undefined) return hit
  return store.get(item).then((encoded) => {
    if (encoded === undefined) throw new Error(`missing trie node ${id}`)
    // Items are views of the stored encoding (which the node caches hold anyway), not copies: a
    // block re-reads every node the block before it wrote, and copying their items was ~14% of what
    // young collections copied and promoted in a run of ETH transfers.
    const node = decodeNode(decodeRlpInPlace(encoded) as Item)
    decoded?.set(id, node)
    return node
  })
}

/** Puts `path` in front of `node`, merging with a leaf's or extension's own path. */
function prefixed(path: Uint8Array, node: TrieNode): TrieNode {
  switch (node.kind) {
    case 'leaf':
      return { kind: 'leaf', path: concatNibbles(path, node.path), value: node.value }
    case 'extension':
      return { kind: 'extension', path: concatNibbles(path, node.path), child: node.child }
    case 'branch':
      return { kind: 'extension', path, child: node }
  }
}

/** The subtrie of sorted, distinct entries below `depth`. */
function build(entries: Entry[], depth: number): TrieNode | undefined {
  if (entries.length === 0) return undefined
  const node = (from: number, to: number, at: number): TrieNode => {
    const first = entries[from]!.nibbles
    if (to - from === 1) return { kind: 'leaf', path: first.subarray(at), value: entries[from]!.value! }
    const last = entries[to - 1]!.nibbles
    let shared = 0
    while (first[at + shared] === last[at + shared]) shared++
    if (shared > 0)
      return { kind: 'extension', path: first.subarray(at, at + shared), child: node(from, to, at + shared) }
    const children: Array<Child | undefined> = new Array(16).fill(undefined)
    let start = from
    while (start < to) {
      const nibble = entries[start]!.nibbles[at]!
      let end = start + 1
      while (end < to && entries[end]!.nibbles[at] === nibble) end++
      children[nibble] = node(start, end, at + 1)
      start = end
    }
    return { kind: 'branch', children }
  }
  return node(0, entries.length, depth)
}

function withoutDeletes(entries: Entry[]): Entry[] {
  return entries.filter((entry) => entry.value !== undefined)
}

function decodeNode(item: Item): TrieNode {
  if (!Array.isArray(item)) throw new Error('trie node is not an RLP list')
  if (item.length === 17) {
    if ((item[16] as Uint8Array).length !== 0) throw new Error('branch node holds a value: not a 32-byte-key trie')
    return {
      kind: 'branch',
      children: item.slice(0, 16).map((child) => (isEmpty(child) ? undefined : new StoredRef(child))),
    }
  }
  if (item.length !== 2) throw new Error(`trie node has ${item.length} items`)
  const encodedPath = item[0] as Uint8Array
  const flag = encodedPath[0]! >> 4
  const nibbles = toNibbles(encodedPath)
  const path = nibbles.subarray(flag % 2 === 1 ? 1 : 2)
  return flag >= 2
    ? { kind: 'leaf', path, value: item[1] as Uint8Array }
    : { kind: 'extension', path, child: new StoredRef(item[1]!) }
}

function isEmpty(item: Item): boolean {
  return item instanceof Uint8Array && item.length === 0
}

function concatNibbles(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function startsWith(nibbles: Uint8Array, at: number, path: Uint8Array): boolean {
  for (let i = 0; i < path.length; i++) if (nibbles[at + i] !== path[i]) return false
  return true
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
