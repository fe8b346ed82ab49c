import { type Block, type HeaderData, createBlock } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import { type TypedTransaction, createTx, getCalldataFloorGas } from '@ethereumjs/tx'
import {
  Account,
  Address,
  type EOACode7702AuthorizationListItem,
  KECCAK256_NULL,
  KECCAK256_RLP,
  bigIntToUnpaddedBytes,
  bytesToHex,
  createZeroAddress,
  eoaCode7702RecoverAuthority,
  equalsBytes,
  generateAddress,
  toChecksumAddress,
} from '@ethereumjs/util'
import type { EVM, Message } from '@ethereumjs/evm'
import { type RunTxResult, type VM, createVM, runTx } from '@ethereumjs/vm'
import type { BlockHashSource } from '@cairn/executor'
import { blockchainFor, wasmKeccak256 as keccak256 } from '@cairn/executor'
import {
  type AccountOverride,
  type Authorization,
  type BlockOverrides,
  type CallRequest,
  RpcError,
  RpcErrorCode,
  executionReverted,
  serverError,
} from '@cairn/rpc'
import type { StateDB } from '@cairn/state'
import { REVERT_ERROR, gethErrorMessage, precompileError } from '@cairn/tracer'
import { AccessListCollector, type AccessListJson, sameAccessList } from './access-list.ts'
import { CallBudget, DEFAULT_EVM_TIMEOUT_MS } from './call-budget.ts'

export interface CallEnvironment {
  /** The block whose post-state the call runs on and, unless `pending`, whose header it sees. */
  block: Block
  /** The `pending` tag: the call sees the block after `block`, like geth's pending block. */
  pending?: boolean
  overrides?: AccountOverride[]
  blockOverrides?: BlockOverrides
}

export interface CallOutcome {
  result: RunTxResult
  tx: TypedTransaction
}

const DELEGATION_PREFIX = Uint8Array.of(0xef, 0x01, 0x00)
/** VMs in the call pool. */
export const VM_POOL_SIZE = 4
/** Prague's precompiles are 0x01 to 0x11 (the BLS12-381 ones end there). */
const LAST_PRECOMPILE = 0x11
/** Lists only grow from round to round; a bound keeps a pathological call from looping long. */
const MAX_ACCESS_LIST_ROUNDS = 16

/**
 * What geth's CallDefaults (and setDefaults, for a transaction to sign) refuse in a call's request:
 * both fee styles at once, and a chain id that is not the node's. Every transaction a call runs as
 * is built after it ({@link CallRunner.buildTransaction}).
 */
export function checkCallRequest(request: CallRequest, chainId: bigint): void {
  if (
    request.gasPrice !== undefined &&
    (request.maxFeePerGas !== undefined || request.maxPriorityFeePerGas !== undefined)
  )
    throw serverError('both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified')
  if (request.chainId !== undefined && request.chainId !== chainId)
    throw serverError(`chainId does not match node's (have=${request.chainId}, want=${chainId})`)
}

export interface AccessListResult {
  accessList: AccessListJson[]
  gasUsed: bigint
  error?: string
}

/**
 * Runs transactions that are never mined (eth_call, eth_estimateGas, eth_createAccessList,
 * debug_traceCall) on a throw-away view of a block's state, the way geth's DoCall does: in that
 * block's own context, gas defaults to the cap, fees default to zero with a zero base fee, nonce is
 * not checked.
 */
export class CallRunner {
  constructor(
    private readonly common: Common,
    private readonly state: StateDB,
    private readonly blockHashes: BlockHashSource,
    /** The most gas a call may use (`--rpc.gascap`). */
    readonly gasCap: bigint,
    /** How long one execution may run (`--rpc.evmtimeout`), in ms; 0 for no limit. */
    private readonly evmTimeoutMs = DEFAULT_EVM_TIMEOUT_MS,
  ) {}

  private readonly budgets = new WeakMap<VM, CallBudget>()
  private readonly idle: VM[] = []
  /** Calls waiting for a VM, first come first served. */
  private readonly waiting: { resolve: (vm: VM) => void; reject: (error: unknown) => void }[] = []
  /** The pool's slots taken: VMs in use, idle or being created, at most {@link VM_POOL_SIZE}. */
  private created = 0

  /**
   * Runs `work` on a VM whose state is `block`'s post-state with `overrides` applied. VMs are
   * pooled (building one costs more than most calls): each call points a VM at its root (keeping
   * warm caches when the root is unchanged) and everything it does sits in a checkpoint that is
   * reverted afterwards, so nothing reaches the node store. Beyond the pool size calls queue: on
   * one thread more VMs add no throughput, only garbage. Work that flushes the state inside the
   * checkpoint (a state root, as eth_simulateV1 computes) passes `discardCaches`: ethereumjs' caches
   * forget what a flush wrote over, so their revert cannot restore it, and they are emptied instead.
   */
  async withVm<T>(
    env: CallEnvironment,
    work: (vm: VM) => Promise<T>,
    options: { discardCaches?: boolean } = {},
  ): Promise<T> {
    const vm = await this.acquire()
    const stateManager = vm.stateManager as MerkleStateManager
    const budget = this.budgets.get(vm)!
    budget.start()
    try {
      if (!equalsBytes(await stateManager.getStateRoot(), env.block.header.stateRoot)) {
        await stateManager.setStateRoot(env.block.header.stateRoot)
      }
      await stateManager.checkpoint()
      try {
        for (const override of env.overrides ?? []) await applyOverride(stateManager, override)
        return await work(vm)
      } finally {
        await stateManager.revert()
        if (options.discardCaches === true) stateManager.clearCaches()
      }
    } finally {
      budget.stop()
      // A call cut off mid-execution leaves its VM's journal open: the VM is dropped, not pooled.
      if (budget.expired) this.freeSlot()
      else this.release(vm)
    }
  }

  private acquire(): Promise<VM> {
    const idle = this.idle.pop()
    if (idle !== undefined) return Promise.resolve(idle)
    if (this.created < VM_POOL_SIZE) return this.fillSlot()
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  /**
   * Creates a VM in a free slot. A creation that fails gives the slot back (the pool keeps its size)
   * and its call gets {@link vmUnavailable}; the next call, or the next one waiting, creates anew.
   */
  private async fillSlot(): Promise<VM> {
    this.created++
    try {
      return await this.createVm()
    } catch (error) {
      this.freeSlot()
      throw vmUnavailable(error)
    }
  }

  /** A slot whose VM is gone (cut off by the timeout, or never made): the first call waiting fills it. */
  private freeSlot(): void {
    this.created--
    const next = this.waiting.shift()
    if (next !== undefined) this.fillSlot().then(next.resolve, next.reject)
  }

  private release(vm: VM): void {
    const next = this.waiting.shift()
    if (next !== undefined) next.resolve(vm)
    else this.idle.push(vm)
  }

  private async createVm(): Promise<VM> {
    const budget = new CallBudget(this.evmTimeoutMs)
    // The EVM subscribes to its Common's events: a private copy keeps the VM's lifetime its own.
    const vm = await createVM({
      common: this.common.copy(),
      stateManager: this.state.stateAt(KECCAK256_RLP),
      blockchain: blockchainFor(this.blockHashes),
      evmOpts: { customOpcodes: budget.customOpcodes() },
    })
    budget.watch(vm.evm as EVM)
    this.budgets.set(vm, budget)
    return vm
  }

  /**
   * The block a call executes in, as geth builds it: the requested block's own header (its number,
   * timestamp, coinbase, mixHash as PREVRANDAO, base fee and gas limit; BLOCKHASH of its own number
   * is 0), for `pending` the block after it, then the caller's block overrides. A call that pays no
   * gas price sees a zero base fee, as geth lowers it, so unpriced calls run on a chain with fees.
   */
  callBlock(env: CallEnvironment, request: CallRequest): Block {
    const header = env.pending === true ? this.nextHeader(env.block) : ownHeader(env.block)
    const overrides = env.blockOverrides ?? {}
    applyBlockOverrides(header, overrides)
    if (paysNothing(request)) header.baseFeePerGas = 0n
    return callBlockOf(this.common, header, overrides.blobBaseFee)
  }

  /** geth's pending block: the child of `parent`, stamped now like Cairn's sequencer stamps it. */
  private nextHeader(parent: Block): HeaderData {
    const now = BigInt(Math.floor(Date.now() / 1000))
    return {
      parentHash: parent.hash(),
      number: parent.header.number + 1n,
      timestamp: now > parent.header.timestamp ? now : parent.header.timestamp + 1n,
      gasLimit: parent.header.gasLimit,
      coinbase: parent.header.coinbase,
      baseFeePerGas: parent.header.calcNextBaseFee(),
      excessBlobGas: parent.header.calcNextExcessBlobGas(this.common),
      blobGasUsed: 0n,
    }
  }

  /**
   * The transaction `request` runs as; refuses what geth's CallDefaults refuses ({@link checkCallRequest}),
   * then, as core's preCheck does before the rest of {@link preExecutionRefusal}, a nonce that is not
   * `stateNonce` (given only where nonces are checked: eth_simulateV1 with validation), a tip above the
   * fee cap and an init code above EIP-3860's limit.
   */
  buildTransaction(request: CallRequest, gasLimit: bigint, options: { stateNonce?: bigint } = {}): TypedTransaction {
    checkCallRequest(request, this.common.chainId())
    const type =
      request.authorizationList !== undefined
        ? 4
        : request.maxFeePerGas !== undefined || request.maxPriorityFeePerGas !== undefined
          ? 2
          : request.accessList !== undefined
            ? 1
            : request.type !== undefined && request.type <= 4 && request.type !== 3
              ? request.type
              : 0
    const base = {
      nonce: request.nonce ?? 0n,
      gasLimit,
      to: request.to ?? undefined,
      value: request.value ?? 0n,
      data: request.data ?? new Uint8Array(0),
    }
    const accessList = (request.accessList ?? []).map(
      (entry) => [entry.address, entry.storageKeys] as [Uint8Array, Uint8Array[]],
    )
    let data: Record<string, unknown>
    if (type === 0) data = { ...base, type, gasPrice: request.gasPrice ?? 0n }
    else if (type === 1)
      data = { ...base, type, gasPrice: request.gasPrice ?? 0n, accessList, chainId: this.common.chainId() }
    else {
      // geth's call defaults: a missing 1559 fee is zero (so a lone maxFeePerGas pays the base fee
      // and no tip); a legacy gasPrice stands for both.
      const legacy = request.maxFeePerGas === undefined && request.maxPriorityFeePerGas === undefined
      const maxFeePerGas = request.maxFeePerGas ?? request.gasPrice ?? 0n
      const maxPriorityFeePerGas = request.maxPriorityFeePerGas ?? (legacy ? maxFeePerGas : 0n)
      data = { ...base, type, maxFeePerGas, maxPriorityFeePerGas, accessList, chainId: this.common.chainId() }
      if (type === 4) data.authorizationList = (request.authorizationList ?? []).map(authorizationJson)
    }
    // ethereumjs refuses to build a transaction whose tip is above its fee cap; geth refuses to run
    // it, with its figures and before any other check: built with the tip at the cap, refused below.
    const tip = data.maxPriorityFeePerGas as bigint | undefined
    const feeCap = data.maxFeePerGas as bigint | undefined
    const tipAboveCap = tip !== undefined && feeCap !== undefined && tip > feeCap
    // Likewise an init code above EIP-3860's limit, which geth checks after the fees.
    const initCodeLimit = this.common.isActivatedEIP(3860) ? this.common.param('maxInitCodeSize') : undefined
    const oversized = base.to === undefined && initCodeLimit !== undefined && BigInt(base.data.length) > initCodeLimit
    let tx: TypedTransaction
    try {
      tx = createTx((tipAboveCap ? { ...data, maxPriorityFeePerGas: feeCap } : data) as never, {
        common: this.common,
        freeze: false,
        allowUnlimitedInitCodeSize: oversized,
      })
    } catch (error) {
      // Fields geth refuses too.
      throw toCallError(error)
    }
    const from = request.from === undefined ? createZeroAddress() : new Address(request.from)
    // The call is unsigned: the sender is whoever the request says it is, and its hash is geth's for
    // an unsigned transaction, that of its encoding with a zero signature (what this one serializes to).
    let hash: Uint8Array | undefined
    Object.assign(tx, {
      getSenderAddress: () => from,
      hash: () => {
        hash ??= keccak256(tx.serialize())
        return hash
      },
    })
    if (tipAboveCap) Object.assign(tx, { maxPriorityFeePerGas: tip })
    const wrongNonce = options.stateNonce === undefined ? undefined : nonceMismatch(from, tx.nonce, options.stateNonce)
    if (wrongNonce !== undefined) throw new Refusal(wrongNonce, gasLimit, tx.hash())
    if (tipAboveCap) throw new Refusal(tipAboveFeeCap(from, tip, feeCap), gasLimit, tx.hash())
    if (oversized) {
      throw new Refusal(initCodeTooLarge(base.data.length, initCodeLimit), gasLimit, tx.hash())
    }
    return tx
  }

  /** Runs `request` once with `gasLimit`; throws only for transactions geth would refuse to run. */
  async run(vm: VM, block: Block, request: CallRequest, gasLimit: bigint): Promise<CallOutcome> {
    const tx = this.buildTransaction(request, gasLimit)
    const sender = tx.getSenderAddress()
    const stateManager = vm.stateManager as MerkleStateManager
    await stateManager.checkpoint()
    const hiding = await hideSenderCode(vm, sender)
    try {
      const result = await runTx(vm, {
        tx,
        block,
        skipNonce: true,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
      })
      hiding?.check()
      return { result, tx }
    } catch (error) {
      throw (await preExecutionRefusal(vm, tx, block)) ?? toCallError(error)
    } finally {
      hiding?.stop()
      await stateManager.revert()
    }
  }

  /** eth_call: the return data, or a revert error carrying the revert data. */
  async call(env: CallEnvironment, request: CallRequest): Promise<Uint8Array> {
    return this.withVm(env, async (vm) => {
      const block = this.callBlock(env, request)
      const outcome = await this.run(vm, block, request, this.gasLimitFor(request)).catch((error: unknown) => {
        throw error instanceof Refusal ? serverError(refusalMessage(error, 'eth_call')) : error
      })
      return unwrapCallResult(outcome)
    })
  }

  /**
   * eth_estimateGas: the lowest gas limit at which the call succeeds, by binary search like geth
   * (first trying the gas the unbounded run used, which is usually enough).
   */
  async estimateGas(env: CallEnvironment, request: CallRequest): Promise<bigint> {
    // Before the search reads the fees to cap the gas by the sender's funds.
    checkCallRequest(request, this.common.chainId())
    return this.withVm(env, (vm) => this.searchGas(vm, env, request))
  }

  private async searchGas(vm: VM, env: CallEnvironment, request: CallRequest): Promise<bigint> {
    const block = this.callBlock(env, request)
    // geth ignores a gas limit below the intrinsic 21000 and searches up to the block's limit.
    const ceiling = request.gas !== undefined && request.gas >= 21_000n ? request.gas : block.header.gasLimit
    let hi = ceiling > this.gasCap ? this.gasCap : ceiling
    const sender = request.from === undefined ? createZeroAddress() : new Address(request.from)
    const price = request.gasPrice ?? request.maxFeePerGas ?? 0n
    if (price > 0n) {
      // Only as much gas as the sender can pay for.
      const balance = (await vm.stateManager.getAccount(sender))?.balance ?? 0n
      const value = request.value ?? 0n
      // geth: a value that leaves nothing for gas (including 0 of 0) cannot be paid for.
      if (value >= balance) throw serverError('insufficient funds for transfer')
      const available = balance - value
      const allowance = available / price
      if (allowance < hi) hi = allowance
    }
    // A plain transfer to an account without code needs exactly the intrinsic gas.
    if (
      request.to != null &&
      (request.data === undefined || request.data.length === 0) &&
      request.authorizationList === undefined
    ) {
      const code = await vm.stateManager.getCode(new Address(request.to))
      if (code.length === 0) {
        const probe = await this.run(vm, block, request, 21_000n).catch(() => undefined)
        if (probe !== undefined && probe.result.execResult.exceptionError === undefined) return 21_000n
      }
    }
    const first = await this.run(vm, block, request, hi).catch((error: unknown) => {
      if (!(error instanceof Refusal)) throw error
      // Capped below the intrinsic gas (by the sender's funds or the request): geth's wording.
      if (error.reason.startsWith(INTRINSIC_GAS_TOO_LOW)) throw serverError(`gas required exceeds allowance (${hi})`)
      throw serverError(refusalMessage(error, 'eth_estimateGas'))
    })
    if (first.result.execResult.exceptionError !== undefined) {
      // More gas cannot cure anything but a lack of gas: geth reports other failures as they are.
      const failure = callFailure(first)
      if ('message' in failure && failure.message === OUT_OF_GAS)
        throw serverError(`gas required exceeds allowance (${hi})`)
      throw callError(failure)
    }
    const succeeds = async (gas: bigint) => {
      try {
        const { result } = await this.run(vm, block, request, gas)
        return result.execResult.exceptionError === undefined
      } catch {
        return false
      }
    }
    const used = first.result.totalGasSpent + (first.result.gasRefund ?? 0n)
    let lo = first.result.totalGasSpent - 1n
    // Most calls succeed with used * 64/63 (the gas kept back from sub-calls); try it first.
    const optimistic = (used * 64n) / 63n
    if (optimistic < hi && (await succeeds(optimistic))) hi = optimistic
    while (lo + 1n < hi) {
      // Stop within 1.5% like geth: the last few iterations buy nothing a wallet would notice.
      if ((hi - lo) * 1000n < hi * 15n) break
      const mid = (lo + hi) / 2n
      if (await succeeds(mid)) hi = mid
      else lo = mid
    }
    return hi
  }

  /** eth_createAccessList: the slots the call touches, and the gas it uses with that list. */
  async createAccessList(env: CallEnvironment, request: CallRequest): Promise<AccessListResult> {
    return this.withVm(env, (vm) => this.iterateAccessList(vm, env, request))
  }

  private async iterateAccessList(vm: VM, env: CallEnvironment, request: CallRequest): Promise<AccessListResult> {
    const block = this.callBlock(env, request)
    const gasLimit = this.gasLimitFor(request)
    const excluded = await this.accessListExclusions(vm, request)
    let accessList = new AccessListCollector(excluded, accessListJson(request)).accessList()
    // Like geth: run with the list so far until the run adds nothing (the list changes gas, so the path).
    for (let round = 0; round < MAX_ACCESS_LIST_ROUNDS; round++) {
      const collector = new AccessListCollector(excluded, accessList)
      const withList = {
        ...request,
        accessList: accessList.map((e) => ({
          address: hexBytes(e.address),
          storageKeys: e.storageKeys.map(hexBytes),
        })),
      }
      const outcome = await collector
        .during(vm.evm, () => this.run(vm, block, withList, gasLimit))
        .catch((error: unknown) => {
          throw error instanceof Refusal ? serverError(refusalMessage(error, 'eth_createAccessList')) : error
        })
      const next = collector.accessList()
      if (sameAccessList(next, accessList)) {
        const { result } = outcome
        const failed = result.execResult.exceptionError !== undefined
        return { accessList, gasUsed: result.totalGasSpent, ...(failed ? { error: callErrorMessage(outcome) } : {}) }
      }
      accessList = next
    }
    throw serverError(`access list did not converge after ${MAX_ACCESS_LIST_ROUNDS} rounds`)
  }

  /**
   * Accounts geth leaves out of an access list unless their storage is touched: the sender, the
   * target (or the address a creation makes), precompiles and the authorities of an EIP-7702 list.
   */
  private async accessListExclusions(vm: VM, request: CallRequest): Promise<Set<string>> {
    const sender = request.from ?? createZeroAddress().bytes
    const nonce = request.nonce ?? (await vm.stateManager.getAccount(new Address(sender)))?.nonce ?? 0n
    const to = request.to ?? generateAddress(sender, bigIntToUnpaddedBytes(nonce))
    const excluded = new Set([bytesToHex(sender), bytesToHex(to)])
    for (let n = 1; n <= LAST_PRECOMPILE; n++) excluded.add(`0x${n.toString(16).padStart(40, '0')}`)
    for (const auth of request.authorizationList ?? []) {
      if (auth.chainId !== 0n && auth.chainId !== this.common.chainId()) continue
      try {
        excluded.add(eoaCode7702RecoverAuthority(authorizationJson(auth)).toString())
      } catch {
        // An authorization whose signer cannot be recovered is skipped, as geth skips it.
      }
    }
    return excluded
  }

  /** geth's call gas: the request's, else the cap (--rpc.gascap), never above the cap. */
  gasLimitFor(request: CallRequest): bigint {
    const limit = request.gas ?? this.gasCap
    return limit > this.gasCap ? this.gasCap : limit
  }
}

/**
 * What a call gets when no VM could be created for it (geth has no such case: its EVMs cost nothing
 * to make): an internal error naming the cause. The slot stays free, so the next call tries again.
 */
function vmUnavailable(cause: unknown): RpcError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new RpcError(
    RpcErrorCode.Internal,
    `could not create an EVM to run the call (${reason.split('\n')[0]}); the next call tries again`,
    { code: 'RPC_CALL_VM_UNAVAILABLE', cause },
  )
}

/** How geth reports a failed call: a revert, with its data, or an error with geth's text. */
export type CallFailure = { revert: Uint8Array } | { message: string }

const OUT_OF_GAS = 'out of gas'
const RETURNDATACOPY = 0x3e

/**
 * How geth reports the failure of `outcome`: a revert, or geth's text (core/vm/errors.go) for the
 * error it stopped with, from the tracer's table of ethereumjs texts; the failing opcode names an
 * invalid one (`invalid opcode: INVALID`). A call straight to a precompile gets the precompile's
 * error, never a revert (see {@link precompileError}). ethereumjs reports RETURNDATACOPY past the
 * return data as out of gas; geth has its own error for it, which eth_estimateGas must not take for a
 * lack of gas.
 */
export function callFailure({ result, tx }: CallOutcome): CallFailure {
  const { exceptionError, runState, returnValue } = result.execResult
  if (exceptionError === undefined) throw new Error('callFailure needs a failed call')
  const refused = precompileError(tx.to, tx.data, result.execResult)
  if (refused !== undefined) return { message: refused }
  if (exceptionError.error === 'revert') return { revert: returnValue }
  if (exceptionError.error === OUT_OF_GAS && runState !== undefined && readsPastReturnData(runState))
    return { message: 'return data out of bounds' }
  return { message: gethErrorMessage(exceptionError, runState?.opCode) }
}

/** The text of a failed call's error as geth words it (`execution reverted` for a revert). */
export function callErrorMessage(outcome: CallOutcome): string {
  const failure = callFailure(outcome)
  return 'revert' in failure ? REVERT_ERROR : failure.message
}

/** The JSON-RPC error geth answers for a failed call: code 3 with the data for a revert, else -32000. */
export function callError(failure: CallFailure): RpcError {
  return 'revert' in failure ? executionReverted(failure.revert) : serverError(failure.message)
}

/** Return data of a successful call, or the JSON-RPC error geth gives for a failed one. */
export function unwrapCallResult(outcome: CallOutcome): Uint8Array {
  if (outcome.result.execResult.exceptionError === undefined) return outcome.result.execResult.returnValue
  throw callError(callFailure(outcome))
}

type RunState = NonNullable<RunTxResult['execResult']['runState']>

function readsPastReturnData(state: RunState): boolean {
  if (state.opCode !== RETURNDATACOPY || state.stack.length < 3) return false
  const [, offset, length] = state.stack.peek(3) as [bigint, bigint, bigint]
  return offset + length > BigInt(state.returnBytes.length)
}

/** The header fields the EVM reads, copied so overrides do not touch the stored block. */
function ownHeader(block: Block): HeaderData {
  const h = block.header
  return {
    parentHash: h.parentHash,
    number: h.number,
    timestamp: h.timestamp,
    gasLimit: h.gasLimit,
    coinbase: h.coinbase,
    mixHash: h.mixHash,
    baseFeePerGas: h.baseFeePerGas,
    excessBlobGas: h.excessBlobGas,
    blobGasUsed: h.blobGasUsed,
    parentBeaconBlockRoot: h.parentBeaconBlockRoot,
  }
}

/** The block a call runs in, from its header fields and a blob base fee override (BLOBBASEFEE). */
export function callBlockOf(common: Common, header: HeaderData, blobBaseFee: bigint | undefined): Block {
  const block = createBlock({ header }, { common, freeze: false })
  // BLOBBASEFEE reads the header's price; the header has no field to carry an override.
  if (blobBaseFee !== undefined) block.header.getBlobGasPrice = () => blobBaseFee
  return block
}

/** geth's BlockOverrides.Apply; it has no beacon root or withdrawals for a call and says so. */
function applyBlockOverrides(header: HeaderData, overrides: BlockOverrides): void {
  if (overrides.beaconRoot !== undefined)
    throw serverError('block override "beaconRoot" is not supported for this RPC method')
  if (overrides.withdrawals !== undefined)
    throw serverError('block override "withdrawals" is not supported for this RPC method')
  if (overrides.number !== undefined) header.number = overrides.number
  if (overrides.time !== undefined) header.timestamp = overrides.time
  if (overrides.gasLimit !== undefined) header.gasLimit = overrides.gasLimit
  if (overrides.feeRecipient !== undefined) header.coinbase = overrides.feeRecipient
  if (overrides.prevRandao !== undefined) header.mixHash = overrides.prevRandao
  if (overrides.baseFeePerGas !== undefined) header.baseFeePerGas = overrides.baseFeePerGas
}

/**
 * Whether the call's gas price is zero as geth prices it: a zero legacy price, or a zero fee cap
 * (the price is min(fee cap, base fee + tip)). Such a call runs with a zero base fee.
 */
function paysNothing(request: CallRequest): boolean {
  return (request.gasPrice ?? request.maxFeePerGas ?? 0n) === 0n
}

/**
 * geth skips the EIP-3607 sender check for calls, so a simulation "from" a contract runs, and the
 * sender keeps its code while it does (a callee may call it back or read its code hash). ethereumjs
 * refuses a sender with code outright, so the code hash is hidden from that check alone: after the
 * VM's `beforeTx` listeners (a tracer reads the sender's true pre-state there) and back before the
 * top-level message starts. Undefined when the sender has no code or is EIP-7702-delegated (allowed).
 */
export async function hideSenderCode(vm: VM, sender: Address): Promise<{ check(): void; stop(): void } | undefined> {
  const state = vm.stateManager
  const account = await state.getAccount(sender)
  if (account === undefined || equalsBytes(account.codeHash, KECCAK256_NULL)) return undefined
  if (equalsBytes((await state.getCode(sender)).subarray(0, 3), DELEGATION_PREFIX)) return undefined
  const { codeHash } = account
  let failure: unknown
  const withCodeHash = async (hash: Uint8Array) => {
    const now = (await state.getAccount(sender)) ?? new Account()
    await state.putAccount(sender, new Account(now.nonce, now.balance, now.storageRoot, hash))
  }
  // Awaited listeners (two parameters); a failure is kept for check(), as a rejected listener would stall the VM.
  const settle = (work: Promise<void>, resolve: () => void) =>
    work.then(resolve, (error: unknown) => {
      failure ??= error
      resolve()
    })
  const hide = (_tx: unknown, resolve?: () => void) => settle(withCodeHash(KECCAK256_NULL), () => resolve?.())
  const reveal = (message: Message, resolve?: () => void) =>
    message.depth === 0 ? settle(withCodeHash(codeHash), () => resolve?.()) : resolve?.()
  vm.events.on('beforeTx', hide)
  vm.evm.events?.on('beforeMessage', reveal)
  return {
    check() {
      if (failure !== undefined) throw failure
    },
    stop() {
      vm.events.off('beforeTx', hide)
      vm.evm.events?.off('beforeMessage', reveal)
    },
  }
}

/** An authorization in the JSON form ethereumjs reads. */
function authorizationJson(a: Authorization): EOACode7702AuthorizationListItem {
  return {
    chainId: `0x${a.chainId.toString(16)}`,
    address: bytesToHex(a.address),
    nonce: `0x${a.nonce.toString(16)}`,
    yParity: `0x${a.yParity.toString(16)}`,
    r: `0x${a.r.toString(16)}`,
    s: `0x${a.s.toString(16)}`,
  }
}

/** The request's own access list, in the collector's form. */
function accessListJson(request: CallRequest): AccessListJson[] {
  return (request.accessList ?? []).map((e) => ({
    address: bytesToHex(e.address),
    storageKeys: e.storageKeys.map((key) => bytesToHex(key)),
  }))
}

export async function applyOverride(state: MerkleStateManager, override: AccountOverride): Promise<void> {
  const address = new Address(override.address)
  const account = (await state.getAccount(address)) ?? new Account()
  if (override.balance !== undefined) account.balance = override.balance
  if (override.nonce !== undefined) account.nonce = override.nonce
  await state.putAccount(address, account)
  if (override.code !== undefined) await state.putCode(address, override.code)
  if (override.state !== undefined) {
    await state.clearStorage(address)
    for (const [key, value] of override.state) await state.putStorage(address, key, stripZeros(value))
  }
  for (const [key, value] of override.stateDiff ?? []) await state.putStorage(address, key, stripZeros(value))
}

const INTRINSIC_GAS_TOO_LOW = 'intrinsic gas too low'

/**
 * A transaction geth refuses before running it, with the text of go-ethereum's core
 * (state_transition.go: preCheck, buyGas, the intrinsic gas and EIP-7623 floor checks) and its
 * figures. Thrown by {@link CallRunner.run}; each method words it its own way ({@link refusalMessage}).
 */
export class Refusal extends RpcError {
  override readonly name: string = 'Refusal'
  constructor(
    /** core's error: `insufficient funds for gas * price + value: address 0x… have 0 want 1`. */
    readonly reason: string,
    /** The gas the transaction was run with. */
    readonly gasLimit: bigint,
    /** The hash of the unsigned transaction (eth_createAccessList names it). */
    readonly hash: Uint8Array,
  ) {
    super(-32000, reason, { code: 'RPC_SERVER_ERROR' })
  }
}

/**
 * geth's words for a refused transaction, the only place they are made: eth_call and
 * eth_simulateV1 (its -380xx code aside) as applyMessageWithEVM wraps core's error, eth_estimateGas
 * as gasestimator's run wraps it, eth_createAccessList as its AccessList loop does, debug_traceCall
 * as the tracers' traceTx wraps what ApplyTransactionWithEVM returns.
 */
export function refusalMessage(
  refusal: Refusal,
  method: 'eth_call' | 'eth_estimateGas' | 'eth_createAccessList' | 'eth_simulateV1' | 'debug_traceCall',
): string {
  switch (method) {
    case 'eth_estimateGas':
      return `failed with ${refusal.gasLimit} gas: ${refusal.reason}`
    case 'eth_createAccessList':
      return `failed to apply transaction: ${bytesToHex(refusal.hash)} err: ${refusal.reason}`
    case 'debug_traceCall':
      return `tracing failed: ${refusal.reason}`
    default:
      return `err: ${refusal.reason} (supplied gas ${refusal.gasLimit})`
  }
}

const MAX_UINT256 = (1n << 256n) - 1n

function initCodeTooLarge(size: number, limit: bigint): string {
  return `max initcode size exceeded: code size ${size} limit ${limit}`
}

/** core's nonce check (preCheck), undefined when `nonce` is the state's. */
function nonceMismatch(from: Address, nonce: bigint, stateNonce: bigint): string | undefined {
  if (nonce === stateNonce) return undefined
  const word = nonce > stateNonce ? 'high' : 'low'
  return `nonce too ${word}: address ${toChecksumAddress(from.toString())}, tx: ${nonce} state: ${stateNonce}`
}

function tipAboveFeeCap(from: Address, tip: bigint, feeCap: bigint): string {
  const address = toChecksumAddress(from.toString())
  return `max priority fee per gas higher than max fee per gas: address ${address}, maxPriorityFeePerGas: ${tip}, maxFeePerGas: ${feeCap}`
}

/**
 * Why geth would refuse to run `tx` in `block` on `vm`'s state, checked in geth's order (ethereumjs
 * checks the gas before the fees and the funds): the fee caps against each other and the base fee
 * (an unpriced call already sees a zero base fee), the init code size, the funds for gas * fee cap
 * + value, the intrinsic gas, EIP-7623's floor. Undefined if none fails (the sender's code is not
 * checked for calls, nor the nonce but by eth_simulateV1, in {@link CallRunner.buildTransaction}).
 */
export async function preExecutionRefusal(vm: VM, tx: TypedTransaction, block: Block): Promise<Refusal | undefined> {
  const from = tx.getSenderAddress()
  const address = toChecksumAddress(from.toString())
  const gas = tx.gasLimit
  const refuse = (reason: string) => new Refusal(reason, gas, tx.hash())
  const feeCap = 'maxFeePerGas' in tx ? tx.maxFeePerGas : tx.gasPrice
  const tip = 'maxPriorityFeePerGas' in tx ? tx.maxPriorityFeePerGas : tx.gasPrice
  const baseFee = block.header.baseFeePerGas ?? 0n
  if (feeCap < tip) return refuse(tipAboveFeeCap(from, tip, feeCap))
  if (feeCap < baseFee)
    return refuse(
      `max fee per gas less than block base fee: address ${address}, maxFeePerGas: ${feeCap}, baseFee: ${baseFee}`,
    )
  if (tx.to === undefined && vm.common.isActivatedEIP(3860)) {
    const limit = vm.common.param('maxInitCodeSize')
    if (BigInt(tx.data.length) > limit) return refuse(initCodeTooLarge(tx.data.length, limit))
  }
  const want = gas * feeCap + tx.value
  if (want > MAX_UINT256)
    return refuse(`insufficient funds for gas * price + value: address ${address} required balance exceeds 256 bits`)
  const have = (await vm.stateManager.getAccount(from))?.balance ?? 0n
  if (have < want)
    return refuse(`insufficient funds for gas * price + value: address ${address} have ${have} want ${want}`)
  const intrinsic = tx.getIntrinsicGas()
  if (gas < intrinsic) return refuse(`${INTRINSIC_GAS_TOO_LOW}: have ${gas}, want ${intrinsic}`)
  const floor = getCalldataFloorGas(tx, from)
  if (gas < floor) return refuse(`insufficient gas for floor data gas cost: have ${gas}, want ${floor}`)
  return undefined
}

/** Maps ethereumjs's validation errors to geth's wording, which clients match on. */
export function toCallError(error: unknown): Error {
  const message = (error as Error).message ?? String(error)
  if (/INTRINSIC_GAS_TOO_LOW|gasLimit is too low|lower than the minimum gas limit/i.test(message))
    return serverError('intrinsic gas too low')
  if (/sender doesn't have enough funds|insufficient balance|enough funds/i.test(message))
    return serverError('insufficient funds for gas * price + value')
  if (/max fee per gas less than block base fee|less than the block's baseFeePerGas|baseFee/i.test(message))
    return serverError('max fee per gas less than block base fee')
  if (/maxFeePerGas cannot be less than maxPriorityFeePerGas|tip.*higher/i.test(message))
    return serverError('max priority fee per gas higher than max fee per gas')
  if (/initcode/i.test(message)) return serverError('max initcode size exceeded')
  if (error instanceof Error && 'rpcCode' in error) return error
  return serverError(message.split('\n')[0]!.replace(/ \(tx type=.*$/, ''))
}

function stripZeros(value: Uint8Array): Uint8Array {
  let i = 0
  while (i < value.length && value[i] === 0) i++
  return value.subarray(i)
}

/** Bytes of a `0x` hex string whose type says only `string` (tracer and access-list JSON). */
export function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}
