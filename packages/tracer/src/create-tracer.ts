import { type CallTracerConfig, createCallTracer } from './call-tracer.ts'
import { TracerError } from './errors.ts'
import { type FlatCallTracerConfig, createFlatCallTracer } from './flat-call-tracer.ts'
import { createFourByteTracer } from './four-byte-tracer.ts'
import { createMuxTracer } from './mux-tracer.ts'
import { type PrestateTracerConfig, createPrestateTracer } from './prestate-tracer.ts'
import { createStructLogger } from './struct-logger.ts'
import type { EvmTracer } from './types.ts'

/** The options object of `debug_traceTransaction` / `debug_traceCall` (geth's TraceConfig). */
export interface TraceOptions {
  tracer?: string | null
  tracerConfig?: unknown
  disableStorage?: boolean
  disableStack?: boolean
  enableMemory?: boolean
  enableReturnData?: boolean
  limit?: number
  /** Accepted for compatibility; the RPC layer enforces time limits. */
  timeout?: string
  /** Accepted and ignored, as by geth's RPC (it only prints to the node's stdout). */
  debug?: boolean
}

// geth's JavaScript tracers (eth/tracers/js/internal/tracers); named here so the error says why they fail.
const JS_TRACER_NAMES = new Set([
  'bigramTracer',
  'evmdisTracer',
  'opcountTracer',
  'trigramTracer',
  'unigramTracer',
  'callTracerLegacy',
])
// Native tracers geth ships that Cairn does not implement yet.
const UNIMPLEMENTED_NATIVE = new Set(['erc7562Tracer'])
/** How error messages name what can be used instead. */
const SUPPORTED =
  'use the default struct logger or one of the native tracers "callTracer", "flatCallTracer", "prestateTracer", "4byteTracer", "muxTracer", "noopTracer"'

/**
 * How deep muxTracers may nest. geth builds a muxTracer's tracers by name, itself included, so it
 * nests without a bound; a few levels are all anyone uses, and thousands overflowed the stack here.
 */
export const MAX_MUX_DEPTH = 16

const STRUCT_LOGGER_FLAGS = ['disableStorage', 'disableStack', 'enableMemory', 'enableReturnData', 'debug'] as const

/**
 * Maps a `debug_trace*` options object to a tracer the way geth does: no `tracer` selects the struct
 * logger (configured by the top-level flags), `callTracer`, `flatCallTracer` and `prestateTracer` the
 * native tracers configured by `tracerConfig`, `4byteTracer` the selector counter, `muxTracer` several
 * of these at once (its `tracerConfig` maps their names to their configs), `noopTracer` an empty
 * result. JavaScript tracers and unknown names are refused with a TracerError.
 */
export function createTracer(options: TraceOptions = {}): EvmTracer {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TracerError('TRACER_INVALID_CONFIG', 'trace options must be an object')
  }
  const name = options.tracer
  if (name === undefined || name === null) {
    for (const flag of STRUCT_LOGGER_FLAGS) expectType(options[flag], 'boolean', flag)
    expectType(options.limit, 'number', 'limit')
    return createStructLogger({
      disableStorage: options.disableStorage === true,
      disableStack: options.disableStack === true,
      enableMemory: options.enableMemory === true,
      enableReturnData: options.enableReturnData === true,
      limit: options.limit ?? 0,
    })
  }
  if (typeof name !== 'string') throw new TracerError('TRACER_INVALID_CONFIG', 'tracer must be a string')
  return namedTracer(name, options.tracerConfig)
}

/**
 * A native tracer by its geth name, configured by `tracerConfig`; anything else is refused.
 * `muxDepth` counts the muxTracers it is inside.
 */
function namedTracer(name: string, tracerConfig: unknown, muxDepth = 0): EvmTracer {
  switch (name) {
    case 'callTracer':
      return createCallTracer(callTracerConfig(tracerConfig))
    case 'flatCallTracer':
      return createFlatCallTracer(flatCallTracerConfig(tracerConfig))
    case 'prestateTracer':
      return createPrestateTracer(prestateTracerConfig(tracerConfig))
    case '4byteTracer':
      // geth's 4byteTracer ignores tracerConfig.
      return createFourByteTracer()
    case 'noopTracer':
      return createNoopTracer()
    case 'muxTracer': {
      if (muxDepth === MAX_MUX_DEPTH) {
        throw new TracerError('TRACER_CONFIG_TOO_DEEP', `muxTracers nest at most ${MAX_MUX_DEPTH} deep`, {
          details: { maxDepth: MAX_MUX_DEPTH },
        })
      }
      // Its config names the tracers to run together, each with its own config.
      const tracers = Object.entries(configObject(tracerConfig, 'muxTracer')).map(([inner, c]): [string, EvmTracer] => [
        inner,
        namedTracer(inner, c, muxDepth + 1),
      ])
      return createMuxTracer(new Map(tracers))
    }
  }
  if (JS_TRACER_NAMES.has(name) || looksLikeJavaScript(name)) {
    throw new TracerError('TRACER_NOT_SUPPORTED', `JavaScript tracers are not supported; ${SUPPORTED}`, {
      details: { tracer: name.length > 64 ? `${name.slice(0, 64)}…` : name },
    })
  }
  if (UNIMPLEMENTED_NATIVE.has(name)) {
    throw new TracerError('TRACER_NOT_SUPPORTED', `tracer not supported: ${name}; ${SUPPORTED}`, {
      details: { tracer: name },
    })
  }
  throw new TracerError('TRACER_NOT_FOUND', `tracer not found: ${name}`, { details: { tracer: name } })
}

function callTracerConfig(raw: unknown): CallTracerConfig {
  const config = configObject(raw, 'callTracer')
  expectType(config.onlyTopCall, 'boolean', 'tracerConfig.onlyTopCall')
  expectType(config.withLog, 'boolean', 'tracerConfig.withLog')
  return { onlyTopCall: config.onlyTopCall === true, withLog: config.withLog === true }
}

function flatCallTracerConfig(raw: unknown): FlatCallTracerConfig {
  const config = configObject(raw, 'flatCallTracer')
  expectType(config.convertParityErrors, 'boolean', 'tracerConfig.convertParityErrors')
  expectType(config.includePrecompiles, 'boolean', 'tracerConfig.includePrecompiles')
  return {
    convertParityErrors: config.convertParityErrors === true,
    includePrecompiles: config.includePrecompiles === true,
  }
}

function prestateTracerConfig(raw: unknown): PrestateTracerConfig {
  const config = configObject(raw, 'prestateTracer')
  const flags = ['diffMode', 'disableCode', 'disableStorage', 'includeEmpty'] as const
  for (const flag of flags) expectType(config[flag], 'boolean', `tracerConfig.${flag}`)
  return {
    diffMode: config.diffMode === true,
    disableCode: config.disableCode === true,
    disableStorage: config.disableStorage === true,
    includeEmpty: config.includeEmpty === true,
  }
}

function configObject(raw: unknown, tracer: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TracerError('TRACER_INVALID_CONFIG', `tracerConfig for ${tracer} must be an object`)
  }
  return raw as Record<string, unknown>
}

function expectType(value: unknown, type: 'boolean' | 'number', field: string): void {
  if (value === undefined || value === null || typeof value === type) return
  throw new TracerError('TRACER_INVALID_CONFIG', `${field} must be a ${type}, got ${JSON.stringify(value)}`, {
    details: { field, value },
  })
}

function looksLikeJavaScript(name: string): boolean {
  return /[{}()]/.test(name)
}

/** geth's `noopTracer`: runs the transaction and returns `{}`. */
function createNoopTracer(): EvmTracer {
  return {
    attach() {},
    detach() {},
    result() {
      return {}
    },
  }
}
