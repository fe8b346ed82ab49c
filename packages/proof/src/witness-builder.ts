import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { Caches, type MerkleStateManager, getMerkleStateProof } from '@ethereumjs/statemanager'
import {
  type Address,
  type BatchDBOp,
  type DB,
  ValueEncoding,
  bigIntToHex,
  bytesToHex,
  createAddressFromString,
  setLengthLeft,
  unprefixedHexToBytes,
} from '@ethereumjs/util'
import { BlockExecutor, type BlockHashSource } from '@cairn/executor'
import { BatchFlushStateManager, type StateDB } from '@cairn/state'
import { WitnessError } from './errors.ts'
import type { AccountWitness, BatchWitness } from './witness.ts'

type Hex = `0x${string}`

/** What the builder reads from the node's chain store (`ChainStore` fits). */
export interface WitnessChainSource extends BlockHashSource {
  getBlockByNumber(number: bigint): Promise<{ block: Block } | undefined>
}

/**
 * Builds the stateless witness of canonical L2 blocks `first..last` by executing them once more on
 * their parent state with recording: every account and slot the execution asks for gets a pre-state
 * EIP-1186 proof, every pre-state trie node and code it reads is kept, and every ancestor header
 * BLOCKHASH looks at is included. Nothing is written to the node's store (writes go to an overlay).
 */
export async function buildBatchWitness(options: {
  common: Common
  chain: WitnessChainSource
  state: StateDB
  firstBlock: bigint
  lastBlock: bigint
}): Promise<BatchWitness> {
  const { common, chain, state, firstBlock, lastBlock } = options
  if (firstBlock < 1n || lastBlock < firstBlock)
    throw new WitnessError('WITNESS_MALFORMED', `no blocks in the range ${firstBlock}..${lastBlock}`)
  const parentRecord = await chain.getBlockByNumber(firstBlock - 1n)
  if (parentRecord === undefined)
    throw new WitnessError('WITNESS_INCOMPLETE', `block ${firstBlock - 1n} (the parent) is not in the chain`)
  const parent = parentRecord.block
  const blocks: Block[] = []
  for (let n = firstBlock; n <= lastBlock; n++) {
    const record = await chain.getBlockByNumber(n)
    if (record === undefined) throw new WitnessError('WITNESS_INCOMPLETE', `block ${n} is not in the chain`)
    blocks.push(record.block)
  }

  const db = new RecordingDB(state.trieDB)
  const recorder = new RecordingStateManager({
    common,
    trie: new MerklePatriciaTrie({
      db,
      root: parent.header.stateRoot,
      useKeyHashing: true,
      valueEncoding: ValueEncoding.Bytes,
      common,
    }),
    caches: new Caches({ account: { size: 10_000 }, storage: { size: 10_000 }, code: { size: 1_000 } }),
  })
  const askedNumbers: bigint[] = []
  const hashes: BlockHashSource = {
    async getCanonicalHash(number) {
      askedNumbers.push(number)
      return chain.getCanonicalHash(number)
    },
    getParentHash: (hash) => chain.getParentHash(hash),
  }
  const executor = await BlockExecutor.create({ common, state: recorder, blockHashes: hashes })
  let previous = parent
  for (const block of blocks) {
    await executor.import(previous, block)
    previous = block
  }

  // Pre-state proofs of everything touched, from a clean view of the parent state.
  const view = state.stateAt(parent.header.stateRoot)
  const accounts: AccountWitness[] = []
  const onPath = new Set<string>()
  for (const [address, slots] of recorder.touched) {
    const proof = await getMerkleStateProof(
      view,
      createAddressFromString(address),
      [...slots].sort().map((slot) => unprefixedHexToBytes(slot.slice(2))),
    )
    const account: AccountWitness = {
      address: proof.address as Hex,
      nonce: proof.nonce as Hex,
      balance: proof.balance as Hex,
      codeHash: proof.codeHash as Hex,
      storageHash: proof.storageHash as Hex,
      accountProof: proof.accountProof as Hex[],
      storageProof: proof.storageProof.map((s) => ({
        key: s.key as Hex,
        value: s.value as Hex,
        proof: s.proof as Hex[],
      })),
    }
    // An account the batch creates has no storage trie in the pre-state: its slots are proven
    // absent by the empty storage root itself (an empty proof).
    if (account.storageProof.length === 0)
      account.storageProof = [...slots].sort().map((key) => ({ key: key as Hex, value: '0x0', proof: [] }))
    for (const node of account.accountProof) onPath.add(node)
    for (const slot of account.storageProof) for (const node of slot.proof) onPath.add(node)
    accounts.push(account)
  }
  const codes: Hex[] = []
  const nodes: Hex[] = []
  for (const [key, value] of db.reads) {
    const hex = bytesToHex(value)
    if (key.length === 66 && key.startsWith('63')) codes.push(hex)
    else if (!onPath.has(hex)) nodes.push(hex)
  }

  // Headers BLOCKHASH read below the parent, as a hash-linked run down to the oldest one asked for.
  const ancestors: Hex[] = []
  const oldest = askedNumbers.reduce((min, n) => (n < min ? n : min), parent.header.number)
  for (let n = parent.header.number - 1n; n >= oldest; n--) {
    const record = await chain.getBlockByNumber(n)
    if (record === undefined) throw new WitnessError('WITNESS_INCOMPLETE', `ancestor block ${n} is not in the chain`)
    ancestors.push(bytesToHex(record.block.header.serialize()))
  }

  return {
    version: 1,
    chainId: bigIntToHex(common.chainId()),
    parentHeader: bytesToHex(parent.header.serialize()),
    ancestors,
    blocks: blocks.map((block) => bytesToHex(block.serialize())),
    accounts,
    codes,
    nodes,
  }
}

/** Records the accounts and slots execution touches (reads or writes), at the state-manager level. */
class RecordingStateManager extends BatchFlushStateManager {
  /** address (0x, lowercase) → touched slots (0x, 32 bytes). */
  readonly touched = new Map<string, Set<string>>()

  private note(address: Address, key?: Uint8Array): void {
    const id = address.toString()
    let slots = this.touched.get(id)
    if (slots === undefined) {
      slots = new Set()
      this.touched.set(id, slots)
    }
    if (key !== undefined) slots.add(bytesToHex(setLengthLeft(key, 32)))
  }

  override async getAccount(address: Address) {
    this.note(address)
    return super.getAccount(address)
  }

  override async putAccount(address: Address, account: Parameters<MerkleStateManager['putAccount']>[1]) {
    this.note(address)
    return super.putAccount(address, account)
  }

  override async deleteAccount(address: Address) {
    this.note(address)
    return super.deleteAccount(address)
  }

  override async getStorage(address: Address, key: Uint8Array) {
    this.note(address, key)
    return super.getStorage(address, key)
  }

  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array) {
    this.note(address, key)
    return super.putStorage(address, key, value)
  }
}

/**
 * A read-through view of the node's trie database that remembers every node and code read from
 * it (the pre-state execution needs) and keeps execution's writes in memory, away from the store.
 */
class RecordingDB implements DB<string, string | Uint8Array> {
  readonly reads = new Map<string, Uint8Array>()
  private readonly writes = new Map<string, Uint8Array>()

  constructor(private readonly base: DB<string, string | Uint8Array>) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    const written = this.writes.get(key)
    if (written !== undefined) return written
    const value = (await this.base.get(key)) as Uint8Array | undefined
    if (value !== undefined) this.reads.set(key, value)
    return value
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.writes.set(key, typeof value === 'string' ? unprefixedHexToBytes(value) : value)
  }

  async del(): Promise<void> {}

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') await this.put(op.key, op.value)
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return this
  }

  async open(): Promise<void> {}
}
