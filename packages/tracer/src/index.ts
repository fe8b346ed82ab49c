export {
  type CallFrame,
  type CallLog,
  type CallTracerConfig,
  type CallType,
  type TopFrameGasOptions,
  createCallTracer,
} from './call-tracer.ts'
export { MAX_MUX_DEPTH, createTracer, type TraceOptions } from './create-tracer.ts'
export { TracerError, type TracerErrorCode } from './errors.ts'
export {
  createFlatCallTracer,
  createTraceApiTracer,
  type FlatCallAction,
  type FlatCallResult,
  type FlatCallTrace,
  type FlatCallTracerConfig,
} from './flat-call-tracer.ts'
export { createFourByteTracer } from './four-byte-tracer.ts'
export { createMuxTracer } from './mux-tracer.ts'
export {
  createPrestateTracer,
  type PrestateAccount,
  type PrestateResult,
  type PrestateTracerConfig,
} from './prestate-tracer.ts'
export { precompileError } from './precompile-errors.ts'
export { decodeRevertReason } from './revert-reason.ts'
export {
  createStructLogger,
  type StructLog,
  type StructLoggerConfig,
  type StructLoggerResult,
} from './struct-logger.ts'
export type { EvmTracer, TraceContext } from './types.ts'
export { REVERT_ERROR, gethErrorMessage } from './vm-errors.ts'
