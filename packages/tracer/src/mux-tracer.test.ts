import { describe, expect, it } from 'vitest'
import { TestChain, calldata, compiledContracts, word } from '../test/harness.ts'
import { createTracer } from './index.ts'

const contract = compiledContracts()

describe('mux tracer', () => {
  it('gives each named tracer’s result for one execution, as each gives it alone', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const data = calldata(contract('Caller'), 'tryCheck(uint256)', 1n)
    const config = { callTracer: { withLog: true }, '4byteTracer': null, flatCallTracer: {} }
    // The same call, once per tracer: it writes no storage, so each run sees the state the others saw.
    const alone: Record<string, unknown> = {}
    for (const [name, tracerConfig] of Object.entries(config)) {
      const { result } = await chain.trace(chain.tx({ to: caller, data }), createTracer({ tracer: name, tracerConfig }))
      alone[name] = result
    }
    const { result } = await chain.trace(
      chain.tx({ to: caller, data }),
      createTracer({ tracer: 'muxTracer', tracerConfig: config }),
    )
    expect(result).toStrictEqual(alone)
    expect(Object.keys(alone['4byteTracer'] as object)).toHaveLength(2)
  })
})
