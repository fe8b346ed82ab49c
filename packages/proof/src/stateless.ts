import { Block, type BlockHeader, createBlockFromRLP, createBlockHeaderFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { MerklePatriciaTrie, verifyMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { Caches, type MerkleStateManager } from '@ethereumjs/statemanager'
import {
  type Address,
  type BatchDBOp,
  type DB,
  KECCAK256_NULL,
  KECCAK256_RLP,
  ValueEncoding,
  bytesToBigInt,
  bytesToHex,
  bytesToUnprefixedHex,
  concatBytes,
  createAccountFromRLP,
  createAddressFromString,
  equalsBytes,
  hexToBytes,
  setLengthLeft,
  unprefixedHexToBytes,
  utf8ToBytes,
} from '@ethereumjs/util'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { Transition } from '@cairn/contracts'
import { BatchFlushStateManager } from '@cairn/state'
import { BlockExecutionError, BlockExecutor, type BlockHashSource, anchorOf } from '@cairn/executor'
import { WitnessError } from './errors.ts'
import type { AccountWitness, BatchWitness } from './witness.ts'

/** Stands in for a missing trie node once the witness is known to be incomplete (see WitnessDB.get). */
const PLACEHOLDER_NODE = RLP.encode([Uint8Array.of(0x20), Uint8Array.of(0x80)])

const EMPTY_ROOT_KEY = bytesToUnprefixedHex(KECCAK256_RLP)

/** How MerkleStateManager keys contract code in its trie database (`'c' ‖ codeHash`). */
const CODE_PREFIX = utf8ToBytes('c')

/** The batch a witness claims to be, as the L1 `BatchProposed` meta states it. */
export interface BatchShape {
  firstBlockId: bigint
  anchorBlockId: bigint
  anchorBlockHash: `0x${string}`
  blocks: readonly { timestamp: bigint; gasLimit: number | bigint; coinbase: `0x${string}` }[]
}

export interface StatelessResult {
  transition: Transition
  /** Blocks re-executed, oldest first. */
  blocks: Block[]
  gasUsed: bigint
  transactions: number
}

/**
 * Re-executes a batch from its witness alone and returns the batch's transition.
 *
 * Order of checks: the blocks, the parent and the ancestors hash-link; every account proof
 * verifies against the parent's state root and proves exactly the claimed account; every
 * storage proof verifies against that account's storage root and proves the claimed value; the
 * blocks (optionally) match the batch's L1 parameters; then the blocks run through the same
 * `BlockExecutor.import` the node uses, on a state that holds only the witnessed trie nodes,
 * and must reproduce their own headers. Any read of state, code or a header the witness does
 * not carry fails with WITNESS_INCOMPLETE instead of reading as empty.
 */
export async function executeWitness(
  witness: BatchWitness,
  options: { common: Common; batch?: BatchShape },
): Promise<StatelessResult> {
  const { common } = options
  const keccak = common.customCrypto.keccak256 ?? keccak_256
  if (BigInt(witness.chainId) !== common.chainId())
    throw new WitnessError(
      'WITNESS_MALFORMED',
      `the witness is for chain ${BigInt(witness.chainId)}, this prover runs chain ${common.chainId()}`,
    )
  const { parent, blocks, hashes } = decodeChain(witness, common)
  if (options.batch !== undefined) checkBatch(blocks, options.batch)

  const root = parent.header.stateRoot
  // The first read of something the witness lacks ends execution at once: the trie may be in the
  // middle of an operation it cannot finish (ethereumjs keeps its lock when a node is missing).
  const missing: string[] = []
  let stop!: () => void
  const stopped = new Promise<never>((_, reject) => {
    stop = () => reject(new Error('the witness is incomplete'))
  })
  stopped.catch(() => {})
  const reportMissing = (what: string) => {
    missing.push(what)
    stop()
  }
  const db = new WitnessDB((key) => reportMissing(describeKey(key)))
  const allowed = await loadProofs(witness.accounts, root, db, common, keccak)
  for (const node of witness.nodes) db.putNode(keccak, hexBytes(node, 'nodes'))
  for (const code of witness.codes) {
    const bytes = hexBytes(code, 'codes')
    db.set(concatBytes(CODE_PREFIX, keccak(bytes)), bytes)
  }

  const state = new WitnessStateManager(
    {
      common,
      trie: new MerklePatriciaTrie({
        db,
        root,
        useKeyHashing: true,
        valueEncoding: ValueEncoding.Bytes,
        common,
      }),
      caches: new Caches({ account: { size: 10_000 }, storage: { size: 10_000 }, code: { size: 1_000 } }),
    },
    allowed,
    reportMissing,
  )
  const blockHashes: BlockHashSource = {
    async getCanonicalHash(number) {
      const hash = hashes.byNumber.get(number)
      if (hash === undefined) reportMissing(`the header of block ${number} (BLOCKHASH)`)
      return hash
    },
    async getParentHash(hash) {
      return hashes.parentOf.get(bytesToHex(hash))
    },
  }
  const executor = await BlockExecutor.create({ common, state, blockHashes })

  let previous = parent
  let gasUsed = 0n
  let transactions = 0
  for (const block of blocks) {
    try {
      const running = executor.import(previous, block)
      running.catch(() => {}) // abandoned when `stopped` wins
      await Promise.race([running, stopped])
    } catch (error) {
      if (missing.length > 0) throw incomplete(missing, block, error)
      if (error instanceof BlockExecutionError)
        throw new WitnessError(
          'WITNESS_EXECUTION_MISMATCH',
          `block ${block.header.number} does not execute to its header on the witnessed state: ${error.message}`,
          { cause: error },
        )
      throw error
    }
    if (missing.length > 0) throw incomplete(missing, block)
    gasUsed += block.header.gasUsed
    transactions += block.transactions.length
    previous = block
  }
  const last = blocks[blocks.length - 1]!
  return {
    transition: {
      parentHash: bytesToHex(parent.hash()),
      blockHash: bytesToHex(last.hash()),
      stateRoot: bytesToHex(last.header.stateRoot),
    },
    blocks,
    gasUsed,
    transactions,
  }
}

function incomplete(missing: string[], block: Block, cause?: unknown): WitnessError {
  const unique = [...new Set(missing)]
  return new WitnessError(
    'WITNESS_INCOMPLETE',
    `executing block ${block.header.number} needs ${unique.slice(0, 3).join('; ')}${unique.length > 3 ? ` and ${unique.length - 3} more` : ''}, which the witness does not carry`,
    { cause, details: { missing: unique } },
  )
}

interface ChainHashes {
  byNumber: Map<bigint, Uint8Array>
  parentOf: Map<string, Uint8Array>
}

/** Decodes the parent, ancestors and blocks and checks that they form one hash-linked chain. */
function decodeChain(witness: BatchWitness, common: Common): { parent: Block; blocks: Block[]; hashes: ChainHashes } {
  const byNumber = new Map<bigint, Uint8Array>()
  const parentOf = new Map<string, Uint8Array>()
  const note = (header: BlockHeader) => {
    byNumber.set(header.number, header.hash())
    parentOf.set(bytesToHex(header.hash()), header.parentHash)
  }
  let parentHeader: BlockHeader
  try {
    parentHeader = createBlockHeaderFromRLP(hexToBytes(witness.parentHeader), { common })
  } catch (error) {
    throw new WitnessError('WITNESS_MALFORMED', `parentHeader does not decode: ${(error as Error).message}`)
  }
  const parent = blockOf(parentHeader, common)
  note(parentHeader)
  let child = parentHeader
  witness.ancestors.forEach((raw, i) => {
    let header: BlockHeader
    try {
      header = createBlockHeaderFromRLP(hexToBytes(raw), { common })
    } catch (error) {
      throw new WitnessError('WITNESS_MALFORMED', `ancestors.${i} does not decode: ${(error as Error).message}`)
    }
    if (!equalsBytes(header.hash(), child.parentHash) || header.number !== child.number - 1n)
      throw new WitnessError(
        'WITNESS_CHAIN_BROKEN',
        `ancestors.${i} (block ${header.number}) is not the parent of block ${child.number}`,
      )
    note(header)
    child = header
  })
  const blocks: Block[] = []
  let previous = parentHeader
  witness.blocks.forEach((raw, i) => {
    let block: Block
    try {
      block = createBlockFromRLP(hexToBytes(raw), { common })
    } catch (error) {
      throw new WitnessError('WITNESS_MALFORMED', `blocks.${i} does not decode: ${(error as Error).message}`)
    }
    if (!equalsBytes(block.header.parentHash, previous.hash()) || block.header.number !== previous.number + 1n)
      throw new WitnessError(
        'WITNESS_CHAIN_BROKEN',
        `blocks.${i} (block ${block.header.number}) does not build on block ${previous.number} ${bytesToHex(previous.hash())}`,
      )
    note(block.header)
    blocks.push(block)
    previous = block.header
  })
  return { parent, blocks, hashes: { byNumber, parentOf } }
}

function blockOf(header: BlockHeader, common: Common): Block {
  // The executor only reads the parent's header (hash, number, state root, base fee, gas limit).
  return new Block(header, [], [], [], { common })
}

/** The blocks must be the batch's: count, numbers, L1-given parameters and the anchor block. */
function checkBatch(blocks: Block[], batch: BatchShape): void {
  const fail = (message: string) => new WitnessError('WITNESS_BATCH_MISMATCH', message)
  if (blocks.length !== batch.blocks.length)
    throw fail(`the witness has ${blocks.length} blocks, the batch ${batch.blocks.length}`)
  blocks.forEach((block, i) => {
    const header = block.header
    const params = batch.blocks[i]!
    if (header.number !== batch.firstBlockId + BigInt(i))
      throw fail(`block ${i} is L2 block ${header.number}, the batch starts at ${batch.firstBlockId}`)
    if (header.timestamp !== params.timestamp) throw fail(`block ${header.number}: timestamp differs from the batch's`)
    if (header.gasLimit !== BigInt(params.gasLimit))
      throw fail(`block ${header.number}: gas limit differs from the batch's`)
    if (!header.coinbase.equals(createAddressFromString(params.coinbase)))
      throw fail(`block ${header.number}: coinbase differs from the batch's`)
    const anchor = anchorOf(header)
    if (
      anchor === undefined ||
      anchor.number !== batch.anchorBlockId ||
      !equalsBytes(anchor.hash, hexToBytes(batch.anchorBlockHash))
    )
      throw fail(`block ${header.number}: anchor differs from the batch's L1 block ${batch.anchorBlockId}`)
  })
}

/**
 * Verifies every account and storage proof against the parent state root and loads the proof
 * nodes into the database. Returns the accounts and slots execution may read.
 */
async function loadProofs(
  accounts: AccountWitness[],
  root: Uint8Array,
  db: WitnessDB,
  common: Common,
  keccak: (data: Uint8Array) => Uint8Array,
): Promise<Allowed> {
  const allowed: Allowed = { accounts: new Set(), slots: new Set() }
  for (const [i, account] of accounts.entries()) {
    const where = `accounts.${i} (${account.address})`
    const address = hexBytes(account.address, `${where}.address`)
    if (address.length !== 20) throw new WitnessError('WITNESS_MALFORMED', `${where}: address is not 20 bytes`)
    const accountProof = account.accountProof.map((node, j) => hexBytes(node, `${where}.accountProof.${j}`))
    const value = await provenValue(address, accountProof, root, `${where}: the account proof`, common, keccak)
    const proven =
      value === null
        ? { nonce: 0n, balance: 0n, codeHash: KECCAK256_NULL, storageRoot: KECCAK256_RLP }
        : createAccountFromRLP(value)
    const claimed = {
      nonce: BigInt(account.nonce),
      balance: BigInt(account.balance),
      codeHash: hexBytes(account.codeHash, `${where}.codeHash`),
      storageRoot: hexBytes(account.storageHash, `${where}.storageHash`),
    }
    for (const field of ['nonce', 'balance'] as const)
      if (proven[field] !== claimed[field])
        throw new WitnessError(
          'WITNESS_ACCOUNT_MISMATCH',
          `${where}: ${field} is claimed as ${claimed[field]} but the proof proves ${proven[field]}`,
        )
    for (const field of ['codeHash', 'storageRoot'] as const)
      if (!equalsBytes(proven[field], claimed[field]))
        throw new WitnessError(
          'WITNESS_ACCOUNT_MISMATCH',
          `${where}: ${field} is claimed as ${bytesToHex(claimed[field])} but the proof proves ${bytesToHex(proven[field])}`,
        )
    for (const node of accountProof) db.putNode(keccak, node)
    const addressKey = bytesToHex(address)
    allowed.accounts.add(addressKey)

    for (const [j, slot] of account.storageProof.entries()) {
      const slotWhere = `${where} slot ${slot.key}`
      const key = setLengthLeft(hexBytes(slot.key, `${slotWhere}.key`), 32)
      const proof = slot.proof.map((node, k) => hexBytes(node, `${where}.storageProof.${j}.proof.${k}`))
      const stored = await provenValue(
        key,
        proof,
        proven.storageRoot,
        `${slotWhere}: the storage proof`,
        common,
        keccak,
      )
      const provenWord = stored === null ? 0n : bytesToBigInt(RLP.decode(stored) as Uint8Array)
      if (provenWord !== BigInt(slot.value))
        throw new WitnessError(
          'WITNESS_STORAGE_MISMATCH',
          `${slotWhere}: value is claimed as ${slot.value} but the proof proves 0x${provenWord.toString(16)}`,
        )
      for (const node of proof) db.putNode(keccak, node)
      allowed.slots.add(`${addressKey}:${bytesToHex(key)}`)
    }
  }
  return allowed
}

/**
 * The value a proof proves for `key` in the trie with root `root`, or null for a proven absence.
 * Unlike a bare `verifyMerkleProof`, an empty proof only proves absence in the empty trie.
 */
async function provenValue(
  key: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
  what: string,
  common: Common,
  keccak: (data: Uint8Array) => Uint8Array,
): Promise<Uint8Array | null> {
  if (proof.length === 0) {
    if (equalsBytes(root, KECCAK256_RLP)) return null
    throw new WitnessError('WITNESS_PROOF_INVALID', `${what} is empty but the trie root is ${bytesToHex(root)}`)
  }
  if (!equalsBytes(keccak(proof[0]!), root))
    throw new WitnessError('WITNESS_PROOF_INVALID', `${what} does not start at the root ${bytesToHex(root)}`)
  try {
    return await verifyMerkleProof(key, proof, { useKeyHashing: true, root, common })
  } catch (error) {
    throw new WitnessError('WITNESS_PROOF_INVALID', `${what} does not verify against ${bytesToHex(root)}`, {
      cause: error,
    })
  }
}

interface Allowed {
  accounts: Set<string>
  slots: Set<string>
}

/** A state manager that refuses reads of accounts and slots the witness did not prove. */
class WitnessStateManager extends BatchFlushStateManager {
  constructor(
    options: ConstructorParameters<typeof BatchFlushStateManager>[0],
    private readonly allowed: Allowed,
    private readonly onMissing: (what: string) => void,
  ) {
    super(options)
  }

  private checkAccount(address: Address): void {
    const key = address.toString()
    if (!this.allowed.accounts.has(key)) {
      this.onMissing(`account ${key}`)
      throw new WitnessError('WITNESS_INCOMPLETE', `the witness has no proof of account ${key}`)
    }
  }

  override async getAccount(address: Address) {
    this.checkAccount(address)
    return super.getAccount(address)
  }

  override async getStorage(address: Address, key: Uint8Array) {
    this.checkAccount(address)
    const slot = `${address.toString()}:${bytesToHex(setLengthLeft(key, 32))}`
    if (!this.allowed.slots.has(slot)) {
      this.onMissing(`storage slot ${slot}`)
      throw new WitnessError('WITNESS_INCOMPLETE', `the witness has no proof of storage slot ${slot}`)
    }
    return super.getStorage(address, key)
  }

  override shallowCopy(): MerkleStateManager {
    throw new Error('a witness state is not copied')
  }
}

/**
 * The trie database of a stateless execution: the witnessed nodes keyed by their own hash, plus
 * what execution writes. A read of anything else is reported (the trie would otherwise read a
 * missing node as "empty" and compute a wrong, unchecked state).
 */
class WitnessDB implements DB<string, string | Uint8Array> {
  private readonly entries = new Map<string, Uint8Array>()

  constructor(private readonly onMissing: (key: string) => void) {}

  set(key: Uint8Array, value: Uint8Array): void {
    this.entries.set(bytesToUnprefixedHex(key), value)
  }

  putNode(keccak: (data: Uint8Array) => Uint8Array, node: Uint8Array): void {
    this.set(keccak(node), node)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.entries.get(key)
    if (value !== undefined) return value
    // The empty trie has no node: asking for it is how the trie finds out it is empty.
    if (key === EMPTY_ROOT_KEY) return undefined
    this.onMissing(key)
    // Not `undefined`: ethereumjs throws on a missing node in places nothing awaits (a storage
    // write during a flush), which would leave an unhandled rejection and a trie that never
    // unlocks. A leaf with an empty path matches no key, and execution is already condemned.
    return key.length === 64 ? PLACEHOLDER_NODE : undefined
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.entries.set(key, typeof value === 'string' ? unprefixedHexToBytes(value) : value)
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

function describeKey(key: string): string {
  if (key.length === 66 && key.startsWith('63')) return `the code with hash 0x${key.slice(2)}`
  return `the trie node 0x${key}`
}

function hexBytes(value: string, field: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(value))
    throw new WitnessError('WITNESS_MALFORMED', `${field} is not an even-length 0x hex string`)
  return hexToBytes(value as `0x${string}`)
}
