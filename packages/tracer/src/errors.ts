import { CairnError } from '@cairn/primitives'

export type TracerErrorCode =
  | 'TRACER_NOT_FOUND'
  | 'TRACER_NOT_SUPPORTED'
  | 'TRACER_INVALID_CONFIG'
  /** muxTracers nested deeper than MAX_MUX_DEPTH. */
  | 'TRACER_CONFIG_TOO_DEEP'
  | 'TRACER_NOT_ATTACHED'

/** Raised when a trace request cannot be honoured; `code` maps to an RPC error, `message` mirrors geth's where geth has one. */
export class TracerError extends CairnError<TracerErrorCode> {
  override readonly name: string = 'TracerError'
}
