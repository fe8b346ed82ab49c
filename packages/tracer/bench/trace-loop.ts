// Cost of tracing a compute-heavy transaction: `npx tsx packages/tracer/bench/trace-loop.ts`
import { compile, TestChain, calldata } from '../test/harness.ts'
import { createCallTracer, createStructLogger, type EvmTracer, type StructLoggerResult } from '../src/index.ts'

const contracts = compile()
const spinner = contracts.Spinner
if (spinner === undefined) throw new Error('Spinner not compiled')
const chain = await TestChain.create()
const address = await chain.deploy(spinner)
const rounds = BigInt(process.argv[2] ?? '15000')

async function measure(label: string, tracer: EvmTracer | undefined): Promise<void> {
  const tx = chain.tx({ to: address, data: calldata(spinner as never, 'loop(uint256)', rounds), gasLimit: 10_000_000n })
  const started = performance.now()
  let steps = 0
  if (tracer === undefined) {
    const run = await chain.run(tx)
    console.log(
      `${label.padEnd(34)} ${(performance.now() - started).toFixed(0).padStart(6)} ms  gas ${run.totalGasSpent}`,
    )
    return
  }
  const { result } = await chain.trace(tx, tracer)
  const elapsed = performance.now() - started
  const structLogs = (result as StructLoggerResult).structLogs
  if (Array.isArray(structLogs)) steps = structLogs.length
  const size = JSON.stringify(result).length
  console.log(
    `${label.padEnd(34)} ${elapsed.toFixed(0).padStart(6)} ms  steps ${steps}  json ${(size / 1e6).toFixed(1)} MB`,
  )
}

await measure('untraced', undefined)
await measure('callTracer', createCallTracer())
await measure('struct logger (default)', createStructLogger())
await measure('struct logger (no stack/storage)', createStructLogger({ disableStack: true, disableStorage: true }))
await measure('struct logger (memory)', createStructLogger({ enableMemory: true }))
await measure('struct logger (limit 1 MB)', createStructLogger({ limit: 1_000_000 }))
