import type { EVMInterface } from '@ethereumjs/evm'
import type { RunTxResult } from '@ethereumjs/vm'
import type { EvmTracer, TraceContext } from './types.ts'

/**
 * geth's muxTracer: several tracers follow one execution, and the result names each one's result by
 * its tracer's name (`{ "callTracer": {...}, "4byteTracer": {...} }`).
 */
export function createMuxTracer(tracers: ReadonlyMap<string, EvmTracer>): EvmTracer<Record<string, unknown>> {
  return {
    attach(evm: EVMInterface, context?: TraceContext): void {
      for (const tracer of tracers.values()) tracer.attach(evm, context)
    },
    detach(): void {
      for (const tracer of tracers.values()) tracer.detach()
    },
    result(run: RunTxResult): Record<string, unknown> {
      const results: Record<string, unknown> = {}
      for (const [name, tracer] of tracers) results[name] = tracer.result(run)
      return results
    },
  }
}
