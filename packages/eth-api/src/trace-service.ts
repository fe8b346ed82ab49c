import type { Block } from '@ethereumjs/block'
import { bytesToHex } from '@ethereumjs/util'
import { runTx } from '@ethereumjs/vm'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import { beginBlock } from '@cairn/executor'
import {
  type CallRequest,
  blockOverridesSchema,
  invalidParams,
  parseParam,
  serverError,
  stateOverridesSchema,
} from '@cairn/rpc'
import { type EvmTracer, TracerError, type TraceOptions, createTracer } from '@cairn/tracer'
import { type CallEnvironment, type CallRunner, Refusal, refusalMessage } from './call-runner.ts'
import type { TraceService } from './eth-api.ts'

/**
 * debug_traceTransaction, debug_traceBlockBy* and debug_traceCall: re-execute on the parent state
 * (a block's transactions after the same pre-transaction steps block execution ran) and return the
 * tracer's geth-shaped result.
 */
export function createTraceService(chain: ChainStore, calls: CallRunner): TraceService {
  const tracerFor = (options: unknown): EvmTracer => {
    if (typeof options === 'function') return (options as () => EvmTracer)()
    try {
      return createTracer(options as TraceOptions)
    } catch (error) {
      if (error instanceof TracerError) {
        // Nesting past the cap is a bad argument, not a tracer geth lacks or one it would refuse to run.
        if (error.code === 'TRACER_CONFIG_TOO_DEEP') throw invalidParams(error.message)
        throw serverError(error.message, { code: error.code })
      }
      throw error
    }
  }

  /**
   * Replays the first `count` transactions of a stored block on its parent's state, as block
   * execution ran them; `tracerAt(i)` may attach a tracer to transaction i. Returns the results of
   * the tracers attached, in order.
   */
  async function replay(
    record: BlockRecord,
    count: number,
    tracerAt: (index: number) => EvmTracer | undefined,
  ): Promise<unknown[]> {
    const { block } = record
    if (block.header.number === 0n) throw serverError('genesis is not traceable')
    const parent = await chain.getBlockRecord(block.header.parentHash)
    if (parent === undefined) throw serverError('parent block not found: the state to replay from is missing')
    const gasBefore = (i: number) => (i === 0 ? 0n : record.receipts[i - 1]!.cumulativeGasUsed)
    return calls.withVm({ block: parent.block }, async (vm) => {
      const restore = await beginBlock(vm, chain, parent.block, block)
      try {
        const results: unknown[] = []
        let logIndexOffset = 0
        for (let i = 0; i < count; i++) {
          const tx = block.transactions[i]!
          const tracer = tracerAt(i)
          tracer?.attach(vm.evm, {
            gasLimit: tx.gasLimit,
            logIndexOffset,
            vm,
            coinbase: block.header.coinbase,
            transaction: { blockHash: block.hash(), blockNumber: block.header.number, hash: tx.hash(), index: i },
          })
          try {
            const run = await runTx(vm, { tx, block, skipHardForkValidation: true, blockGasUsed: gasBefore(i) })
            if (tracer !== undefined) results.push(tracer.result(run))
          } finally {
            tracer?.detach()
          }
          logIndexOffset += record.receipts[i]!.logs.length
        }
        return results
      } finally {
        restore()
      }
    })
  }

  return {
    async traceTransaction(txHash, options) {
      const location = await chain.getTransactionLocation(txHash)
      if (location === undefined) throw serverError('transaction not found')
      const tracer = tracerFor(options)
      const [result] = await replay(location.record, location.index + 1, (i) =>
        i === location.index ? tracer : undefined,
      )
      return result
    },

    async traceBlock(record, options) {
      // A tracer per transaction, like geth; options are checked before anything runs.
      tracerFor(options)
      const results = await replay(record, record.block.transactions.length, () => tracerFor(options))
      return results.map((result, i) => ({ txHash: bytesToHex(record.block.transactions[i]!.hash()), result }))
    },

    async traceCall(request: CallRequest, block: Block, options) {
      const env: CallEnvironment = { block }
      let tracer: EvmTracer
      if (typeof options === 'function') tracer = tracerFor(options)
      else if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options)))
        tracer = tracerFor(options) // refused as debug_traceTransaction refuses it
      else {
        // debug_traceCall's options carry the call's overrides beside the tracer's.
        const { stateOverrides, blockOverrides, ...traceOptions } = (options ?? {}) as {
          stateOverrides?: unknown
          blockOverrides?: unknown
        } & Record<string, unknown>
        if (stateOverrides !== undefined) env.overrides = parseParam(stateOverridesSchema, stateOverrides, 2)
        if (blockOverrides !== undefined) env.blockOverrides = parseParam(blockOverridesSchema, blockOverrides, 2)
        tracer = tracerFor(traceOptions)
      }
      // Like eth_call, in the block's own context (geth refuses to trace on `pending`).
      return calls.withVm(env, async (vm) => {
        const callBlock = calls.callBlock(env, request)
        const gasLimit = calls.gasLimitFor(request)
        tracer.attach(vm.evm, { gasLimit, vm, coinbase: callBlock.header.coinbase })
        try {
          // The request's own faults (both fee styles, another chain id) are refused before, as
          // geth's CallDefaults refuses them; what core refuses fails the trace itself.
          const { result } = await calls.run(vm, callBlock, request, gasLimit).catch((error: unknown) => {
            throw error instanceof Refusal ? serverError(refusalMessage(error, 'debug_traceCall')) : error
          })
          return tracer.result(result)
        } finally {
          tracer.detach()
        }
      })
    },
  }
}
