import type { EVMInterface, EVMResult, InterpreterStep, Message } from '@ethereumjs/evm'
import type { RunTxResult } from '@ethereumjs/vm'
import { eventsToTrace } from './evm-events.ts'
import { bytesHex, quantityHex, unprefixedHex, wordHex } from './hex.ts'
import { gethOpName, invalidOpcodeByte } from './opcode-names.ts'
import type { EvmTracer, TraceContext } from './types.ts'
import { failsBeforeOpcodeRuns, gethErrorMessage, isCodeDepositOutOfGas } from './vm-errors.ts'

/** geth's logger.Config fields that debug_traceTransaction accepts at the top level of its options. */
export interface StructLoggerConfig {
  disableStorage?: boolean
  disableStack?: boolean
  enableMemory?: boolean
  enableReturnData?: boolean
  /** Stop recording once the JSON of the recorded steps exceeds this many bytes (geth ≥ 1.15 semantics); 0 = unlimited. */
  limit?: number
}

/** One opcode step, field for field what geth's struct logger (execution-apis spec format) emits. */
export interface StructLog {
  pc: number
  op: string
  gas: number
  gasCost: number
  depth: number
  error?: string
  stack?: string[]
  returnData?: string
  memory?: string[]
  storage?: Record<string, string>
  refund?: number
}

export interface StructLoggerResult {
  gas: number
  failed: boolean
  returnValue: string
  structLogs: StructLog[]
}

interface Frame {
  message: Message
  isCreate: boolean
  /** Index in `logs` of this frame's latest recorded step, or -1. */
  lastLog: number
  /** The RETURNDATA buffer as geth's interpreter holds it: output of the latest sub-call of this frame. */
  returnData: Uint8Array
  /** This frame's latest step, recorded or not (to tell a code-deposit failure from a failing RETURN). */
  lastStep: { opcode: number; gasLeft: bigint; fee: bigint } | undefined
}

interface PendingSload {
  logIndex: number
  address: string
  key: string
}

const EMPTY = new Uint8Array(0)
const OP_SLOAD = 0x54
const OP_SSTORE = 0x55
const OP_CALL = 0xf1
const OP_CALLCODE = 0xf2
const OP_DELEGATECALL = 0xf4
const OP_STATICCALL = 0xfa

/**
 * geth's default `debug_traceTransaction` tracer (the "struct logger"): one entry per executed opcode.
 * Formats follow current geth (1.17.x, execution-apis spec): stack items as minimal 0x quantities,
 * memory as 0x-prefixed 32-byte words, storage keys/values as 0x-prefixed 32-byte words, returnValue 0x-prefixed.
 */
export function createStructLogger(config: StructLoggerConfig = {}): EvmTracer<StructLoggerResult> {
  const captureStack = config.disableStack !== true
  const captureStorage = config.disableStorage !== true
  const captureMemory = config.enableMemory === true
  const captureReturnData = config.enableReturnData === true
  const limit = config.limit ?? 0

  const logs: StructLog[] = []
  const frames: Frame[] = []
  const storageByAddress = new Map<string, Map<string, string>>()
  let resultSize = 0
  let pendingSload: PendingSload | undefined
  let used = false
  let attached: { evm: EVMInterface; detach: () => void } | undefined

  function contractStorage(address: string): Map<string, string> {
    let storage = storageByAddress.get(address)
    if (storage === undefined) {
      storage = new Map()
      storageByAddress.set(address, storage)
    }
    return storage
  }

  // geth reads the slot before SLOAD runs; ethereumjs hands listeners no state access without an async
  // round trip per step, so the value is taken from the stack top of the step that follows the SLOAD.
  function resolveSload(value: bigint): void {
    const pending = pendingSload as PendingSload
    pendingSload = undefined
    const storage = contractStorage(pending.address)
    storage.set(pending.key, wordHex(value))
    const entry = logs[pending.logIndex]
    if (entry !== undefined) entry.storage = Object.fromEntries(storage)
  }

  function onStep(step: InterpreterStep): void {
    const stack = step.stack
    if (pendingSload !== undefined) resolveSload(stack[stack.length - 1] ?? 0n)
    const frame = frames[frames.length - 1]
    if (frame === undefined) return
    const opcode = step.opcode.name === 'INVALID' ? invalidOpcodeByte(frame.message, step.pc) : step.opcode.code
    const gas = step.gasLeft
    const fee = step.opcode.dynamicFee ?? BigInt(step.opcode.fee)
    frame.lastStep = { opcode, gasLeft: gas, fee }
    if (limit !== 0 && resultSize > limit) {
      frame.lastLog = -1
      // Nothing more will be recorded: without step listeners ethereumjs stops building step events.
      attached?.evm.events?.off('step', onStep)
      return
    }

    const entry: StructLog = {
      pc: step.pc,
      op: gethOpName(opcode, step.opcode.name),
      gas: Number(gas),
      gasCost: Number(
        opcode === OP_CALL || opcode === OP_CALLCODE || opcode === OP_DELEGATECALL || opcode === OP_STATICCALL
          ? fee + forwardedCallGas(gas, fee, stack)
          : fee,
      ),
      depth: step.depth + 1,
    }
    if (captureStack) {
      const items = new Array<string>(stack.length)
      for (let i = 0; i < stack.length; i++) items[i] = quantityHex(stack[i] as bigint)
      entry.stack = items
    }
    if (captureReturnData && frame.returnData.length > 0) entry.returnData = bytesHex(frame.returnData)
    if (captureMemory) {
      const words = Number(step.memoryWordCount)
      if (words > 0) entry.memory = memoryWords(step.memory, words)
    }
    if (captureStorage && (opcode === OP_SLOAD || opcode === OP_SSTORE)) {
      const address = step.address.toString()
      if (opcode === OP_SSTORE && stack.length >= 2) {
        const storage = contractStorage(address)
        storage.set(wordHex(stack[stack.length - 1] as bigint), wordHex(stack[stack.length - 2] as bigint))
        entry.storage = Object.fromEntries(storage)
      } else if (opcode === OP_SLOAD && stack.length >= 1) {
        pendingSload = { logIndex: logs.length, address, key: wordHex(stack[stack.length - 1] as bigint) }
        // Filled in when the loaded value appears on the stack; until then the snapshot without it.
        entry.storage = Object.fromEntries(contractStorage(address))
      }
    }
    if (step.gasRefund !== 0n) entry.refund = Number(step.gasRefund)

    frame.lastLog = logs.length
    logs.push(entry)
    if (limit !== 0) resultSize += JSON.stringify(entry).length
  }

  function onBeforeMessage(message: Message): void {
    frames.push({ message, isCreate: message.to === undefined, lastLog: -1, returnData: EMPTY, lastStep: undefined })
  }

  function onAfterMessage(result: EVMResult): void {
    const frame = frames.pop()
    if (frame === undefined) return
    // An SLOAD that ran out of gas never pushes its value; drop the pending read.
    pendingSload = undefined
    const error = result.execResult.exceptionError
    if (
      error !== undefined &&
      frame.lastLog >= 0 &&
      failsBeforeOpcodeRuns(error) &&
      !isCodeDepositOutOfGas(frame.isCreate, error, frame.lastStep)
    ) {
      const failed = logs[frame.lastLog] as StructLog
      logs[frame.lastLog] = withError(failed, gethErrorMessage(error))
    }
    const parent = frames[frames.length - 1]
    if (parent === undefined) return
    const output = captureReturnData ? result.execResult.returnValue.slice() : EMPTY
    const reverted = error !== undefined && error.error === 'revert'
    // geth keeps a create's output as RETURNDATA only when it reverted; a call's unless it halted exceptionally.
    parent.returnData = frame.isCreate ? (reverted ? output : EMPTY) : error === undefined || reverted ? output : EMPTY
  }

  return {
    attach(evm: EVMInterface, _context?: TraceContext): void {
      const events = eventsToTrace(evm, { attached: attached !== undefined, used })
      used = true
      events.on('step', onStep)
      events.on('beforeMessage', onBeforeMessage)
      events.on('afterMessage', onAfterMessage)
      attached = {
        evm,
        detach: () => {
          events.off('step', onStep)
          events.off('beforeMessage', onBeforeMessage)
          events.off('afterMessage', onAfterMessage)
        },
      }
    },

    detach(): void {
      attached?.detach()
      attached = undefined
    },

    result(run: RunTxResult): StructLoggerResult {
      const error = run.execResult.exceptionError
      const failed = error !== undefined
      // Like geth: the output on success, the revert data on revert, nothing on other failures.
      const returnValue = failed && error.error !== 'revert' ? '0x' : bytesHex(run.execResult.returnValue)
      return { gas: Number(run.totalGasSpent), failed, returnValue, structLogs: logs }
    },
  }
}

/** Gas a CALL-family opcode hands its callee (EIP-150 all-but-one-64th), which geth counts in the step's gasCost. */
function forwardedCallGas(gasLeft: bigint, fee: bigint, stack: bigint[]): bigint {
  const available = gasLeft - fee
  if (available <= 0n) return 0n
  const cap = available - available / 64n
  const requested = stack[stack.length - 1] ?? 0n
  return requested < cap ? requested : cap
}

function memoryWords(memory: Uint8Array, words: number): string[] {
  const size = words * 32
  let padded = memory
  if (memory.length < size) {
    // ethereumjs allocates lazily; geth shows the whole charged memory, zeros included.
    padded = new Uint8Array(size)
    padded.set(memory.subarray(0, size))
  }
  const hex = unprefixedHex(padded, 0, size)
  const out = new Array<string>(words)
  for (let w = 0; w < words; w++) out[w] = `0x${hex.slice(w * 64, w * 64 + 64)}`
  return out
}

/** A copy of `log` with `error` in geth's field position (right after depth). */
function withError(log: StructLog, error: string): StructLog {
  const { pc, op, gas, gasCost, depth, ...rest } = log
  return { pc, op, gas, gasCost, depth, error, ...rest }
}
