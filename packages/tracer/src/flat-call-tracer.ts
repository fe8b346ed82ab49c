import type { EVMInterface } from '@ethereumjs/evm'
import type { RunTxResult } from '@ethereumjs/vm'
import { type CallFrame, type TopFrameGasOptions, createCallTracer } from './call-tracer.ts'
import { isPrecompile } from './evm-events.ts'
import { bytesHex } from './hex.ts'
import type { EvmTracer, TraceContext } from './types.ts'
import { REVERT_ERROR } from './vm-errors.ts'

/** geth's flatCallTracer `tracerConfig`. */
export interface FlatCallTracerConfig {
  /** Replace geth's error messages by Parity's ("Reverted", "Out of gas", ...). */
  convertParityErrors?: boolean
  /** Keep CALLs and STATICCALLs to precompiles, which Parity traces leave out. */
  includePrecompiles?: boolean
}

/** A trace's `action`, fields in geth's order; which are set depends on the trace's type. */
export interface FlatCallAction {
  /** SELFDESTRUCT: the contract destroyed. */
  address?: string
  /** SELFDESTRUCT: the balance it moved. */
  balance?: string
  callType?: 'call' | 'staticcall' | 'delegatecall' | 'callcode'
  creationMethod?: 'create' | 'create2'
  from?: string
  gas?: string
  /** CREATE: the init code. */
  init?: string
  input?: string
  /** SELFDESTRUCT: the beneficiary. */
  refundAddress?: string
  to?: string
  value?: string
}

export interface FlatCallResult {
  /** CREATE: the new contract. */
  address?: string
  /** CREATE: the code it returned. */
  code?: string
  gasUsed?: string
  output?: string
}

/** One trace of geth's flatCallTracer: Parity's trace format, one per frame, depth first. */
export interface FlatCallTrace {
  action: FlatCallAction
  blockHash: string | null
  blockNumber: number
  error?: string
  /** Absent for SELFDESTRUCT and for frames that failed other than by reverting. */
  result?: FlatCallResult
  subtraces: number
  /** The frame's position: the index of each ancestor among its parent's sub-calls, then its own. */
  traceAddress: number[]
  transactionHash: string | null
  transactionPosition: number
  type: 'call' | 'create' | 'suicide'
}

/** geth's message → Parity's, as geth's flatCallTracer maps them with `convertParityErrors`. */
const PARITY_ERRORS: ReadonlyMap<string, string> = new Map([
  ['contract creation code storage out of gas', 'Out of gas'],
  ['out of gas', 'Out of gas'],
  ['gas uint64 overflow', 'Out of gas'],
  ['max code size exceeded', 'Out of gas'],
  ['invalid jump destination', 'Bad jump destination'],
  [REVERT_ERROR, 'Reverted'],
  ['return data out of bounds', 'Out of bounds'],
  ['stack limit reached 1024 (1023)', 'Out of stack'],
  ['precompiled failed', 'Built-in failed'],
  ['invalid input length', 'Built-in failed'],
])
const PARITY_ERROR_PREFIXES: readonly [string, string][] = [
  ['invalid opcode:', 'Bad instruction'],
  ['stack underflow', 'Stack underflow'],
]

/**
 * geth's flatCallTracer: the call tracer's frames (without logs) flattened into Parity-style traces,
 * each with its position in the call tree, and the block and transaction it belongs to
 * (`TraceContext.transaction`; none for debug_traceCall, as geth: null hashes, block 0).
 */
export function createFlatCallTracer(
  config: FlatCallTracerConfig = {},
  options: TopFrameGasOptions = {},
): EvmTracer<FlatCallTrace[]> {
  const calls = createCallTracer({}, options)
  let context: TraceContext = {}
  let precompiles: EVMInterface['precompiles'] = new Map()
  return {
    attach(evm: EVMInterface, traceContext: TraceContext = {}): void {
      context = traceContext
      precompiles = evm.precompiles
      calls.attach(evm, traceContext)
    },
    detach(): void {
      calls.detach()
    },
    result(run: RunTxResult): FlatCallTrace[] {
      const top = calls.result(run)
      const transaction = context.transaction
      const frameContext = {
        blockHash: transaction === undefined ? null : bytesHex(transaction.blockHash),
        blockNumber: Number(transaction?.blockNumber ?? 0n),
        transactionHash: transaction === undefined ? null : bytesHex(transaction.hash),
        transactionPosition: transaction?.index ?? 0,
      }
      const traces: FlatCallTrace[] = []
      const visit = (frame: CallFrame, traceAddress: number[]): void => {
        // Parity traces leave out plain calls to precompiles (geth drops them as they return).
        const children = (frame.calls ?? []).filter(
          (child) =>
            config.includePrecompiles === true ||
            (child.type !== 'CALL' && child.type !== 'STATICCALL') ||
            child.to === undefined ||
            !isPrecompile(precompiles, child.to),
        )
        traces.push(flatTrace(frame, traceAddress, children.length, frameContext, config.convertParityErrors === true))
        for (const [i, child] of children.entries()) visit(child, [...traceAddress, i])
      }
      visit(top, [])
      return traces
    },
  }
}

/**
 * The traces of the `trace_` namespace, as OpenEthereum, Erigon and Reth give them: flatCallTracer's,
 * with Parity's error words, and the top-level trace's gas and gasUsed counting execution only (no
 * intrinsic gas; used before refunds). Plain calls to precompiles are left out, as in Reth.
 */
export function createTraceApiTracer(): EvmTracer<FlatCallTrace[]> {
  return createFlatCallTracer({ convertParityErrors: true }, { executionGas: true })
}

function flatTrace(
  frame: CallFrame,
  traceAddress: number[],
  subtraces: number,
  context: Pick<FlatCallTrace, 'blockHash' | 'blockNumber' | 'transactionHash' | 'transactionPosition'>,
  convertParityErrors: boolean,
): FlatCallTrace {
  // Frames without a value (STATICCALL) carry zero, as in Parity's traces.
  const value = frame.value ?? '0x0'
  let type: FlatCallTrace['type']
  let action: FlatCallAction
  let result: FlatCallResult | undefined
  switch (frame.type) {
    case 'CREATE':
    case 'CREATE2':
      type = 'create'
      action = {
        creationMethod: frame.type === 'CREATE' ? 'create' : 'create2',
        from: frame.from,
        gas: frame.gas,
        init: frame.input,
        value,
      }
      result = { address: frame.to, code: frame.output ?? '0x', gasUsed: frame.gasUsed }
      break
    case 'SELFDESTRUCT':
      type = 'suicide'
      action = { address: frame.from, balance: value, refundAddress: frame.to }
      break
    default:
      type = 'call'
      action = {
        callType: frame.type.toLowerCase() as FlatCallAction['callType'],
        from: frame.from,
        gas: frame.gas,
        input: frame.input,
        to: frame.to,
        value,
      }
      result = { gasUsed: frame.gasUsed, output: frame.output ?? '0x' }
  }
  // A revert's output (its reason) is kept; any other failure has no result.
  if (frame.error !== undefined && frame.error !== REVERT_ERROR) result = undefined
  return {
    action,
    blockHash: context.blockHash,
    blockNumber: context.blockNumber,
    ...(frame.error === undefined ? {} : { error: convertParityErrors ? parityError(frame.error) : frame.error }),
    ...(result === undefined ? {} : { result }),
    subtraces,
    traceAddress,
    transactionHash: context.transactionHash,
    transactionPosition: context.transactionPosition,
    type,
  }
}

function parityError(error: string): string {
  const mapped = PARITY_ERRORS.get(error)
  if (mapped !== undefined) return mapped
  for (const [prefix, parity] of PARITY_ERROR_PREFIXES) if (error.startsWith(prefix)) return parity
  return error
}
