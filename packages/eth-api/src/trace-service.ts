import type { Block } from '@ethereumjs/block'
import { runTx } from '@ethereumjs/vm'
import type { ChainStore } from '@cairn/chain'
import { type CallRequest, parseParam, serverError, stateOverridesSchema } from '@cairn/rpc'
import { TracerError, type TraceOptions, createTracer } from '@cairn/tracer'
import type { CallRunner } from './call-runner.ts'
import type { TraceService } from './eth-api.ts'

/**
 * debug_traceTransaction and debug_traceCall: re-execute on the parent state (replaying the
 * block's earlier transactions untraced) and return the tracer's geth-shaped result.
 */
export function createTraceService(chain: ChainStore, calls: CallRunner): TraceService {
  const tracerFor = (options: unknown) => {
    try {
      return createTracer(options as TraceOptions)
    } catch (error) {
      if (error instanceof TracerError) throw serverError(error.message, { code: error.code })
      throw error
    }
  }
  return {
    async traceTransaction(txHash, options) {
      const location = await chain.getTransactionLocation(txHash)
      if (location === undefined) throw serverError('transaction not found')
      const { record, index } = location
      const parent = await chain.getBlockRecord(record.block.header.parentHash)
      if (parent === undefined) throw serverError('parent block not found: the state to replay from is missing')
      const tracer = tracerFor(options)
      const gasBefore = (i: number) => (i === 0 ? 0n : record.receipts[i - 1]!.cumulativeGasUsed)
      return calls.withVm({ block: parent.block }, async (vm) => {
        let logIndexOffset = 0
        for (let i = 0; i < index; i++) {
          const tx = record.block.transactions[i]!
          await runTx(vm, { tx, block: record.block, skipHardForkValidation: true, blockGasUsed: gasBefore(i) })
          logIndexOffset += record.receipts[i]!.logs.length
        }
        const tx = record.block.transactions[index]!
        tracer.attach(vm.evm, { gasLimit: tx.gasLimit, logIndexOffset })
        try {
          return tracer.result(
            await runTx(vm, { tx, block: record.block, skipHardForkValidation: true, blockGasUsed: gasBefore(index) }),
          )
        } finally {
          tracer.detach()
        }
      })
    },

    async traceCall(request: CallRequest, block: Block, options) {
      const { stateOverrides, ...traceOptions } = (options ?? {}) as { stateOverrides?: unknown } & Record<
        string,
        unknown
      >
      const overrides = stateOverrides === undefined ? undefined : parseParam(stateOverridesSchema, stateOverrides, 2)
      const tracer = tracerFor(traceOptions)
      return calls.withVm({ block, overrides }, async (vm) => {
        const callBlock = calls.callBlock(block, request)
        const gasLimit = calls.gasLimitFor(request, callBlock)
        tracer.attach(vm.evm, { gasLimit })
        try {
          const { result } = await calls.run(vm, callBlock, request, gasLimit)
          return tracer.result(result)
        } finally {
          tracer.detach()
        }
      })
    },
  }
}
