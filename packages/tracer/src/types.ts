import type { EVMInterface } from '@ethereumjs/evm'
import type { Address } from '@ethereumjs/util'
import type { RunTxResult, VM } from '@ethereumjs/vm'

/** What a tracer needs to know about the transaction beyond what the EVM reports. */
export interface TraceContext {
  /** The transaction's gas limit; geth reports it as the top call frame's `gas`. */
  gasLimit?: bigint
  /** Block-wide index the transaction's first log will get (logs of earlier txs in the block); feeds callTracer `logs[].index`. */
  logIndexOffset?: number
  /**
   * The VM that runs the transaction. prestateTracer needs it: geth reads the sender's and
   * recipient's state before gas is bought and the post-state after fees and refunds, which only
   * the VM's `beforeTx`/`afterTx` events see (the EVM's events start after the sender is debited).
   */
  vm?: Pick<VM, 'events'>
  /** The block's fee recipient, whose state prestateTracer records as geth does. */
  coinbase?: Address
  /**
   * Where the transaction sits, for tracers that report it (flatCallTracer); absent for
   * debug_traceCall, which traces no stored transaction.
   */
  transaction?: { blockHash: Uint8Array; blockNumber: bigint; hash: Uint8Array; index: number }
}

/**
 * A tracer follows one transaction on an ethereumjs EVM through its public events.
 * Usage: `attach(vm.evm, { gasLimit: tx.gasLimit, vm, coinbase })`, `runTx(vm, ...)`, `detach()`, `result(run)`.
 * ethereumjs emits `beforeMessage`/`afterMessage`/`newContract` always and `step` whenever a listener
 * is registered, so no special EVM options are needed.
 */
export interface EvmTracer<Result = unknown> {
  attach(evm: EVMInterface, context?: TraceContext): void
  detach(): void
  /** The JSON-RPC result, shaped exactly as geth's tracer of the same name returns it. */
  result(run: RunTxResult): Result
}
