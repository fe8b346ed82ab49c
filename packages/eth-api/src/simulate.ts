import { Block, type HeaderData, createBlockHeader } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { EVMMockBlockchainInterface } from '@ethereumjs/evm'
import {
  Address,
  KECCAK256_RLP,
  bigIntToBytes,
  bytesToHex,
  createZeroAddress,
  hexToBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import { type RunTxResult, type VM, runTx } from '@ethereumjs/vm'
import { z } from 'zod'
import { executionHeaderFields, storeParentHash, wasmKeccak256 as keccak256 } from '@cairn/executor'
import { type Hex, type LogRecord, toQuantity } from '@cairn/primitives'
import {
  type AccountOverride,
  type BlockJson,
  type BlockOverrides,
  type CallRequest,
  type LogJson,
  RpcError,
  blockOverridesSchema,
  callRequestSchema,
  executionReverted,
  formatBlock,
  formatLog,
  invalidParams,
  stateOverridesSchema,
} from '@cairn/rpc'
import { type CallFrame, createCallTracer } from '@cairn/tracer'
import {
  type CallRunner,
  applyOverride,
  callBlockOf,
  callFailure,
  hexBytes,
  hideSenderCode,
  Refusal,
  preExecutionRefusal,
  refusalMessage,
  toCallError,
} from './call-runner.ts'

/** geth's bound on the blocks one eth_simulateV1 may simulate, gaps included. */
export const MAX_SIMULATED_BLOCKS = 256
/** geth's default step between simulated blocks' timestamps. */
const TIMESTAMP_INCREMENT = 12n

/** eth_simulateV1's error codes (execution-apis, as geth sends them). */
export const SimulateErrorCode = {
  NonceTooLow: -38010,
  NonceTooHigh: -38011,
  BaseFeeTooLow: -38012,
  IntrinsicGas: -38013,
  InsufficientFunds: -38014,
  BlockGasLimitReached: -38015,
  BlockNumberInvalid: -38020,
  BlockTimestampInvalid: -38021,
  MaxInitCodeSizeExceeded: -38025,
  ClientLimitExceeded: -38026,
  /** A tip above the fee cap. */
  InvalidParams: -32602,
  /** A transaction refused for a reason without a code of its own (EIP-7623's floor, say). */
  InternalError: -32603,
  /** A call that failed for a reason other than a revert (its result's `error.code`). */
  VmError: -32015,
} as const

function simulateError(code: number, message: string): RpcError {
  return new RpcError(code, message, { code: 'RPC_SIMULATE' })
}

const simulatedBlockSchema = z.object(
  {
    blockOverrides: blockOverridesSchema.nullish(),
    stateOverrides: stateOverridesSchema.nullish(),
    calls: z.array(callRequestSchema).nullish(),
  },
  { error: 'cannot unmarshal non-object into simBlock' },
)

/** eth_simulateV1's first argument. */
export const simulatePayloadSchema = z.object(
  {
    blockStateCalls: z.array(simulatedBlockSchema),
    traceTransfers: z.boolean().nullish(),
    validation: z.boolean().nullish(),
    returnFullTransactions: z.boolean().nullish(),
  },
  { error: 'cannot unmarshal non-object into simOpts' },
)

export type SimulatePayload = z.output<typeof simulatePayloadSchema>

/** One call's outcome in a simulated block, as geth's `simCallResult`. */
export interface SimulatedCallJson {
  returnData: Hex
  logs: LogJson[]
  gasUsed: Hex
  status: '0x0' | '0x1'
  error?: { code: number; message: string; data?: Hex }
}

export type SimulatedBlockJson = BlockJson & { calls: SimulatedCallJson[] }

interface PlannedBlock {
  number: bigint
  timestamp: bigint
  overrides: BlockOverrides
  stateOverrides: AccountOverride[]
  calls: CallRequest[]
}

/** ERC-7528's address for the native currency: where traceTransfers' synthetic Transfer logs come from. */
const NATIVE_TOKEN = hexToBytes('0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee')
const TRANSFER_TOPIC = keccak256(new TextEncoder().encode('Transfer(address,address,uint256)'))

/**
 * eth_simulateV1 (execution-apis; geth's internal/ethapi/simulate.go): runs blocks of calls on top
 * of `base`, each block on the state the previous one left, and answers each block as
 * eth_getBlockByNumber would, with real roots, plus per-call results. Nothing reaches the node
 * store: the whole run sits in one checkpoint of a pooled call VM that is reverted afterwards.
 *
 * As geth: block numbers and timestamps default to the previous block's + 1 and + 12 s and must
 * increase (gaps are filled with empty blocks); without `validation` the base fee is zero unless
 * overridden and nonces are not checked; a call's gas defaults to what is left of its block and of
 * the node's gas cap, shared by every call of the request; an invalid transaction fails the whole
 * request with its -380xx code, while a reverted or failed call is reported in its result.
 */
export class Simulator {
  constructor(
    private readonly common: Common,
    private readonly runner: CallRunner,
  ) {}

  async simulate(base: Block, payload: SimulatePayload): Promise<SimulatedBlockJson[]> {
    const planned = planBlocks(base, payload)
    return this.runner.withVm(
      { block: base },
      async (vm) => {
        const out: SimulatedBlockJson[] = []
        const restoreBlockHashes = answerSimulatedBlockHashes(vm, out)
        try {
          await this.runBlocks(vm, base, planned, payload, out)
        } finally {
          restoreBlockHashes()
        }
        return out
      },
      { discardCaches: true },
    )
  }

  /** Runs the planned blocks one after the other, appending each block's answer to `out`. */
  private async runBlocks(
    vm: VM,
    base: Block,
    planned: readonly PlannedBlock[],
    payload: SimulatePayload,
    out: SimulatedBlockJson[],
  ): Promise<void> {
    const validation = payload.validation === true
    let gasLeft = this.runner.gasCap
    const state = vm.stateManager as MerkleStateManager
    let parent = base
    for (const plan of planned) {
      for (const override of plan.stateOverrides) await applyOverride(state, override)
      const { header: headerData, block: shell } = this.shell(parent, plan, validation)
      await storeParentHash(vm, shell)
      const gasLimit = shell.header.gasLimit
      const transactions: TypedTransaction[] = []
      const results: RunTxResult[] = []
      const senders: Uint8Array[] = []
      const outcomes: { result: RunTxResult; logs: CallLogEntry[] }[] = []
      let gasUsed = 0n
      for (const request of plan.calls) {
        const from = request.from === undefined ? createZeroAddress() : new Address(request.from)
        const stateNonce = (await state.getAccount(from))?.nonce ?? 0n
        const nonce = request.nonce ?? stateNonce
        const gas = request.gas ?? gasLimit - gasUsed
        if (gasUsed + gas > gasLimit) {
          throw simulateError(
            SimulateErrorCode.BlockGasLimitReached,
            `block gas limit reached: ${gasUsed} >= ${gasLimit}`,
          )
        }
        // geth caps a call's gas at what is left of the request's gas pool (the node's gas cap).
        if (gasLeft === 0n) {
          throw simulateError(
            SimulateErrorCode.ClientLimitExceeded,
            `gas limit reached: the calls before this one used all ${this.runner.gasCap} gas a request may use (--rpc.gascap)`,
          )
        }
        // geth's simulated calls are EIP-1559 transactions unless they name a legacy gas price.
        const fees = request.gasPrice === undefined ? { maxFeePerGas: request.maxFeePerGas ?? 0n } : {}
        let tx: TypedTransaction
        try {
          // With validation the nonce is checked, first of core's checks as in geth.
          tx = this.runner.buildTransaction(
            { ...request, ...fees, nonce },
            gas < gasLeft ? gas : gasLeft,
            validation ? { stateNonce } : {},
          )
        } catch (error) {
          throw error instanceof Refusal ? invalidTransaction(error) : error
        }
        const tracer = payload.traceTransfers === true ? createCallTracer({ withLog: true }) : undefined
        const result = await runCall(vm, tx, shell, gasUsed, tracer)
        gasUsed += result.totalGasSpent
        gasLeft -= result.totalGasSpent
        transactions.push(tx)
        results.push(result)
        senders.push(from.bytes)
        const logs =
          tracer !== undefined ? transferOrderedLogs(tracer.result(result) as CallFrame) : receiptLogs(result)
        outcomes.push({ result, logs })
      }
      const header = createBlockHeader(
        {
          ...headerData,
          ...(await executionHeaderFields(transactions, results, await state.getStateRoot(), keccak256)),
          gasUsed,
        },
        { common: this.common },
      )
      const block = new Block(header, transactions, [], [], { common: this.common })
      out.push({
        ...formatBlock(block, { fullTransactions: payload.returnFullTransactions === true, senders }),
        calls: callResults(block, outcomes),
      })
      parent = block
    }
  }

  /** The block the calls run in (and its header fields): the plan's number and time, the rest from the parent and overrides. */
  private shell(parent: Block, plan: PlannedBlock, validation: boolean): { header: HeaderData; block: Block } {
    const { overrides } = plan
    if (overrides.withdrawals !== undefined && overrides.withdrawals.length > 0) {
      throw invalidParams('withdrawals cannot be simulated: an L2 block has none')
    }
    const header: HeaderData = {
      parentHash: parent.hash(),
      number: plan.number,
      timestamp: plan.timestamp,
      gasLimit: overrides.gasLimit ?? parent.header.gasLimit,
      coinbase: overrides.feeRecipient ?? parent.header.coinbase,
      mixHash: overrides.prevRandao ?? new Uint8Array(32),
      // Without validation geth zeroes the base fee, so unpriced calls run (an override still wins).
      baseFeePerGas: overrides.baseFeePerGas ?? (validation ? parent.header.calcNextBaseFee() : 0n),
      excessBlobGas: parent.header.calcNextExcessBlobGas(this.common),
      blobGasUsed: 0n,
      parentBeaconBlockRoot: overrides.beaconRoot ?? new Uint8Array(32),
      withdrawalsRoot: KECCAK256_RLP,
    }
    return { header, block: callBlockOf(this.common, header, overrides.blobBaseFee) }
  }
}

/**
 * geth's sanitizeChain: numbers and timestamps filled in and checked, gaps in the numbers filled
 * with empty blocks, at most {@link MAX_SIMULATED_BLOCKS} past the base.
 */
function planBlocks(base: Block, payload: SimulatePayload): PlannedBlock[] {
  const blocks = payload.blockStateCalls
  if (blocks.length === 0) throw invalidParams('empty input')
  if (blocks.length > MAX_SIMULATED_BLOCKS)
    throw simulateError(SimulateErrorCode.ClientLimitExceeded, 'too many blocks')
  const planned: PlannedBlock[] = []
  let number = base.header.number
  let timestamp = base.header.timestamp
  for (const block of blocks) {
    const overrides = block.blockOverrides ?? {}
    const next = overrides.number ?? number + 1n
    if (next <= number) {
      throw simulateError(SimulateErrorCode.BlockNumberInvalid, `block numbers must be in order: ${next} <= ${number}`)
    }
    if (next - base.header.number > BigInt(MAX_SIMULATED_BLOCKS)) {
      throw simulateError(SimulateErrorCode.ClientLimitExceeded, 'too many blocks')
    }
    for (let gap = number + 1n; gap < next; gap++) {
      timestamp += TIMESTAMP_INCREMENT
      planned.push({ number: gap, timestamp, overrides: {}, stateOverrides: [], calls: [] })
    }
    number = next
    const time = overrides.time ?? timestamp + TIMESTAMP_INCREMENT
    if (time <= timestamp) {
      throw simulateError(
        SimulateErrorCode.BlockTimestampInvalid,
        `block timestamps must be in order: ${time} <= ${timestamp}`,
      )
    }
    timestamp = time
    planned.push({
      number,
      timestamp,
      overrides,
      stateOverrides: block.stateOverrides ?? [],
      calls: block.calls ?? [],
    })
  }
  return planned
}

/**
 * BLOCKHASH in a simulated block answers for the simulated blocks before it (as geth's simulated
 * chain context does), and for older numbers as the pooled VM does; restored by the returned call.
 */
function answerSimulatedBlockHashes(vm: VM, simulated: readonly SimulatedBlockJson[]): () => void {
  const evm = vm.evm as unknown as { blockchain: EVMMockBlockchainInterface }
  const chain = evm.blockchain
  const simulatedChain: EVMMockBlockchainInterface = {
    ...chain,
    async getBlock(number: number) {
      const block = simulated.find((b) => BigInt(b.number) === BigInt(number))
      if (block === undefined) return chain.getBlock(number)
      const hash = hexToBytes(block.hash)
      return { hash: () => hash }
    },
    shallowCopy: () => simulatedChain,
  }
  evm.blockchain = simulatedChain
  return () => {
    evm.blockchain = chain
  }
}

/**
 * Runs one simulated call on the block's state, keeping its effects for the calls after it. A
 * transaction that cannot run at all fails the request with geth's code for the reason.
 */
async function runCall(
  vm: VM,
  tx: TypedTransaction,
  block: Block,
  blockGasUsed: bigint,
  tracer: ReturnType<typeof createCallTracer> | undefined,
): Promise<RunTxResult> {
  const hiding = await hideSenderCode(vm, tx.getSenderAddress())
  tracer?.attach(vm.evm, { gasLimit: tx.gasLimit, vm, coinbase: block.header.coinbase })
  try {
    const result = await runTx(vm, {
      tx,
      block,
      blockGasUsed,
      // The nonce is checked before (and only with validation), as geth words it.
      skipNonce: true,
      skipBlockGasLimitValidation: true,
      skipHardForkValidation: true,
    })
    hiding?.check()
    return result
  } catch (error) {
    throw invalidTransaction((await preExecutionRefusal(vm, tx, block)) ?? error)
  } finally {
    tracer?.detach()
    hiding?.stop()
  }
}

/**
 * geth's txValidationError (internal/ethapi/errors.go): core's errors that have a code of their own,
 * by the start of their text (both of core's insufficient funds errors share one); any other is -32603.
 */
const TX_VALIDATION_CODES: readonly (readonly [string, number])[] = [
  ['nonce too high', SimulateErrorCode.NonceTooHigh],
  ['nonce too low', SimulateErrorCode.NonceTooLow],
  ['max priority fee per gas higher than max fee per gas', SimulateErrorCode.InvalidParams],
  ['max fee per gas less than block base fee', SimulateErrorCode.BaseFeeTooLow],
  ['insufficient funds', SimulateErrorCode.InsufficientFunds],
  ['intrinsic gas too low', SimulateErrorCode.IntrinsicGas],
  ['max initcode size exceeded', SimulateErrorCode.MaxInitCodeSizeExceeded],
]

/** geth's txValidationError: the reason a transaction could not run, under its code. */
function invalidTransaction(error: unknown): RpcError {
  if (error instanceof Refusal) {
    const known = TX_VALIDATION_CODES.find(([text]) => error.reason.startsWith(text))
    return simulateError(known?.[1] ?? SimulateErrorCode.InternalError, refusalMessage(error, 'eth_simulateV1'))
  }
  const callError = toCallError(error)
  return simulateError(
    callError instanceof RpcError ? callError.rpcCode : SimulateErrorCode.InternalError,
    callError.message,
  )
}

/** A log before its block is known. */
interface CallLogEntry {
  address: Uint8Array
  topics: Uint8Array[]
  data: Uint8Array
}

function receiptLogs(result: RunTxResult): CallLogEntry[] {
  return (result.execResult.logs ?? []).map(([address, topics, data]) => ({ address, topics, data }))
}

/**
 * traceTransfers: the call's logs in execution order with, at the start of every frame that moves
 * ether (not DELEGATECALL), a Transfer(from, to, value) log from the ERC-7528 native-token address,
 * as geth's simulation tracer adds them. Frames that failed leave nothing (their value went back).
 */
function transferOrderedLogs(frame: CallFrame): CallLogEntry[] {
  if (frame.error !== undefined) return []
  const out: CallLogEntry[] = []
  const value = BigInt(frame.value ?? '0x0')
  if (value > 0n && frame.type !== 'DELEGATECALL' && frame.to !== undefined) {
    out.push({
      address: NATIVE_TOKEN,
      topics: [TRANSFER_TOPIC, wordOf(frame.from), wordOf(frame.to)],
      data: setLengthLeft(bigIntToBytes(value), 32),
    })
  }
  const logs = frame.logs ?? []
  const calls = frame.calls ?? []
  let next = 0
  // A log's `position` is how many sub-calls its frame had made before it.
  for (let call = 0; call <= calls.length; call++) {
    while (next < logs.length && Number(logs[next]!.position) <= call) {
      const log = logs[next++]!
      out.push({ address: hexBytes(log.address), topics: log.topics.map(hexBytes), data: hexBytes(log.data) })
    }
    if (call < calls.length) out.push(...transferOrderedLogs(calls[call]!))
  }
  return out
}

const wordOf = (address: string) => setLengthLeft(hexBytes(address), 32)

/** Per-call results with their logs placed in the block (block-wide log indices, as geth numbers them). */
function callResults(block: Block, outcomes: { result: RunTxResult; logs: CallLogEntry[] }[]): SimulatedCallJson[] {
  const blockHash = block.hash()
  let logIndex = 0
  return outcomes.map(({ result, logs }, index) => {
    const tx = block.transactions[index]!
    const transactionHash = tx.hash()
    const failed = result.execResult.exceptionError !== undefined
    const records: LogRecord[] = failed
      ? []
      : logs.map((log) => ({
          ...log,
          blockNumber: block.header.number,
          blockHash,
          blockTimestamp: block.header.timestamp,
          transactionHash,
          transactionIndex: index,
          logIndex: logIndex++,
          removed: false,
        }))
    const json: SimulatedCallJson = {
      returnData: bytesToHex(result.execResult.returnValue),
      logs: records.map(formatLog),
      gasUsed: toQuantity(result.totalGasSpent),
      status: failed ? '0x0' : '0x1',
    }
    if (failed) {
      // A revert as eth_call reports it (code 3 and the data, the spec's choice; geth sends -32000).
      const failure = callFailure({ result, tx })
      json.error =
        'revert' in failure
          ? (executionReverted(failure.revert).toJSON() as SimulatedCallJson['error'])
          : { code: SimulateErrorCode.VmError, message: failure.message }
    }
    return json
  })
}
