import type { EVMInterface } from '@ethereumjs/evm'
import type { RunTxResult } from '@ethereumjs/vm'

/** What a tracer needs to know about the transaction beyond what the EVM reports. */
export interface TraceContext {
  /** The transaction's gas limit; geth reports it as the top call frame's `gas`. */
  gasLimit?: bigint
  /** Block-wide index the transaction's first log will get (logs of earlier txs in the block); feeds callTracer `logs[].index`. */
  logIndexOffset?: number
}

/**
 * A tracer follows one transaction on an ethereumjs EVM through its public events.
 * Usage: `attach(vm.evm, { gasLimit: tx.gasLimit })`, `runTx(vm, ...)`, `detach()`, `result(run)`.
 * ethereumjs emits `beforeMessage`/`afterMessage`/`newContract` always and `step` whenever a listener
 * is registered, so no special EVM options are needed.
 */
export interface EvmTracer {
  attach(evm: EVMInterface, context?: TraceContext): void
  detach(): void
  /** The JSON-RPC result, shaped exactly as geth's tracer of the same name returns it. */
  result(run: RunTxResult): unknown
}
