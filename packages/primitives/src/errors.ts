/**
 * Every error Cairn raises on purpose carries a stable `code` (for RPC mapping, tests and
 * log queries) and a message a person can act on. Subsystems subclass it with their own codes.
 */
export interface CairnErrorOptions {
  cause?: unknown
  details?: Record<string, unknown>
}

/** Subclasses name their codes (`class BatchDecodeError extends CairnError<BatchDecodeErrorCode>`). */
export class CairnError<Code extends string = string> extends Error {
  override readonly name: string = 'CairnError'
  readonly code: Code
  readonly details: Record<string, unknown> | undefined

  constructor(code: Code, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details
  }
}

export function isCairnError(error: unknown, code?: string): error is CairnError {
  return error instanceof CairnError && (code === undefined || error.code === code)
}
