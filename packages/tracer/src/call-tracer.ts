import type { EVMError, EVMInterface, EVMResult, InterpreterStep, Message } from '@ethereumjs/evm'
import type { Address } from '@ethereumjs/util'
import type { RunTxResult } from '@ethereumjs/vm'
import { TracerError } from './errors.ts'
import { eventsToTrace } from './evm-events.ts'
import { bytesHex, quantityHex, wordHex } from './hex.ts'
import { decodeRevertReason } from './revert-reason.ts'
import { readMemory } from './memory.ts'
import { invalidOpcodeByte } from './opcode-names.ts'
import { precompileError } from './precompile-errors.ts'
import type { EvmTracer, TraceContext } from './types.ts'
import { CODE_STORE_OUT_OF_GAS, gethErrorMessage, isCodeDepositOutOfGas, REVERT_ERROR } from './vm-errors.ts'

/** geth's callTracer `tracerConfig`. */
export interface CallTracerConfig {
  /** Record only the transaction's own frame, no sub-calls. */
  onlyTopCall?: boolean
  /** Record logs on the frame that emitted them (cleared from frames that reverted, as geth does). */
  withLog?: boolean
}

export type CallType = 'CALL' | 'STATICCALL' | 'DELEGATECALL' | 'CALLCODE' | 'CREATE' | 'CREATE2' | 'SELFDESTRUCT'

export interface CallLog {
  address: string
  topics: string[]
  data: string
  /** Block-wide log index (offset by TraceContext.logIndexOffset). */
  index: string
  /** Number of sub-calls of the emitting frame made before this log. */
  position: string
}

/** One call frame in geth's callTracer JSON, fields in geth's order. */
export interface CallFrame {
  from: string
  gas: string
  gasUsed: string
  to?: string
  input: string
  output?: string
  error?: string
  revertReason?: string
  calls?: CallFrame[]
  logs?: CallLog[]
  value?: string
  type: CallType
}

interface OpenFrame {
  message: Message | undefined
  type: CallType
  from: string
  to: string | undefined
  input: Uint8Array
  gas: bigint
  gasUsed: bigint
  value: bigint | undefined
  output: Uint8Array | undefined
  error: string | undefined
  revertReason: string | undefined
  calls: OpenFrame[]
  logs: CallLog[]
  isStatic: boolean
  /** Last opcode this frame executed (from step events), to type its sub-calls and name invalid opcodes. */
  lastOpcode: number
  /** A CALL/CREATE step of this frame whose callee frame has not started (yet). */
  pendingCall: InterpreterStep | undefined
  /** Gas figures of this frame's latest RETURN step, to recognise a failed code deposit. */
  lastReturn: { opcode: number; gasLeft: bigint; fee: bigint } | undefined
}

const EMPTY = new Uint8Array(0)

const CALL_OPCODES: ReadonlyMap<number, CallType> = new Map([
  [0xf0, 'CREATE'],
  [0xf1, 'CALL'],
  [0xf2, 'CALLCODE'],
  [0xf4, 'DELEGATECALL'],
  [0xf5, 'CREATE2'],
  [0xfa, 'STATICCALL'],
])
const OP_LOG0 = 0xa0
const OP_LOG4 = 0xa4
const OP_SELFDESTRUCT = 0xff
const OP_RETURN = 0xf3

/** How the top frame counts gas; not part of geth's tracerConfig (the `trace_` namespace sets it). */
export interface TopFrameGasOptions {
  /**
   * The gas the transaction's code was given and used, as Parity's traces report it: without the
   * intrinsic gas, and used before refunds. By default, geth's: the transaction's gas limit, and the
   * receipt's gas used.
   */
  executionGas?: boolean
}

/**
 * geth's `callTracer`: the tree of call frames of one transaction.
 * Sub-call types, logs and SELFDESTRUCT frames come from `step` events, so unless `onlyTopCall`
 * is set (without `withLog`) the EVM runs with a step listener.
 */
export function createCallTracer(
  config: CallTracerConfig = {},
  options: TopFrameGasOptions = {},
): EvmTracer<CallFrame> {
  const executionGas = options.executionGas === true
  const onlyTopCall = config.onlyTopCall === true
  const withLog = config.withLog === true
  const needsSteps = !onlyTopCall || withLog

  let context: TraceContext = {}
  let top: OpenFrame | undefined
  // Open frames, innermost last; with onlyTopCall it holds the top frame only.
  const callstack: OpenFrame[] = []
  let depth = -1
  // Logs emitted and not (yet) reverted in this transaction, and that count at the start of each open message.
  let liveLogs = 0
  const logMarks: number[] = []
  let used = false
  let attached: (() => void) | undefined

  function onStep(step: InterpreterStep): void {
    const frameOfStep = callstack[callstack.length - 1]
    const opcode =
      step.opcode.name === 'INVALID' && frameOfStep?.message !== undefined
        ? invalidOpcodeByte(frameOfStep.message, step.pc)
        : step.opcode.code
    const isLog = opcode >= OP_LOG0 && opcode <= OP_LOG4
    const frame = frameOfStep
    if (frame === undefined || step.depth !== depth) {
      // Sub-call steps under onlyTopCall: only the block log index needs them.
      if (isLog) liveLogs++
      return
    }
    if (frame.pendingCall !== undefined) {
      // The previous opcode was a call that ethereumjs refused before starting a frame; geth enters one.
      frame.calls.push(refusedCallFrame(frame, frame.pendingCall))
      frame.pendingCall = undefined
    }
    frame.lastOpcode = opcode
    if (!onlyTopCall && CALL_OPCODES.has(opcode)) frame.pendingCall = step
    if (opcode === OP_RETURN) {
      frame.lastReturn = { opcode, gasLeft: step.gasLeft, fee: step.opcode.dynamicFee ?? BigInt(step.opcode.fee) }
    }
    if (isLog) {
      recordLog(frame, step, opcode - OP_LOG0)
    } else if (opcode === OP_SELFDESTRUCT && !onlyTopCall) {
      const beneficiary = step.stack[step.stack.length - 1] ?? 0n
      const selfdestruct = newFrame('SELFDESTRUCT', step.address.toString(), addressFromWord(beneficiary), EMPTY, 0n)
      // env.contract is refreshed after every sub-call, so it holds the balance SELFDESTRUCT moves.
      selfdestruct.value = step.account.balance
      frame.calls.push(selfdestruct)
    }
  }

  // Read from the step before LOGn runs; if the LOG itself then fails, its frame fails and geth drops the log anyway.
  function recordLog(frame: OpenFrame, step: InterpreterStep, topicCount: number): void {
    const stack = step.stack
    const n = stack.length
    if (n < 2 + topicCount) return
    const offset = stack[n - 1] as bigint
    const size = stack[n - 2] as bigint
    const topics: string[] = []
    for (let i = 0; i < topicCount; i++) topics.push(wordHex(stack[n - 3 - i] as bigint))
    const index = (context.logIndexOffset ?? 0) + liveLogs
    liveLogs++
    // A LOG's data costs 8 gas a byte: one with more than the gas left fails, and with it its frame and
    // the log. Its size can be any word, far beyond what memory can hold, so it is not read.
    if (!withLog || size * LOG_DATA_GAS > step.gasLeft) return
    frame.logs.push({
      address: step.address.toString(),
      topics,
      data: bytesHex(readMemory(step.memory, offset, size)),
      index: quantityHex(index),
      position: quantityHex(frame.calls.length),
    })
  }

  function onBeforeMessage(message: Message): void {
    depth = message.depth
    logMarks.push(liveLogs)
    if (depth === 0) {
      const type: CallType = message.to === undefined ? 'CREATE' : 'CALL'
      top = newFrame(
        type,
        message.caller.toString(),
        message.to?.toString(),
        message.data.slice(),
        executionGas ? message.gasLimit : (context.gasLimit ?? message.gasLimit),
      )
      top.value = message.value
      top.isStatic = message.isStatic
      top.message = message
      callstack.length = 0
      callstack.push(top)
      return
    }
    if (onlyTopCall) return
    const parent = callstack[callstack.length - 1]
    if (parent !== undefined) parent.pendingCall = undefined
    const type = childCallType(message, parent)
    let from = message.caller.toString()
    let to = message.to?.toString()
    if (type === 'DELEGATECALL') {
      // ethereumjs keeps the original caller on a delegatecall message; geth reports the delegating contract.
      from = (message.to as Address).toString()
      to = message.codeAddress.toString()
    } else if (type === 'CALLCODE') {
      to = message.codeAddress.toString()
    }
    // Copied: ethereumjs may hand over a view of the caller's memory, which later opcodes overwrite.
    const frame = newFrame(type, from, to, message.data.slice(), message.gasLimit)
    frame.value = type === 'STATICCALL' ? undefined : message.value
    frame.isStatic = message.isStatic
    frame.message = message
    callstack.push(frame)
  }

  function onAfterMessage(result: EVMResult): void {
    const finishedDepth = depth
    depth--
    const error = result.execResult.exceptionError
    const logsAtStart = logMarks.pop() ?? 0
    // geth's journal drops a failed frame's logs, so later logs reuse their block indexes.
    if (error !== undefined) liveLogs = logsAtStart
    if (onlyTopCall && finishedDepth > 0) return
    const frame = callstack.pop()
    if (frame === undefined) return
    frame.gasUsed = result.execResult.executionGasUsed
    if (frame.pendingCall !== undefined && error === undefined)
      frame.calls.push(refusedCallFrame(frame, frame.pendingCall))
    frame.pendingCall = undefined
    const output = result.execResult.returnValue.slice()
    if (error === undefined) {
      frame.output = output
    } else {
      if (frame.lastOpcode === OP_SELFDESTRUCT && frame.calls[frame.calls.length - 1]?.type === 'SELFDESTRUCT') {
        // The SELFDESTRUCT itself failed (out of gas, static context): geth never entered its frame.
        frame.calls.pop()
      }
      const isCreate = frame.type === 'CREATE' || frame.type === 'CREATE2'
      const lastStep = frame.lastOpcode === OP_RETURN ? frame.lastReturn : undefined
      frame.error = isCodeDepositOutOfGas(isCreate, error, lastStep)
        ? CODE_STORE_OUT_OF_GAS
        : frameError(frame, error, result)
      if (frame.type === 'CREATE' || frame.type === 'CREATE2') frame.to = undefined
      if (frame.error === REVERT_ERROR && output.length > 0) {
        frame.output = output
        frame.revertReason = decodeRevertReason(output)
      }
    }
    // Release the message (and the code it holds) once the frame is done.
    frame.message = undefined
    const parent = callstack[callstack.length - 1]
    if (parent !== undefined) parent.calls.push(frame)
  }

  function onNewContract(event: { address: Address }): void {
    const frame = callstack[callstack.length - 1]
    if (frame !== undefined && frame.to === undefined && (frame.type === 'CREATE' || frame.type === 'CREATE2')) {
      frame.to = event.address.toString()
    }
  }

  return {
    attach(evm: EVMInterface, traceContext: TraceContext = {}): void {
      const events = eventsToTrace(evm, { attached: attached !== undefined, used })
      used = true
      context = traceContext
      if (needsSteps) events.on('step', onStep)
      events.on('beforeMessage', onBeforeMessage)
      events.on('afterMessage', onAfterMessage)
      events.on('newContract', onNewContract)
      attached = () => {
        if (needsSteps) events.off('step', onStep)
        events.off('beforeMessage', onBeforeMessage)
        events.off('afterMessage', onAfterMessage)
        events.off('newContract', onNewContract)
      }
    },

    detach(): void {
      attached?.()
      attached = undefined
    },

    result(run: RunTxResult): CallFrame {
      if (top === undefined) {
        throw new TracerError(
          'TRACER_NOT_ATTACHED',
          'the call tracer saw no transaction; attach it to the EVM before running the transaction',
        )
      }
      // The top frame reports the receipt's gas, as geth does: intrinsic gas and refunds included.
      if (!executionGas) top.gasUsed = run.totalGasSpent
      if (withLog) clearFailedLogs(top, false)
      return toJson(top)
    },
  }
}

/**
 * geth's error for a failed frame: a precompile's own error (never a revert, as ethereumjs reports
 * some), else the EVM's error in geth's words, naming the opcode the frame failed at.
 */
function frameError(frame: OpenFrame, error: EVMError, result: EVMResult): string {
  const message = frame.message
  const refused =
    message === undefined ? undefined : precompileError(message.codeAddress, message.data, result.execResult)
  return refused ?? gethErrorMessage(error, frame.lastOpcode >= 0 ? frame.lastOpcode : undefined)
}

function newFrame(type: CallType, from: string, to: string | undefined, input: Uint8Array, gas: bigint): OpenFrame {
  return {
    message: undefined,
    type,
    from,
    to,
    input,
    gas,
    gasUsed: 0n,
    value: undefined,
    output: undefined,
    error: undefined,
    revertReason: undefined,
    calls: [],
    logs: [],
    isStatic: false,
    lastOpcode: -1,
    pendingCall: undefined,
    lastReturn: undefined,
  }
}

/**
 * The opcode behind a sub-call. The parent's last step names it exactly; without step events the
 * message shape decides, which cannot tell a CALL made inside a static context from a STATICCALL.
 */
function childCallType(message: Message, parent: OpenFrame | undefined): CallType {
  const byOpcode = parent === undefined ? undefined : CALL_OPCODES.get(parent.lastOpcode)
  if (byOpcode !== undefined) return byOpcode
  if (message.to === undefined) return message.salt === undefined ? 'CREATE' : 'CREATE2'
  if (message.delegatecall) return 'DELEGATECALL'
  if (message._codeAddress !== undefined && !message._codeAddress.equals(message.to)) return 'CALLCODE'
  if (message.isStatic && parent !== undefined && !parent.isStatic) return 'STATICCALL'
  return 'CALL'
}

/**
 * The frame geth records for a call or create refused before it starts (call depth limit or
 * insufficient balance), rebuilt from the opcode's step since ethereumjs emits no message for it.
 */
function refusedCallFrame(parent: OpenFrame, step: InterpreterStep): OpenFrame {
  const stack = step.stack
  const n = stack.length
  const arg = (i: number): bigint => stack[n - 1 - i] ?? 0n
  const type = CALL_OPCODES.get(step.opcode.code) as CallType
  const isCreate = type === 'CREATE' || type === 'CREATE2'
  const hasValue = type === 'CALL' || type === 'CALLCODE'
  const value = isCreate ? arg(0) : hasValue ? arg(2) : type === 'DELEGATECALL' ? (parent.value ?? 0n) : undefined
  const [inputOffset, inputSize] = isCreate ? [arg(1), arg(2)] : hasValue ? [arg(3), arg(4)] : [arg(2), arg(3)]
  // Gas geth hands the callee: all but 1/64th of what is left after the opcode's fee, capped by the request for calls.
  const available = step.gasLeft - (step.opcode.dynamicFee ?? BigInt(step.opcode.fee))
  const cap = available > 0n ? available - available / 64n : 0n
  let gas = isCreate || arg(0) > cap ? cap : arg(0)
  if (hasValue && (value ?? 0n) > 0n) gas += 2300n
  const frame = newFrame(
    type,
    step.address.toString(),
    isCreate ? undefined : addressFromWord(arg(1)),
    readMemory(step.memory, inputOffset, inputSize),
    gas,
  )
  frame.value = value
  frame.error =
    value !== undefined && type !== 'DELEGATECALL' && value > step.account.balance
      ? 'insufficient balance for transfer'
      : 'max call depth exceeded'
  return frame
}

/** Gas per byte of LOG data (G_logdata). */
const LOG_DATA_GAS = 8n

function addressFromWord(word: bigint): string {
  return `0x${(word & ((1n << 160n) - 1n)).toString(16).padStart(40, '0')}`
}

function clearFailedLogs(frame: OpenFrame, parentFailed: boolean): void {
  const failed = parentFailed || frame.error !== undefined
  if (failed) frame.logs = []
  for (const call of frame.calls) clearFailedLogs(call, failed)
}

function toJson(frame: OpenFrame): CallFrame {
  const json: CallFrame = {
    from: frame.from,
    gas: quantityHex(frame.gas),
    gasUsed: quantityHex(frame.gasUsed),
  } as CallFrame
  if (frame.to !== undefined) json.to = frame.to
  json.input = bytesHex(frame.input)
  if (frame.output !== undefined && frame.output.length > 0) json.output = bytesHex(frame.output)
  if (frame.error !== undefined) json.error = frame.error
  if (frame.revertReason !== undefined && frame.revertReason !== '') json.revertReason = frame.revertReason
  if (frame.calls.length > 0) json.calls = frame.calls.map(toJson)
  if (frame.logs.length > 0) json.logs = frame.logs
  if (frame.value !== undefined) json.value = quantityHex(frame.value)
  json.type = frame.type
  return json
}
