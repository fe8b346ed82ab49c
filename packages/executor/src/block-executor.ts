import { Block, type HeaderData, createBlock, createBlockHeader, genRequestsRoot } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { EVMMockBlockchainInterface } from '@ethereumjs/evm'
import { keccak_256 as keccak256 } from '@noble/hashes/sha3.js'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import type { TypedTransaction } from '@ethereumjs/tx'
import {
  type Address,
  KECCAK256_RLP,
  bigIntToBytes,
  bytesToBigInt,
  bytesToHex,
  concatBytes,
  createAddressFromString,
  createZeroAddress,
  setLengthLeft,
} from '@ethereumjs/util'
import { type RunTxResult, type VM, createVM, runTx } from '@ethereumjs/vm'
import { sha256 } from '@noble/hashes/sha2.js'
import {
  ANCHOR_ADDRESS,
  ANCHOR_GAS_LIMIT,
  CairnError,
  type EventLoopTurns,
  HISTORY_STORAGE_ADDRESS,
  type L1Anchor,
  SYSTEM_SENDER,
} from '@cairn/primitives'
import { orderedTrieRoot } from './ordered-trie.ts'
import { encodeReceiptRlp } from './receipt-rlp.ts'
import type { SenderRecovery } from './sender-recovery.ts'

/** Where BLOCKHASH looks up ancestors: the canonical index, or the parent links of a side branch. */
export interface BlockHashSource {
  getCanonicalHash(number: bigint): Promise<Uint8Array | undefined>
  getParentHash(hash: Uint8Array): Promise<Uint8Array | undefined>
}

/** Transactions offered to the builder in execution order (the mempool's selection implements it). */
export interface TransactionSource {
  peek(): TypedTransaction | undefined
  /** The peeked transaction was included: offer the sender's next one. */
  shift(): void
  /** The peeked transaction cannot be included: skip the rest of its sender's. */
  pop(): void
  /**
   * Takes in transactions that arrived since the source was made; true when any was added. The
   * builder calls it after each event-loop turn and before it seals, so a block that is still being
   * built includes what arrived meanwhile (a snapshot source leaves it out).
   */
  refresh?(): boolean
  /** Resolves true when transactions arrived (a refresh will find them), false after `ms` without any. */
  arrival?(ms: number): Promise<boolean>
}

/** A transaction's outcome in a sealed block. */
export interface ExecutedReceipt {
  status: 0 | 1
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  contractAddress: Uint8Array | undefined
  logs: [Uint8Array, Uint8Array[], Uint8Array][]
}

export interface ExecutedBlock {
  block: Block
  receipts: ExecutedReceipt[]
  senders: Uint8Array[]
  /** Raw EVM results, for callers that want more (traces, metrics); without the interpreter's run state. */
  results: RunTxResult[]
}

export interface RejectedTransaction {
  tx: TypedTransaction
  reason: string
}

export interface BlockAttributes {
  timestamp: bigint
  coinbase?: Address
  gasLimit?: bigint
  /** Stop after this many transactions (block-per-transaction dev mode uses 1). */
  maxTransactions?: number
  /**
   * Stop taking transactions once execution has run this many milliseconds: what is left waits for
   * the next block, so a sequencer under load seals a block per slot rather than ever larger ones.
   */
  executionBudgetMs?: number
  /**
   * With a budget and a source that tells arrivals: when the source runs out, wait up to this many
   * milliseconds for more before sealing.
   */
  lingerMs?: number
  /** The L1 block this block is anchored to; none (a chain without L1, e.g. --dev) anchors to L1 block 0. */
  anchor?: L1Anchor
}

export class BlockExecutionError extends CairnError {
  override readonly name = 'BlockExecutionError'
}

const ANCHOR = createAddressFromString(ANCHOR_ADDRESS)
const SYSTEM = createAddressFromString(SYSTEM_SENDER)
const HISTORY_STORAGE = createAddressFromString(HISTORY_STORAGE_ADDRESS)
/** EIP-2935's gas for its system call, as for every Prague system call. */
const HISTORY_STORAGE_GAS_LIMIT = 30_000_000n
/** Selector of anchor(uint64,bytes32,bytes32,bytes32). */
const ANCHOR_SELECTOR = keccak256(new TextEncoder().encode('anchor(uint64,bytes32,bytes32,bytes32)')).subarray(0, 4)

/** The anchor fields of a header (docs/protocol.md): extraData = L1 number, mixHash = hash, parentBeaconBlockRoot = state root. */
export function anchorOf(header: {
  extraData: Uint8Array
  mixHash: Uint8Array
  parentBeaconBlockRoot?: Uint8Array
}): L1Anchor | undefined {
  if (header.extraData.length !== 8 || header.parentBeaconBlockRoot === undefined) return undefined
  return { number: bytesToBigInt(header.extraData), hash: header.mixHash, stateRoot: header.parentBeaconBlockRoot }
}

const ZERO32 = new Uint8Array(32)
/** The intrinsic gas of the cheapest transaction: a block with less left holds no more. */
const TX_GAS = 21_000n
/** An L2 block carries no consensus-layer requests: the EIP-7685 hash of an empty list. */
const EMPTY_REQUESTS_HASH = genRequestsRoot([], sha256)

/**
 * Executes blocks on one long-lived state (the head state). Building and importing share one
 * path, `execute`, so a block built by the sequencer and the same block re-executed by a
 * follower or a prover run exactly the same code. Not re-entrant: one block at a time.
 */
export class BlockExecutor {
  private readonly keccak256: (data: Uint8Array) => Uint8Array

  private constructor(
    readonly vm: VM,
    readonly common: Common,
    private readonly blockHashes: BlockHashSource,
    private readonly senderRecovery: SenderRecovery | undefined,
    private readonly turns: EventLoopTurns | undefined,
  ) {
    this.keccak256 = common.customCrypto.keccak256 ?? keccak256
  }

  static async create(options: {
    common: Common
    state: MerkleStateManager
    blockHashes: BlockHashSource
    /** Recovers an imported block's senders on worker threads before executing it. */
    senderRecovery?: SenderRecovery
    /**
     * While a block executes and while its roots are computed, give the event loop these turns
     * (none: run the block in one go). The node admits transactions and answers RPC in them
     * instead of stalling for the whole block; everything they read is committed state, and
     * callers serialize block processing themselves, so nothing else sees the block half-built.
     * The state commit in between takes the head state's own turns (`StateDB.headState(root, { turns })`).
     */
    turns?: EventLoopTurns
  }): Promise<BlockExecutor> {
    const vm = await createVM({
      common: options.common,
      stateManager: options.state,
      blockchain: blockchainFor(options.blockHashes),
    })
    return new BlockExecutor(vm, options.common, options.blockHashes, options.senderRecovery, options.turns)
  }

  get state(): MerkleStateManager {
    return this.vm.stateManager as MerkleStateManager
  }

  /** Builds the next block from `source`, skipping transactions that cannot execute. */
  async build(
    parent: Block,
    attributes: BlockAttributes,
    source: TransactionSource,
  ): Promise<{ executed: ExecutedBlock; rejected: RejectedTransaction[] }> {
    const rejected: RejectedTransaction[] = []
    const executed = await this.execute(
      parent,
      this.headerFor(parent, attributes),
      source,
      attributes,
      (tx, reason) => {
        rejected.push({ tx, reason })
        return 'skip-sender'
      },
    )
    return { executed, rejected }
  }

  /**
   * Re-executes a block received from elsewhere and checks that it seals to the same header.
   * Throws BlockExecutionError (and leaves the head state at `parent`) when it does not.
   */
  async import(parent: Block, block: Block): Promise<ExecutedBlock> {
    const header = block.header
    if (!equal(header.parentHash, parent.hash())) {
      throw new BlockExecutionError(
        'BLOCK_PARENT_MISMATCH',
        `block ${header.number} does not build on ${bytesToHex(parent.hash())}`,
      )
    }
    const anchor = anchorOf(header)
    if (anchor === undefined) {
      throw new BlockExecutionError(
        'BLOCK_WITHOUT_ANCHOR',
        `block ${header.number} carries no anchor: extraData must be the 8-byte L1 block number`,
      )
    }
    const expected = this.headerFor(parent, {
      timestamp: header.timestamp,
      coinbase: header.coinbase,
      gasLimit: header.gasLimit,
      anchor,
    })
    if (header.baseFeePerGas !== expected.baseFeePerGas) {
      throw new BlockExecutionError(
        'BLOCK_BASE_FEE_MISMATCH',
        `block ${header.number}: base fee is ${header.baseFeePerGas} but the parent implies ${expected.baseFeePerGas}`,
      )
    }
    await this.senderRecovery?.prime(block.transactions)
    const executed = await this.execute(parent, expected, arraySource(block.transactions), {}, (tx, reason) => {
      throw new BlockExecutionError(
        'INVALID_BLOCK_TRANSACTION',
        `block ${header.number}: transaction ${bytesToHex(tx.hash())} is invalid: ${reason}`,
      )
    })
    const sealed = executed.block.header
    for (const field of ['stateRoot', 'receiptTrie', 'transactionsTrie', 'logsBloom'] as const) {
      if (!equal(sealed[field], header[field])) {
        await this.state.setStateRoot(parent.header.stateRoot)
        throw new BlockExecutionError(
          'BLOCK_ROOT_MISMATCH',
          `block ${header.number}: ${field} is ${bytesToHex(header[field])} but execution gives ${bytesToHex(sealed[field])}`,
        )
      }
    }
    if (sealed.gasUsed !== header.gasUsed) {
      await this.state.setStateRoot(parent.header.stateRoot)
      throw new BlockExecutionError(
        'BLOCK_GAS_MISMATCH',
        `block ${header.number}: gasUsed is ${header.gasUsed} but execution gives ${sealed.gasUsed}`,
      )
    }
    return { ...executed, block }
  }

  /** Header fields of the child of `parent` before execution fills in roots and gas. */
  headerFor(parent: Block, attributes: BlockAttributes): HeaderData {
    const anchor = attributes.anchor ?? { number: 0n, hash: ZERO32, stateRoot: ZERO32 }
    return {
      parentHash: parent.hash(),
      number: parent.header.number + 1n,
      timestamp: attributes.timestamp,
      coinbase: attributes.coinbase ?? createZeroAddress(),
      gasLimit: attributes.gasLimit ?? parent.header.gasLimit,
      extraData: setLengthLeft(bigIntToBytes(anchor.number), 8),
      mixHash: anchor.hash,
      baseFeePerGas: parent.header.calcNextBaseFee(),
      excessBlobGas: parent.header.calcNextExcessBlobGas(this.common),
      blobGasUsed: 0n,
      parentBeaconBlockRoot: anchor.stateRoot,
      withdrawalsRoot: KECCAK256_RLP,
      requestsHash: EMPTY_REQUESTS_HASH,
      difficulty: 0n,
      nonce: new Uint8Array(8),
    }
  }

  private async execute(
    parent: Block,
    headerData: HeaderData,
    source: TransactionSource,
    {
      maxTransactions,
      executionBudgetMs,
      lingerMs,
    }: Pick<BlockAttributes, 'maxTransactions' | 'executionBudgetMs' | 'lingerMs'>,
    onInvalid: (tx: TypedTransaction, reason: string) => 'skip-sender',
  ): Promise<ExecutedBlock> {
    const state = this.state
    if (!equal(await state.getStateRoot(), parent.header.stateRoot)) await state.setStateRoot(parent.header.stateRoot)
    // Transactions run against a header shell: runTx reads only the environment (number, time,
    // coinbase, base fee, gas limit) from it, so the block is created once, not once per tx.
    const shell = createBlock({ header: headerData }, { common: this.common, freeze: false })
    const gasLimit = shell.header.gasLimit
    const baseFee = shell.header.baseFeePerGas ?? 0n
    const transactions: TypedTransaction[] = []
    const results: RunTxResult[] = []
    const receipts: ExecutedReceipt[] = []
    const senders: Uint8Array[] = []
    let gasUsed = 0n

    // One outer checkpoint: the state manager flushes its caches into the trie once per block
    // (at commit) instead of once per transaction.
    await state.checkpoint()
    try {
      await beginBlock(this.vm, this.blockHashes, parent, shell)
      const turns = this.turns
      const deadline =
        executionBudgetMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + executionBudgetMs
      for (;;) {
        if (maxTransactions !== undefined && transactions.length >= maxTransactions) break
        // A turn may run anything (admissions among it); the source changes only when refreshed.
        if (turns?.due()) {
          await turns.take()
          source.refresh?.()
        }
        // Run out: what arrived during the last transactions' awaits may still join.
        let tx = source.peek() ?? (source.refresh?.() ? source.peek() : undefined)
        if (tx === undefined && lingerMs !== undefined && source.arrival !== undefined) {
          // Arrivals come in bursts (the RPC, sender recovery in batches): a pause shorter than
          // `lingerMs` does not end a block that has budget left.
          const until = Math.min(performance.now() + lingerMs, deadline)
          while (tx === undefined) {
            const left = until - performance.now()
            if (left <= 0 || !(await source.arrival(left))) break
            if (source.refresh?.()) tx = source.peek()
          }
        }
        if (tx === undefined) break
        // Past its budget a block seals with what it has (at least one transaction, so it always progresses).
        if (executionBudgetMs !== undefined && transactions.length > 0 && performance.now() >= deadline) break
        if (tx.gasLimit > gasLimit - gasUsed) {
          // Not invalid, only too big for what is left of this block: the sender waits for the next
          // block (a builder must not drop it from the pool). Below one transfer's gas the block is full.
          source.pop()
          if (gasLimit - gasUsed < TX_GAS) break
          continue
        }
        let result: RunTxResult
        try {
          result = await runTx(this.vm, { tx, block: shell, blockGasUsed: gasUsed, skipHardForkValidation: true })
        } catch (error) {
          onInvalid(tx, (error as Error).message)
          source.pop()
          continue
        }
        source.shift()
        // ethereumjs keeps the interpreter's whole run state in the result (8 KB of EVM memory, the
        // stack, the interpreter): nothing here reads it, and the block would hold it per transaction.
        result.execResult.runState = undefined
        gasUsed += result.totalGasSpent
        transactions.push(tx)
        results.push(result)
        senders.push(tx.getSenderAddress().bytes)
        receipts.push({
          status: result.execResult.exceptionError === undefined ? 1 : 0,
          cumulativeGasUsed: gasUsed,
          gasUsed: result.totalGasSpent,
          effectiveGasPrice: effectiveGasPrice(tx, baseFee),
          contractAddress: result.createdAddress?.bytes,
          logs: result.execResult.logs ?? [],
        })
      }
      await state.commit()
    } catch (error) {
      await state.revert()
      throw error
    }

    const header = createBlockHeader(
      {
        ...headerData,
        ...(await executionHeaderFields(transactions, results, await state.getStateRoot(), this.keccak256, this.turns)),
        gasUsed,
      },
      { common: this.common },
    )
    // Not createBlock: it rebuilds every transaction from its fields (a Common copy each, and the
    // recovered sender is lost); the executed objects are exactly the block's transactions.
    const block = new Block(header, transactions, [], [], { common: this.common })
    return { block, receipts, senders, results }
  }
}

/**
 * The header fields a block's execution decides besides gas used: the state, transactions and
 * receipts roots and the logs bloom, from the executed transactions and their results in order.
 * With `turns`, a large block gives the event loop turns while its tries are hashed.
 */
export async function executionHeaderFields(
  transactions: readonly TypedTransaction[],
  results: readonly RunTxResult[],
  stateRoot: Uint8Array,
  keccak256: (data: Uint8Array) => Uint8Array,
  turns?: EventLoopTurns,
): Promise<Pick<HeaderData, 'stateRoot' | 'transactionsTrie' | 'receiptTrie' | 'logsBloom'>> {
  const logsBloom = new Uint8Array(256)
  for (const result of results) {
    const bits = result.bloom.bitvector
    for (let i = 0; i < 256; i++) logsBloom[i]! |= bits[i]!
  }
  const encodedReceipts: Uint8Array[] = []
  for (const [i, result] of results.entries()) {
    if (turns?.due()) await turns.take()
    encodedReceipts.push(encodeReceiptRlp(result.receipt, transactions[i]!.type))
  }
  return {
    stateRoot,
    transactionsTrie: await orderedTrieRoot(
      transactions.map((tx) => tx.serialize()),
      keccak256,
      turns,
    ),
    receiptTrie: await orderedTrieRoot(encodedReceipts, keccak256, turns),
    logsBloom,
  }
}

/**
 * What every block does before its first transaction, on a VM holding its parent's state: BLOCKHASH
 * follows the block's own ancestry (canonical or not), then the anchor system call runs. Building,
 * importing and replaying a block for a trace all start here, so a replay sees the state its
 * transactions executed on. Returns the function that gives the VM back its previous BLOCKHASH
 * source (for a VM that other work shares); a failed anchor call has already given it back.
 */
export async function beginBlock(
  vm: VM,
  blockHashes: BlockHashSource,
  parent: Block,
  block: Block,
): Promise<() => void> {
  const target = vm as { blockchain: unknown }
  const evm = vm.evm as unknown as { blockchain: unknown }
  const previous = { vm: target.blockchain, evm: evm.blockchain }
  const restore = () => {
    target.blockchain = previous.vm
    evm.blockchain = previous.evm
  }
  const blockchain = blockchainFor(blockHashes, parent)
  target.blockchain = blockchain
  evm.blockchain = blockchain
  try {
    await storeParentHash(vm, block)
    await runAnchor(vm, block)
  } catch (error) {
    restore()
    throw error
  }
  return restore
}

/**
 * EIP-2935's system call (Prague): SYSTEM_SENDER sends the parent hash to the history contract,
 * which stores it in its ring buffer. As in geth, its result is not checked: on a chain whose
 * genesis has no history contract the call does nothing. Every block runs it first, simulated ones too.
 */
export async function storeParentHash(vm: VM, block: Block): Promise<void> {
  if (!vm.common.isActivatedEIP(2935)) return
  await systemCall(vm, block, HISTORY_STORAGE, block.header.parentHash, HISTORY_STORAGE_GAS_LIMIT)
}

/**
 * A call from SYSTEM_SENDER that is not a transaction: no nonce, no fee, no receipt; the system
 * account is left as it was.
 */
async function systemCall(vm: VM, block: Block, to: Address, data: Uint8Array, gasLimit: bigint) {
  const state = vm.stateManager
  const systemAccount = await state.getAccount(SYSTEM)
  const result = await vm.evm.runCall({ caller: SYSTEM, to, data, gasLimit, block, skipBalance: true })
  if (systemAccount === undefined) await state.deleteAccount(SYSTEM)
  else await state.putAccount(SYSTEM, systemAccount)
  return result
}

/**
 * The anchor system call (docs/protocol.md): SYSTEM_SENDER calls the Anchor predeploy with the
 * header's anchor fields before any transaction. Like EIP-4788's call it is not a transaction:
 * no nonce, no fee, no receipt; the system account is left as it was. It failing makes the block
 * invalid. A chain whose genesis has no Anchor code (a plain --dev chain) runs it as a no-op.
 */
async function runAnchor(vm: VM, block: Block): Promise<void> {
  const { header } = block
  const anchor = anchorOf(header)
  if (anchor === undefined) {
    throw new BlockExecutionError(
      'BLOCK_WITHOUT_ANCHOR',
      `block ${header.number} carries no anchor: extraData must be the 8-byte L1 block number`,
    )
  }
  const data = concatBytes(
    ANCHOR_SELECTOR,
    setLengthLeft(bigIntToBytes(anchor.number), 32),
    anchor.hash,
    anchor.stateRoot,
    header.parentHash,
  )
  const result = await systemCall(vm, block, ANCHOR, data, ANCHOR_GAS_LIMIT)
  if (result.execResult.exceptionError !== undefined) {
    throw new BlockExecutionError(
      'ANCHOR_FAILED',
      `block ${header.number}: the anchor call failed (${result.execResult.exceptionError.error}); the block is invalid`,
    )
  }
}

export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx) {
    const tip =
      tx.maxPriorityFeePerGas < tx.maxFeePerGas - baseFee ? tx.maxPriorityFeePerGas : tx.maxFeePerGas - baseFee
    return baseFee + tip
  }
  return (tx as { gasPrice: bigint }).gasPrice
}

export function arraySource(transactions: readonly TypedTransaction[]): TransactionSource {
  let index = 0
  return {
    peek: () => transactions[index],
    shift: () => {
      index++
    },
    pop: () => {
      index++
    },
  }
}

/**
 * The minimal blockchain ethereumjs' BLOCKHASH opcode asks for. With `parent`, lookups follow that
 * block's ancestry: the canonical index when the parent is canonical, parent links otherwise.
 */
export function blockchainFor(source: BlockHashSource, parent?: Block): EVMMockBlockchainInterface {
  const hashAt = async (number: bigint): Promise<Uint8Array | undefined> => {
    if (parent === undefined) return source.getCanonicalHash(number)
    if (number === parent.header.number) return parent.hash()
    const canonicalParent = await source.getCanonicalHash(parent.header.number)
    if (canonicalParent !== undefined && equal(canonicalParent, parent.hash())) return source.getCanonicalHash(number)
    let hash: Uint8Array | undefined = parent.header.parentHash
    for (let n = parent.header.number - 1n; n > number && hash !== undefined; n--)
      hash = await source.getParentHash(hash)
    return hash
  }
  const blockchain: EVMMockBlockchainInterface = {
    async getBlock(number: number) {
      const hash = (await hashAt(BigInt(number))) ?? ZERO32
      return { hash: () => hash }
    },
    async putBlock() {},
    shallowCopy: () => blockchain,
  }
  return blockchain
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
