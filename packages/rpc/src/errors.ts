import { CairnError, bytesToHex, type Hex } from '@cairn/primitives'

/** JSON-RPC error codes as geth and viem understand them. */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  /** geth's default for application errors (tx pool rejections, header not found, filter not found). */
  Server: -32000,
  ResourceNotFound: -32001,
  LimitExceeded: -32005,
  ExecutionReverted: 3,
  /** EIP-7966: eth_sendRawTransactionSync's transaction is in the pool but no block took it in time. */
  TxSyncTimeout: 4,
  /** EIP-7966: eth_sendRawTransactionSync's transaction is in the pool but cannot run yet (a nonce gap). */
  TxSyncNotReady: 5,
} as const

/** The `error` member of a JSON-RPC response. */
export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

/**
 * An error that knows its JSON-RPC shape. `code` is the Cairn code (stable, for tests and logs);
 * `rpcCode` is what the client sees.
 */
export class RpcError extends CairnError {
  override readonly name: string = 'RpcError'
  readonly rpcCode: number
  readonly data: unknown

  constructor(
    rpcCode: number,
    message: string,
    options: { code?: string; data?: unknown; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(options.code ?? `RPC_${rpcCode < 0 ? -rpcCode : rpcCode}`, message, options)
    this.rpcCode = rpcCode
    this.data = options.data
  }

  toJSON(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.rpcCode, message: this.message }
      : { code: this.rpcCode, message: this.message, data: this.data }
  }
}

export function parseError(): RpcError {
  return new RpcError(RpcErrorCode.ParseError, 'parse error', { code: 'RPC_PARSE_ERROR' })
}

export function invalidRequest(reason = 'invalid request'): RpcError {
  return new RpcError(RpcErrorCode.InvalidRequest, reason, { code: 'RPC_INVALID_REQUEST' })
}

export function methodNotFound(method: string): RpcError {
  return new RpcError(RpcErrorCode.MethodNotFound, `the method ${method} does not exist/is not available`, {
    code: 'RPC_METHOD_NOT_FOUND',
  })
}

/** `message` should say which argument is wrong and why, e.g. `invalid argument 0: hex string without 0x prefix`. */
export function invalidParams(message: string): RpcError {
  return new RpcError(RpcErrorCode.InvalidParams, message, { code: 'RPC_INVALID_PARAMS' })
}

export function internalError(message = 'internal error'): RpcError {
  return new RpcError(RpcErrorCode.Internal, message, { code: 'RPC_INTERNAL' })
}

/** geth's -32000: the message is the whole explanation (`nonce too low`, `header not found`...). */
export function serverError(message: string, options: { code?: string; data?: unknown } = {}): RpcError {
  return new RpcError(RpcErrorCode.Server, message, { code: options.code ?? 'RPC_SERVER_ERROR', data: options.data })
}

export function resourceNotFound(message: string): RpcError {
  return new RpcError(RpcErrorCode.ResourceNotFound, message, { code: 'RPC_RESOURCE_NOT_FOUND' })
}

/** `message` names the limit, its value and what the caller can do about it. */
export function limitExceeded(message: string): RpcError {
  return new RpcError(RpcErrorCode.LimitExceeded, message, { code: 'RPC_LIMIT_EXCEEDED' })
}

/** geth answers -32000 `header not found` when a state query names a block it does not have. */
export function headerNotFound(): RpcError {
  return serverError('header not found', { code: 'RPC_HEADER_NOT_FOUND' })
}

export function filterNotFound(): RpcError {
  return serverError('filter not found', { code: 'RPC_FILTER_NOT_FOUND' })
}

export function notificationsUnsupported(): RpcError {
  return new RpcError(RpcErrorCode.MethodNotFound, 'notifications not supported', {
    code: 'RPC_NOTIFICATIONS_UNSUPPORTED',
  })
}

/**
 * eth_sendRawTransactionSync's timeout (EIP-7966 code 4, geth's message); `data` is the transaction
 * hash, so the caller can go on waiting with eth_getTransactionReceipt.
 */
export function txSyncTimeout(hash: Hex, waitedMs: number): RpcError {
  const waited = waitedMs < 1000 ? `${waitedMs}ms` : `${waitedMs / 1000}s`
  return new RpcError(
    RpcErrorCode.TxSyncTimeout,
    `The transaction was added to the transaction pool but wasn't processed in ${waited}`,
    { code: 'RPC_TX_SYNC_TIMEOUT', data: hash },
  )
}

/** eth_sendRawTransactionSync's transaction waits in the pool for an earlier nonce (EIP-7966 code 5). */
export function txSyncNotReady(hash: Hex, message: string): RpcError {
  return new RpcError(RpcErrorCode.TxSyncNotReady, message, { code: 'RPC_TX_SYNC_NOT_READY', data: hash })
}

const ERROR_SELECTOR = '0x08c379a0'
const PANIC_SELECTOR = '0x4e487b71'

/** Solidity panic codes, worded as geth words them. */
const PANIC_REASONS: Record<number, string> = {
  0: 'generic panic',
  1: 'assert(false)',
  17: 'arithmetic underflow or overflow',
  18: 'division or modulo by zero',
  33: 'enum overflow',
  34: 'invalid encoded storage byte array accessed',
  49: 'out-of-bounds array access; popping on an empty array',
  50: 'out-of-bounds access of an array or bytesN',
  65: 'out of memory',
  81: 'uninitialized function',
}

/**
 * Code 3 with the revert data as `data`, like geth's eth_call/eth_estimateGas. An `Error(string)`
 * or `Panic(uint256)` payload is decoded into the message; anything else leaves it bare. A bare
 * `revert()` still carries `"data": "0x"` (geth does since 1.15.6): ethers reads a missing `data`
 * as "missing revert data" rather than a revert.
 */
export function executionReverted(revertData: Uint8Array | Hex = '0x'): RpcError {
  const data = typeof revertData === 'string' ? (revertData.toLowerCase() as Hex) : bytesToHex(revertData)
  const reason = decodeRevertReason(data)
  const message = reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`
  return new RpcError(RpcErrorCode.ExecutionReverted, message, { code: 'RPC_EXECUTION_REVERTED', data })
}

/** Decodes `Error(string)` and `Panic(uint256)` revert payloads; undefined for anything else. */
export function decodeRevertReason(data: Hex): string | undefined {
  const selector = data.slice(0, 10)
  const body = data.slice(10)
  if (selector === PANIC_SELECTOR && body.length === 64) {
    const code = BigInt(`0x${body}`)
    const known = code < 256n ? PANIC_REASONS[Number(code)] : undefined
    return known ?? `unknown panic code: 0x${code.toString(16)}`
  }
  if (selector !== ERROR_SELECTOR || body.length < 128) return undefined
  const offset = BigInt(`0x${body.slice(0, 64)}`)
  if (offset + 32n > BigInt(body.length / 2)) return undefined
  const start = Number(offset) * 2
  const length = BigInt(`0x${body.slice(start, start + 64)}`)
  const end = start + 64 + Number(length) * 2
  if (length > BigInt(body.length) || end > body.length) return undefined
  const bytes = Buffer.from(body.slice(start + 64, end), 'hex')
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes)
}

/** Minimal logger shape; pino's satisfies it. */
export interface RpcLogger {
  debug(obj: unknown, msg?: string): void
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}

export const silentLogger: RpcLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}

/**
 * Maps anything a method threw to the error object the client sees. RpcError passes through;
 * a CairnError becomes -32000 with its message (mempool rejections read exactly as geth's) unless
 * its details carry `rpcCode` (and optionally `data`); anything else is a bug: -32603 `internal error`,
 * with the stack logged here and never sent.
 */
export function toJsonRpcError(error: unknown, logger: RpcLogger = silentLogger): JsonRpcErrorObject {
  if (error instanceof RpcError) return error.toJSON()
  if (error instanceof CairnError) {
    const rpcCode = error.details?.rpcCode
    const data = error.details?.data
    const code = typeof rpcCode === 'number' && Number.isInteger(rpcCode) ? rpcCode : RpcErrorCode.Server
    return data === undefined ? { code, message: error.message } : { code, message: error.message, data }
  }
  logger.error({ err: error }, 'rpc method failed with an unexpected error')
  return { code: RpcErrorCode.Internal, message: 'internal error' }
}
