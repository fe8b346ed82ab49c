import { type Block, createBlock } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import { type TypedTransaction, createTx } from '@ethereumjs/tx'
import {
  Account,
  Address,
  KECCAK256_NULL,
  KECCAK256_RLP,
  bigIntToUnpaddedBytes,
  bytesToHex,
  createZeroAddress,
  equalsBytes,
  generateAddress,
} from '@ethereumjs/util'
import { type RunTxResult, type VM, createVM, runTx } from '@ethereumjs/vm'
import type { BlockHashSource } from '@cairn/executor'
import { blockchainFor } from '@cairn/executor'
import { type AccountOverride, type CallRequest, executionReverted, serverError } from '@cairn/rpc'
import type { StateDB } from '@cairn/state'

export interface CallEnvironment {
  /** The block whose post-state the call runs on; the call sees a child of it. */
  block: Block
  overrides?: AccountOverride[]
}

export interface CallOutcome {
  result: RunTxResult
  tx: TypedTransaction
}

const DELEGATION_PREFIX = Uint8Array.of(0xef, 0x01, 0x00)
/** VMs in the call pool. */
const VM_POOL_SIZE = 4

export interface AccessListResult {
  accessList: { address: string; storageKeys: string[] }[]
  gasUsed: bigint
  error?: string
}

/**
 * Runs transactions that are never mined (eth_call, eth_estimateGas, eth_createAccessList,
 * debug_traceCall) on a throw-away view of a block's state, the way geth's DoCall does: gas
 * defaults to the cap, fees default to zero with a zero base fee, nonce is not checked.
 */
export class CallRunner {
  constructor(
    private readonly common: Common,
    private readonly state: StateDB,
    private readonly blockHashes: BlockHashSource,
    private readonly gasCap: bigint,
  ) {}

  private readonly idle: VM[] = []
  private readonly waiting: ((vm: VM) => void)[] = []
  private created = 0

  /**
   * Runs `work` on a VM whose state is `block`'s post-state with `overrides` applied. VMs are
   * pooled (building one costs more than most calls): each call points a VM at its root (keeping
   * warm caches when the root is unchanged) and everything it does sits in a checkpoint that is
   * reverted afterwards, so nothing reaches the node store. Beyond the pool size calls queue: on
   * one thread more VMs add no throughput, only garbage.
   */
  async withVm<T>(env: CallEnvironment, work: (vm: VM) => Promise<T>): Promise<T> {
    const vm = await this.acquire()
    const stateManager = vm.stateManager as MerkleStateManager
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
      }
    } finally {
      this.release(vm)
    }
  }

  private async acquire(): Promise<VM> {
    const idle = this.idle.pop()
    if (idle !== undefined) return idle
    if (this.created < VM_POOL_SIZE) {
      this.created++
      return this.createVm()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  private release(vm: VM): void {
    const next = this.waiting.shift()
    if (next !== undefined) next(vm)
    else this.idle.push(vm)
  }

  private async createVm(): Promise<VM> {
    // The EVM subscribes to its Common's events: a private copy keeps the VM's lifetime its own.
    return createVM({
      common: this.common.copy(),
      stateManager: this.state.stateAt(KECCAK256_RLP),
      blockchain: blockchainFor(this.blockHashes),
    })
  }

  /** The child-block environment the call executes in. */
  callBlock(parent: Block, request: CallRequest): Block {
    const paysFees =
      request.gasPrice !== undefined || request.maxFeePerGas !== undefined || request.maxPriorityFeePerGas !== undefined
    return createBlock(
      {
        header: {
          parentHash: parent.hash(),
          number: parent.header.number + 1n,
          timestamp: parent.header.timestamp + 1n,
          gasLimit: parent.header.gasLimit,
          coinbase: parent.header.coinbase,
          // geth: without fee fields the call runs with a zero base fee, so zero-priced calls work.
          baseFeePerGas: paysFees ? parent.header.calcNextBaseFee() : 0n,
          excessBlobGas: 0n,
          blobGasUsed: 0n,
          parentBeaconBlockRoot: new Uint8Array(32),
        },
      },
      { common: this.common, freeze: false },
    )
  }

  buildTransaction(request: CallRequest, gasLimit: bigint): TypedTransaction {
    const type =
      request.authorizationList !== undefined
        ? 4
        : request.maxFeePerGas !== undefined || request.maxPriorityFeePerGas !== undefined
          ? 2
          : request.accessList !== undefined && request.gasPrice === undefined
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
      const maxFeePerGas = request.maxFeePerGas ?? request.gasPrice ?? 0n
      const maxPriorityFeePerGas = request.maxPriorityFeePerGas ?? (maxFeePerGas === 0n ? 0n : maxFeePerGas)
      data = {
        ...base,
        type,
        maxFeePerGas,
        maxPriorityFeePerGas: maxPriorityFeePerGas > maxFeePerGas ? maxFeePerGas : maxPriorityFeePerGas,
        accessList,
        chainId: this.common.chainId(),
      }
      if (type === 4) {
        data.authorizationList = (request.authorizationList ?? []).map((a) => ({
          chainId: `0x${a.chainId.toString(16)}`,
          address: bytesToHex(a.address),
          nonce: `0x${a.nonce.toString(16)}`,
          yParity: `0x${a.yParity.toString(16)}`,
          r: `0x${a.r.toString(16)}`,
          s: `0x${a.s.toString(16)}`,
        }))
      }
    }
    const tx = createTx(data as never, { common: this.common, freeze: false })
    const from = request.from === undefined ? createZeroAddress() : new Address(request.from)
    // The call is unsigned: the sender is whoever the request says it is.
    ;(tx as { getSenderAddress: () => Address }).getSenderAddress = () => from
    return tx
  }

  /** Runs `request` once with `gasLimit`; throws only for transactions geth would refuse to run. */
  async run(
    vm: VM,
    block: Block,
    request: CallRequest,
    gasLimit: bigint,
    options: { reportAccessList?: boolean } = {},
  ): Promise<CallOutcome> {
    const tx = this.buildTransaction(request, gasLimit)
    const sender = tx.getSenderAddress()
    const stateManager = vm.stateManager as MerkleStateManager
    await stateManager.checkpoint()
    let restoreCode: (() => Promise<void>) | undefined
    try {
      // geth skips the EIP-3607 sender check for calls, so simulations "from" a contract work.
      const account = await stateManager.getAccount(sender)
      if (account !== undefined && !equalsBytes(account.codeHash, KECCAK256_NULL)) {
        const code = await stateManager.getCode(sender)
        if (!equalsBytes(code.subarray(0, 3), DELEGATION_PREFIX)) {
          await stateManager.putAccount(
            sender,
            new Account(account.nonce, account.balance, account.storageRoot, KECCAK256_NULL),
          )
          restoreCode = async () => {
            const after = (await stateManager.getAccount(sender)) ?? new Account()
            await stateManager.putAccount(
              sender,
              new Account(after.nonce, after.balance, after.storageRoot, account.codeHash),
            )
          }
        }
      }
      const result = await runTx(vm, {
        tx,
        block,
        skipNonce: true,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
        reportAccessList: options.reportAccessList === true,
      })
      await restoreCode?.()
      return { result, tx }
    } catch (error) {
      throw toCallError(error)
    } finally {
      await stateManager.revert()
    }
  }

  /** eth_call: the return data, or a revert error carrying the revert data. */
  async call(env: CallEnvironment, request: CallRequest): Promise<Uint8Array> {
    return this.withVm(env, async (vm) => {
      const block = this.callBlock(env.block, request)
      const { result } = await this.run(vm, block, request, this.gasLimitFor(request, block))
      return unwrapCallResult(result)
    })
  }

  /**
   * eth_estimateGas: the lowest gas limit at which the call succeeds, by binary search like geth
   * (first trying the gas the unbounded run used, which is usually enough).
   */
  async estimateGas(env: CallEnvironment, request: CallRequest): Promise<bigint> {
    return this.withVm(env, (vm) => this.searchGas(vm, env, request))
  }

  private async searchGas(vm: VM, env: CallEnvironment, request: CallRequest): Promise<bigint> {
    const block = this.callBlock(env.block, request)
    // geth ignores a gas limit below the intrinsic 21000 and searches up to the block's limit.
    let hi = this.gasLimitFor(
      request.gas !== undefined && request.gas < 21_000n ? { ...request, gas: undefined } : request,
      block,
    )
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
      // Capped below the intrinsic gas (by the sender's funds or the request): geth's wording.
      if ((error as Error).message === 'intrinsic gas too low')
        throw serverError(`gas required exceeds allowance (${hi})`)
      throw error
    })
    if (first.result.execResult.exceptionError !== undefined) {
      if (isRevert(first.result)) throw executionReverted(first.result.execResult.returnValue)
      throw serverError(`gas required exceeds allowance (${hi})`)
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
    const block = this.callBlock(env.block, request)
    const gasLimit = this.gasLimitFor(request, block)
    const sender = bytesToHex(request.from ?? createZeroAddress().bytes)
    // Like geth, a creation excludes the address it would create (it is warm like any call target).
    const to =
      request.to == null
        ? bytesToHex(
            generateAddress(
              hexBytes(sender),
              bigIntToUnpaddedBytes(
                request.nonce ?? (await vm.stateManager.getAccount(new Address(hexBytes(sender))))?.nonce ?? 0n,
              ),
            ),
          )
        : bytesToHex(request.to)
    let accessList =
      request.accessList?.map((e) => ({
        address: bytesToHex(e.address),
        storageKeys: e.storageKeys.map(bytesToHex),
      })) ?? []
    // Iterate like geth: the list changes gas and so possibly the path; stop when it is stable.
    for (let round = 0; round < 8; round++) {
      const withList = {
        ...request,
        accessList: accessList.map((e) => ({ address: hexBytes(e.address), storageKeys: e.storageKeys.map(hexBytes) })),
      }
      const { result } = await this.run(vm, block, withList, gasLimit, { reportAccessList: true })
      const next = (result.accessList ?? [])
        .filter(
          (e) =>
            e.address.toLowerCase() !== sender.toLowerCase() &&
            e.address.toLowerCase() !== to.toLowerCase() &&
            !isPrecompile(e.address),
        )
        .map((e) => ({ address: e.address, storageKeys: [...e.storageKeys] }))
      const error =
        result.execResult.exceptionError === undefined
          ? undefined
          : isRevert(result)
            ? 'execution reverted'
            : result.execResult.exceptionError.error
      if (sameAccessList(next, accessList))
        return { accessList, gasUsed: result.totalGasSpent, ...(error ? { error } : {}) }
      accessList = next
    }
    throw serverError('access list did not converge after 8 rounds')
  }

  gasLimitFor(request: CallRequest, block: Block): bigint {
    const limit = request.gas ?? block.header.gasLimit
    return limit > this.gasCap ? this.gasCap : limit
  }
}

export function isRevert(result: RunTxResult): boolean {
  return result.execResult.exceptionError?.error === 'revert'
}

/** Return data of a successful call, or the JSON-RPC error geth gives for a failed one. */
export function unwrapCallResult(result: RunTxResult): Uint8Array {
  const error = result.execResult.exceptionError
  if (error === undefined) return result.execResult.returnValue
  if (error.error === 'revert') throw executionReverted(result.execResult.returnValue)
  throw serverError(error.error)
}

async function applyOverride(state: MerkleStateManager, override: AccountOverride): Promise<void> {
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

/** Maps ethereumjs's validation errors to geth's wording, which clients match on. */
function toCallError(error: unknown): Error {
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

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}

function isPrecompile(address: string): boolean {
  const n = BigInt(address)
  return n >= 1n && n <= 0x11n
}

function sameAccessList(
  a: { address: string; storageKeys: string[] }[],
  b: { address: string; storageKeys: string[] }[],
): boolean {
  const key = (l: { address: string; storageKeys: string[] }[]) =>
    l
      .map(
        (e) =>
          `${e.address.toLowerCase()}:${[...e.storageKeys]
            .map((k) => k.toLowerCase())
            .sort()
            .join(',')}`,
      )
      .sort()
      .join('|')
  return key(a) === key(b)
}
