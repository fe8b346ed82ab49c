import { isCairnError } from '@cairn/primitives'
import { describe, expect, it } from 'vitest'
import { TestChain } from '../test/harness.ts'
import { MAX_MUX_DEPTH, TracerError, createTracer } from './index.ts'

function traceError(run: () => unknown): TracerError {
  try {
    run()
  } catch (error) {
    if (error instanceof TracerError) return error
    throw error
  }
  throw new Error('expected a TracerError')
}

describe('createTracer', () => {
  it('uses the struct logger when no tracer is named, configured by the top-level flags', async () => {
    const chain = await TestChain.create()
    const recipient = TestChain.address('0x00000000000000000000000000000000000000aa')
    const tracer = createTracer({ disableStorage: true, enableMemory: true, limit: 0 })
    const { result } = await chain.trace(chain.tx({ to: recipient, gasLimit: 21_000n }), tracer)
    expect(result).toStrictEqual({ gas: 21000, failed: false, returnValue: '0x', structLogs: [] })
  })

  it('maps "callTracer" with its tracerConfig', async () => {
    const chain = await TestChain.create()
    const recipient = TestChain.address('0x00000000000000000000000000000000000000aa')
    const tracer = createTracer({ tracer: 'callTracer', tracerConfig: { onlyTopCall: true, withLog: true } })
    const { result } = await chain.trace(chain.tx({ to: recipient, gasLimit: 21_000n }), tracer)
    expect(result).toMatchObject({ type: 'CALL', gas: '0x5208', gasUsed: '0x5208' })
  })

  it('returns {} for noopTracer', async () => {
    const chain = await TestChain.create()
    const recipient = TestChain.address('0x00000000000000000000000000000000000000aa')
    const { result } = await chain.trace(
      chain.tx({ to: recipient, gasLimit: 21_000n }),
      createTracer({ tracer: 'noopTracer' }),
    )
    expect(result).toStrictEqual({})
  })

  it('refuses unknown tracer names with TRACER_NOT_FOUND', () => {
    const error = traceError(() => createTracer({ tracer: 'fancyTracer' }))
    expect(isCairnError(error, 'TRACER_NOT_FOUND')).toBe(true)
    expect(error.message).toBe('tracer not found: fancyTracer')
  })

  it('refuses JavaScript tracers and unimplemented native ones with TRACER_NOT_SUPPORTED', () => {
    const js = traceError(() =>
      createTracer({ tracer: '{data: [], step: function(log) {}, result: function() { return this.data }}' }),
    )
    expect(js.code).toBe('TRACER_NOT_SUPPORTED')
    expect(js.message).toMatch(/JavaScript tracers are not supported/)
    expect(traceError(() => createTracer({ tracer: 'opcountTracer' })).code).toBe('TRACER_NOT_SUPPORTED')
    expect(traceError(() => createTracer({ tracer: 'erc7562Tracer' })).message).toBe(
      'tracer not supported: erc7562Tracer; use the default struct logger or one of the native tracers "callTracer", "flatCallTracer", "prestateTracer", "4byteTracer", "muxTracer", "noopTracer"',
    )
  })

  it('builds muxTracers nested MAX_MUX_DEPTH deep and refuses deeper ones with TRACER_CONFIG_TOO_DEEP', () => {
    /** `depth` muxTracers, each the only tracer of the one around it, a callTracer in the innermost. */
    const nested = (depth: number) => {
      let config: unknown = { callTracer: {} }
      for (let i = 1; i < depth; i++) config = { muxTracer: config }
      return { tracer: 'muxTracer', tracerConfig: config }
    }
    expect(createTracer(nested(MAX_MUX_DEPTH))).toBeDefined()
    for (const depth of [MAX_MUX_DEPTH + 1, 3_000]) {
      const error = traceError(() => createTracer(nested(depth)))
      expect(error.code).toBe('TRACER_CONFIG_TOO_DEEP')
      expect(error.message).toBe(`muxTracers nest at most ${MAX_MUX_DEPTH} deep`)
    }
  })

  it('names the bad setting when options have the wrong type', () => {
    expect(traceError(() => createTracer({ tracer: 'callTracer', tracerConfig: { onlyTopCall: 'yes' } })).message).toBe(
      'tracerConfig.onlyTopCall must be a boolean, got "yes"',
    )
    expect(
      traceError(() => createTracer({ tracer: 'flatCallTracer', tracerConfig: { includePrecompiles: 1 } })).message,
    ).toBe('tracerConfig.includePrecompiles must be a boolean, got 1')
    // muxTracer checks each tracer it names, and names nothing but tracers.
    expect(
      traceError(() => createTracer({ tracer: 'muxTracer', tracerConfig: { callTracer: { withLog: 'no' } } })).message,
    ).toBe('tracerConfig.withLog must be a boolean, got "no"')
    expect(traceError(() => createTracer({ tracer: 'muxTracer', tracerConfig: { fancyTracer: {} } })).code).toBe(
      'TRACER_NOT_FOUND',
    )
    expect(traceError(() => createTracer({ limit: '10' as unknown as number })).code).toBe('TRACER_INVALID_CONFIG')
    expect(traceError(() => createTracer({ tracer: 'callTracer', tracerConfig: [] })).code).toBe(
      'TRACER_INVALID_CONFIG',
    )
  })
})
