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

/** System error codes of a bind that the operator fixes by choosing another address or port. */
const LISTEN_ERROR_CODES: Record<string, string> = {
  EADDRINUSE: 'another process is listening on it',
  EACCES: 'this user may not bind it (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host’s',
}

/**
 * A server that cannot bind its address becomes a `LISTEN_FAILED` error naming the service and the
 * settings that choose the address, instead of a bare `listen EADDRINUSE`; other errors pass through.
 */
export function listenFailure(error: unknown, service: string, settings: string): unknown {
  const code = (error as { code?: unknown } | undefined)?.code
  const reason = typeof code === 'string' ? LISTEN_ERROR_CODES[code] : undefined
  if (reason === undefined) return error
  return new CairnError(
    'LISTEN_FAILED',
    `${service} cannot listen: ${(error as Error).message} (${reason}); choose another with ${settings}, or stop the process that holds it`,
    { cause: error, details: { systemCode: code } },
  )
}
