import { type EVMInterface, EVMError, type EVMResult, type InterpreterStep } from '@ethereumjs/evm'
import {
  Address,
  type EOACode7702AuthorizationListBytesItem,
  KECCAK256_NULL,
  bigIntToUnpaddedBytes,
  bytesToBigInt,
  createAddressFromBigInt,
  eoaCode7702RecoverAuthority,
  equalsBytes,
  generateAddress,
  generateAddress2,
  setLengthLeft,
} from '@ethereumjs/util'
import { TracerError } from './errors.ts'
import { eventsToTrace } from './evm-events.ts'
import { bytesHex, quantityHex, wordHex } from './hex.ts'
import { readMemory } from './memory.ts'
import type { EvmTracer, TraceContext } from './types.ts'

/** geth's prestateTracer `tracerConfig`. */
export interface PrestateTracerConfig {
  /** Return `{ post, pre }`: only what the transaction changed, before and after. */
  diffMode?: boolean
  /** Leave contract code out (codeHash stays). */
  disableCode?: boolean
  /** Leave storage out. */
  disableStorage?: boolean
  /** Keep accounts that were empty before the transaction (not with diffMode). */
  includeEmpty?: boolean
}

/** One account in geth's prestateTracer JSON, fields in geth's order; zero / empty fields are omitted. */
export interface PrestateAccount {
  balance?: string
  code?: string
  codeHash?: string
  nonce?: number
  storage?: Record<string, string>
}

export type PrestateResult =
  | Record<string, PrestateAccount>
  | { post: Record<string, PrestateAccount>; pre: Record<string, PrestateAccount> }

interface AccountState {
  address: Address
  balance: bigint
  nonce: bigint
  /** Undefined when the account has no code (or disableCode). */
  code: Uint8Array | undefined
  /** Undefined when the account has no code, as geth leaves the empty code hash out. */
  codeHash: Uint8Array | undefined
  /** Slot word hex → value word hex; undefined with disableStorage. */
  storage: Map<string, string> | undefined
  /** Empty before the transaction (no nonce, balance or code): dropped from the result unless includeEmpty. */
  empty: boolean
}

interface PostState {
  balance?: bigint
  code?: Uint8Array
  codeHash?: Uint8Array
  nonce?: bigint
  storage: Map<string, string>
}

/** What one opcode step read, applied once the opcode is known to have run as far as geth's OnOpcode hook. */
interface StagedReads {
  accounts: AccountState[]
  slots: { address: string; slot: string; value: string }[]
  created?: string
  deleted?: string
}

type StateReader = EVMInterface['stateManager']

/** The part of the VM's `beforeTx` transaction the tracer reads. */
interface TxStart {
  getSenderAddress(): Address
  to?: Address
  authorizationList?: EOACode7702AuthorizationListBytesItem[]
}

const OP = {
  BALANCE: 0x31,
  EXTCODESIZE: 0x3b,
  EXTCODECOPY: 0x3c,
  EXTCODEHASH: 0x3f,
  SLOAD: 0x54,
  SSTORE: 0x55,
  CREATE: 0xf0,
  CALL: 0xf1,
  CALLCODE: 0xf2,
  DELEGATECALL: 0xf4,
  CREATE2: 0xf5,
  STATICCALL: 0xfa,
  SELFDESTRUCT: 0xff,
} as const
const ACCOUNT_ARG_OPS = new Set<number>([OP.BALANCE, OP.EXTCODESIZE, OP.EXTCODECOPY, OP.EXTCODEHASH, OP.SELFDESTRUCT])
const CALL_OPS = new Set<number>([OP.CALL, OP.CALLCODE, OP.DELEGATECALL, OP.STATICCALL])
const WATCHED_OPS = new Set<number>([...ACCOUNT_ARG_OPS, ...CALL_OPS, OP.SLOAD, OP.SSTORE, OP.CREATE, OP.CREATE2])
const DELEGATION_PREFIX = [0xef, 0x01, 0x00]
const ZERO_HASH = new Uint8Array(32)
// geth's GetMemoryCopyPadded refuses to pad a CREATE2 init code read by more than this, and skips the lookup.
const MEMORY_PAD_LIMIT = 1024n * 1024n
const ADDRESS_MASK = (1n << 160n) - 1n

/**
 * geth's `prestateTracer`: the state of every account (and storage slot) the transaction touches,
 * as it was before the transaction; with `diffMode` only what changed, before (`pre`) and after (`post`).
 * The transaction's sender, recipient, coinbase and EIP-7702 authorities are read at `beforeTx`, before
 * gas is bought; the rest when an opcode first touches them (geth's OnOpcode cases), through an async
 * `step` listener that ethereumjs awaits. The post-state is read at `afterTx`, after fees and refunds.
 */
export function createPrestateTracer(config: PrestateTracerConfig = {}): EvmTracer<PrestateResult> {
  if (config.diffMode === true && config.includeEmpty === true) {
    throw new TracerError('TRACER_INVALID_CONFIG', 'cannot use diffMode with includeEmpty')
  }
  const diffMode = config.diffMode === true
  const disableCode = config.disableCode === true
  const disableStorage = config.disableStorage === true

  const pre = new Map<string, AccountState>()
  const post = new Map<string, PostState>()
  const created = new Set<string>()
  const deleted = new Set<string>()
  let evm: EVMInterface | undefined
  let state: StateReader | undefined
  let coinbase: Address | undefined
  let staged: StagedReads | undefined
  let started = false
  let finished = false
  let failure: unknown
  let used = false
  let attached: (() => void) | undefined

  async function readAccount(address: Address): Promise<AccountState> {
    const reader = state as StateReader
    const account = await reader.getAccount(address)
    const code = account === undefined ? new Uint8Array(0) : await reader.getCode(address)
    const hasCode = account !== undefined && !equalsBytes(account.codeHash, KECCAK256_NULL)
    const balance = account?.balance ?? 0n
    const nonce = account?.nonce ?? 0n
    return {
      address,
      balance,
      nonce,
      // The emptiness check counts code even when disableCode leaves it out.
      code: code.length > 0 && !disableCode ? code : undefined,
      codeHash: hasCode ? account.codeHash : undefined,
      storage: disableStorage ? undefined : new Map(),
      empty: nonce === 0n && balance === 0n && code.length === 0,
    }
  }

  /** geth's lookupAccount: the first read of an account wins. */
  async function lookupAccount(address: Address, into: AccountState[]): Promise<void> {
    const key = address.toString()
    if (pre.has(key) || into.some((account) => account.address.equals(address))) return
    into.push(await readAccount(address))
  }

  function record(account: AccountState): void {
    const key = account.address.toString()
    if (!pre.has(key)) pre.set(key, account)
  }

  async function delegationTarget(address: Address): Promise<Address | undefined> {
    if (!(evm as EVMInterface).common.isActivatedEIP(7702)) return undefined
    const code = await (state as StateReader).getCode(address)
    if (code.length !== 23 || DELEGATION_PREFIX.some((byte, i) => code[i] !== byte)) return undefined
    return createAddressFromBigInt(bytesToBigInt(code.subarray(3)))
  }

  // geth's OnTxStart: before the sender is debited and its nonce bumped.
  async function onTxStart(tx: TxStart): Promise<void> {
    const reader = state as StateReader
    const from = tx.getSenderAddress()
    const accounts: AccountState[] = []
    let to = tx.to
    if (to === undefined) {
      const nonce = (await reader.getAccount(from))?.nonce ?? 0n
      to = createAddressFromBytes(generateAddress(from.bytes, bigIntToUnpaddedBytes(nonce)))
      created.add(to.toString())
    } else {
      const target = await delegationTarget(to)
      if (target !== undefined) await lookupAccount(target, accounts)
    }
    await lookupAccount(from, accounts)
    await lookupAccount(to, accounts)
    await lookupAccount(coinbase as Address, accounts)
    for (const authority of authorities(tx)) await lookupAccount(authority, accounts)
    for (const account of accounts) record(account)
    started = true
  }

  /** geth's OnOpcode cases; reads happen now, before the opcode changes anything. */
  async function readForStep(step: InterpreterStep): Promise<StagedReads> {
    const stack = step.stack
    const n = stack.length
    const opcode = step.opcode.code
    const caller = step.address
    const reads: StagedReads = { accounts: [], slots: [] }
    if ((opcode === OP.SLOAD || opcode === OP.SSTORE) && n >= 1) {
      await readSlot(caller, stack[n - 1] as bigint, reads)
    } else if (ACCOUNT_ARG_OPS.has(opcode) && n >= 1) {
      await lookupAccount(addressOf(stack[n - 1] as bigint), reads.accounts)
      if (opcode === OP.SELFDESTRUCT && selfdestructDeletes(caller)) reads.deleted = caller.toString()
    } else if (CALL_OPS.has(opcode) && n >= 5) {
      const callee = addressOf(stack[n - 2] as bigint)
      await lookupAccount(callee, reads.accounts)
      const target = await delegationTarget(callee)
      if (target !== undefined) await lookupAccount(target, reads.accounts)
    } else if (opcode === OP.CREATE) {
      const nonce = (await (state as StateReader).getAccount(caller))?.nonce ?? 0n
      await stageCreated(createAddressFromBytes(generateAddress(caller.bytes, bigIntToUnpaddedBytes(nonce))), reads)
    } else if (opcode === OP.CREATE2 && n >= 4) {
      const initCode = create2InitCode(step)
      if (initCode !== undefined) {
        const salt = setLengthLeft(bigIntToUnpaddedBytes(stack[n - 4] as bigint), 32)
        await stageCreated(createAddressFromBytes(generateAddress2(caller.bytes, salt, initCode)), reads)
      }
    }
    return reads
  }

  async function stageCreated(address: Address, reads: StagedReads): Promise<void> {
    await lookupAccount(address, reads.accounts)
    reads.created = address.toString()
  }

  // EIP-6780: from Cancun SELFDESTRUCT only deletes an account created in the same transaction.
  function selfdestructDeletes(address: Address): boolean {
    return !(evm as EVMInterface).common.isActivatedEIP(6780) || created.has(address.toString())
  }

  /** geth's lookupStorage; the contract's account is normally known already (it was called or created). */
  async function readSlot(address: Address, slot: bigint, reads: StagedReads): Promise<void> {
    if (disableStorage) return
    const key = address.toString()
    const slotKey = wordHex(slot)
    if (pre.get(key)?.storage?.has(slotKey) === true) return
    await lookupAccount(address, reads.accounts)
    const value = await (state as StateReader).getStorage(address, setLengthLeft(bigIntToUnpaddedBytes(slot), 32))
    reads.slots.push({ address: key, slot: slotKey, value: wordHex(bytesToBigInt(value)) })
  }

  function commitStaged(): void {
    const reads = staged
    staged = undefined
    if (reads === undefined) return
    for (const account of reads.accounts) record(account)
    for (const { address, slot, value } of reads.slots) {
      const storage = pre.get(address)?.storage
      if (storage !== undefined && !storage.has(slot)) storage.set(slot, value)
    }
    if (reads.created !== undefined) created.add(reads.created)
    if (reads.deleted !== undefined) deleted.add(reads.deleted)
  }

  // geth's OnTxEnd: compare every recorded account with the final state.
  async function onTxEnd(): Promise<void> {
    commitStaged()
    if (diffMode) await computeDiff()
    finished = true
  }

  async function computeDiff(): Promise<void> {
    for (const [key, before] of pre) {
      // A deleted account keeps its pre-state and has no post-state.
      if (deleted.has(key)) continue
      const after = await postStateOf(before)
      if (after === undefined) pre.delete(key)
      else post.set(key, after)
    }
  }

  /** geth's processDiffState for one account; prunes unchanged slots from `before`. Undefined if nothing changed. */
  async function postStateOf(before: AccountState): Promise<PostState | undefined> {
    const reader = state as StateReader
    const account = await reader.getAccount(before.address)
    // After the tx geth reads through a state whose empty touched accounts are deleted: no object, zero code hash.
    const exists = account !== undefined && !account.isEmpty()
    const after: PostState = { storage: new Map() }
    let modified = false
    const balance = exists ? account.balance : 0n
    if (balance !== before.balance) {
      modified = true
      after.balance = balance
    }
    const nonce = exists ? account.nonce : 0n
    if (nonce !== before.nonce) {
      modified = true
      after.nonce = nonce
    }
    const codeHash = exists ? account.codeHash : ZERO_HASH
    if (!equalsBytes(codeHash, before.codeHash ?? KECCAK256_NULL)) {
      modified = true
      after.codeHash = codeHash
    }
    if (!disableCode) {
      const code = exists ? await reader.getCode(before.address) : new Uint8Array(0)
      if (!equalsBytes(code, before.code ?? new Uint8Array(0))) {
        modified = true
        after.code = code
      }
    }
    if (before.storage !== undefined && (await diffStorage(before, exists, after.storage))) modified = true
    return modified ? after : undefined
  }

  async function diffStorage(before: AccountState, exists: boolean, into: Map<string, string>): Promise<boolean> {
    const storage = before.storage as Map<string, string>
    const zero = wordHex(0n)
    let modified = false
    for (const [slot, value] of storage) {
      // Slots empty before the tx are never listed in `pre`.
      if (value === zero) storage.delete(slot)
      const now = exists
        ? wordHex(bytesToBigInt(await (state as StateReader).getStorage(before.address, hexWord(slot))))
        : zero
      if (now === value) {
        storage.delete(slot)
        continue
      }
      modified = true
      if (now !== zero) into.set(slot, now)
    }
    return modified
  }

  /** Runs an async read for an awaited ethereumjs event; failures surface from result(), never hang the EVM. */
  function settle(work: Promise<void>, resolve: (() => void) | undefined): void {
    work.then(
      () => resolve?.(),
      (error: unknown) => {
        failure ??= error
        resolve?.()
      },
    )
  }

  // Listeners take `resolve` as second argument: ethereumjs then awaits them.
  const onBeforeTx = (tx: TxStart, resolve?: () => void): void => settle(onTxStart(tx), resolve)
  const onAfterTx = (_event: unknown, resolve?: () => void): void => settle(onTxEnd(), resolve)
  const onStep = (step: InterpreterStep, resolve?: () => void): void => {
    commitStaged()
    if (!WATCHED_OPS.has(step.opcode.code)) {
      resolve?.()
      return
    }
    settle(
      readForStep(step).then((reads) => {
        staged = reads
      }),
      resolve,
    )
  }
  // A sub-call started: its opcode ran.
  const onBeforeMessage = (): void => commitStaged()
  const onAfterMessage = (result: EVMResult): void => {
    // geth calls OnOpcode only once the opcode's stack and gas checks pass.
    const error = result.execResult.exceptionError?.error
    if (error === EVMError.errorMessages.OUT_OF_GAS || error === EVMError.errorMessages.STACK_UNDERFLOW) {
      staged = undefined
    }
    commitStaged()
  }

  return {
    attach(target: EVMInterface, context: TraceContext = {}): void {
      const { vm } = context
      if (vm === undefined || context.coinbase === undefined) {
        throw new TracerError(
          'TRACER_NOT_SUPPORTED',
          'prestateTracer needs the VM running the transaction and the block coinbase in its trace context',
        )
      }
      const events = eventsToTrace(target, { attached: attached !== undefined, used })
      used = true
      evm = target
      state = target.stateManager
      coinbase = context.coinbase
      vm.events.on('beforeTx', onBeforeTx)
      vm.events.on('afterTx', onAfterTx)
      events.on('step', onStep)
      events.on('beforeMessage', onBeforeMessage)
      events.on('afterMessage', onAfterMessage)
      attached = () => {
        vm.events.off('beforeTx', onBeforeTx)
        vm.events.off('afterTx', onAfterTx)
        events.off('step', onStep)
        events.off('beforeMessage', onBeforeMessage)
        events.off('afterMessage', onAfterMessage)
      }
    },

    detach(): void {
      attached?.()
      attached = undefined
    },

    result(): PrestateResult {
      if (failure !== undefined) throw failure
      if (!started || !finished) {
        throw new TracerError(
          'TRACER_NOT_ATTACHED',
          'the prestate tracer saw no complete transaction; attach it to the VM before running the transaction',
        )
      }
      const accounts = preJson(pre, config.includeEmpty === true)
      if (!diffMode) return accounts
      return { post: sortedObject(post, postJson), pre: accounts }
    },
  }
}

function preJson(pre: Map<string, AccountState>, includeEmpty: boolean): Record<string, PrestateAccount> {
  const kept = new Map([...pre].filter(([, account]) => includeEmpty || !account.empty))
  return sortedObject(kept, (account) =>
    accountJson(account.balance, account.code, account.codeHash, account.nonce, account.storage),
  )
}

function postJson(account: PostState): PrestateAccount {
  return accountJson(account.balance, account.code, account.codeHash, account.nonce, account.storage)
}

function accountJson(
  balance: bigint | undefined,
  code: Uint8Array | undefined,
  codeHash: Uint8Array | undefined,
  nonce: bigint | undefined,
  storage: Map<string, string> | undefined,
): PrestateAccount {
  const json: PrestateAccount = {}
  if (balance !== undefined) json.balance = quantityHex(balance)
  if (code !== undefined) json.code = bytesHex(code)
  if (codeHash !== undefined) json.codeHash = bytesHex(codeHash)
  if (nonce !== undefined && nonce !== 0n) json.nonce = Number(nonce)
  if (storage !== undefined && storage.size > 0) json.storage = sortedObject(storage, (value) => value)
  return json
}

/** Go's encoding/json writes map keys sorted. */
function sortedObject<V, J>(map: Map<string, V>, toJson: (value: V) => J): Record<string, J> {
  const out: Record<string, J> = {}
  for (const key of [...map.keys()].sort()) out[key] = toJson(map.get(key) as V)
  return out
}

/** Authorities of an EIP-7702 list, looked up before the list is applied; unrecoverable ones are skipped as geth does. */
function authorities(tx: TxStart): Address[] {
  const out: Address[] = []
  for (const item of tx.authorizationList ?? []) {
    try {
      out.push(eoaCode7702RecoverAuthority(item))
    } catch {
      // geth: `if err != nil { continue }`
    }
  }
  return out
}

/** CREATE2's init code as geth reads it before memory expansion; undefined where geth gives up on padding. */
function create2InitCode(step: InterpreterStep): Uint8Array | undefined {
  const n = step.stack.length
  const offset = step.stack[n - 2] as bigint
  const size = step.stack[n - 3] as bigint
  if (offset + size - BigInt(step.memory.length) > MEMORY_PAD_LIMIT) return undefined
  return readMemory(step.memory, offset, size)
}

function addressOf(word: bigint): Address {
  return createAddressFromBigInt(word & ADDRESS_MASK)
}

function createAddressFromBytes(bytes: Uint8Array): Address {
  return new Address(bytes)
}

function hexWord(word: string): Uint8Array {
  return Uint8Array.from(Buffer.from(word.slice(2), 'hex'))
}
