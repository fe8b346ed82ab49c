import { bytesToHex, toQuantity } from '@cairn/primitives'
import {
  invalidParams,
  invalidRequest,
  limitExceeded,
  methodNotFound,
  parseError,
  toJsonRpcError,
  type JsonRpcErrorObject,
  type RpcLogger,
} from './errors.ts'
import { type JsonRpcId, idJson, isValidId, restoreSourceIds, resultResponse } from './json-rpc.ts'

/** Who is calling: lets a method behave per transport or per connection. */
export interface RpcCallContext {
  transport: 'http' | 'ws'
  /** Stable for the life of one TCP/WebSocket connection. */
  connectionId: string
}

/**
 * A method: positional params in, a JSON-ready result (or a promise of it) out. One that declares no
 * parameters (`() => …`) takes none: the dispatcher refuses a call that passes any, as geth does.
 */
export type RpcMethod = (params: unknown[], ctx: RpcCallContext) => unknown | Promise<unknown>
export type RpcMethods = Record<string, RpcMethod>

/** A context with hooks to run once this message's response is on the wire. */
export interface DispatchContext extends RpcCallContext {
  afterResponse?: Array<() => void>
}

export interface DispatcherOptions {
  methods: RpcMethods
  maxBatchItems: number
  maxResponseBytes: number
  logger: RpcLogger
  onRequest?: (method: string, seconds: number, outcome: 'ok' | 'error') => void
}

const NO_RESPONSE = undefined

/** A batch item's id as sent: `undefined` for a notification, `null` for an item that is not an object. */
function idOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : null
}

/** Results should already be JSON; bigints and byte arrays are tolerated as a convenience. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return toQuantity(value)
  if (value instanceof Uint8Array) return bytesToHex(value)
  return value
}

function stringifyResult(result: unknown): string {
  if (result === undefined) return 'null'
  try {
    return JSON.stringify(result)
  } catch (error) {
    if (error instanceof TypeError) return JSON.stringify(result, jsonReplacer)
    throw error
  }
}

function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): string {
  return `{"jsonrpc":"2.0","id":${idJson(id)},"error":${JSON.stringify(error)}}`
}

/**
 * geth's `rpc_modules`: each namespace served (the part of a method name before its first `_`),
 * with the version geth reports for all of them. Tools probe it to learn what a node offers.
 */
function rpcModules(methodNames: string[]): Record<string, string> {
  const modules: Record<string, string> = { rpc: '1.0' }
  for (const name of methodNames) {
    const separator = name.indexOf('_')
    if (separator > 0) modules[name.slice(0, separator)] = '1.0'
  }
  return Object.fromEntries(Object.entries(modules).sort(([a], [b]) => a.localeCompare(b)))
}

/**
 * Transport-independent JSON-RPC 2.0 handling: parses a request body, runs single calls and
 * batches (in order, like geth), and returns the response text (undefined when only
 * notifications were sent). Connection-specific methods (eth_subscribe) come in `overrides`.
 */
export class Dispatcher {
  readonly #methods: Map<string, RpcMethod>
  readonly #options: DispatcherOptions

  constructor(options: DispatcherOptions) {
    this.#options = options
    this.#methods = new Map(Object.entries(options.methods))
    if (!this.#methods.has('rpc_modules')) {
      const modules = rpcModules([...this.#methods.keys()])
      this.#methods.set('rpc_modules', () => modules)
    }
  }

  hasMethod(name: string): boolean {
    return this.#methods.has(name)
  }

  /** Returns the serialized response, a promise of it, or undefined for notifications only. */
  handleText(
    text: string,
    ctx: DispatchContext,
    overrides?: ReadonlyMap<string, RpcMethod>,
  ): string | undefined | Promise<string | undefined> {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return errorResponse(null, parseError().toJSON())
    }
    restoreSourceIds(message, text)
    if (Array.isArray(message)) return this.#handleBatch(message, ctx, overrides)
    return this.#handleMessage(message, ctx, overrides)
  }

  async #handleBatch(
    messages: unknown[],
    ctx: DispatchContext,
    overrides: ReadonlyMap<string, RpcMethod> | undefined,
  ): Promise<string | undefined> {
    if (messages.length === 0) return errorResponse(null, invalidRequest('empty batch').toJSON())
    const { maxBatchItems, maxResponseBytes } = this.#options
    if (messages.length > maxBatchItems) {
      const first = messages.find((m) => typeof m === 'object' && m !== null && isValidId((m as { id?: unknown }).id))
      const id = first === undefined ? null : ((first as { id: JsonRpcId }).id ?? null)
      // geth answers an invalid request (-32600), with the first call's id.
      const error = invalidRequest(
        `batch too large: ${messages.length} requests exceed the limit of ${maxBatchItems} per batch; split the batch`,
      )
      return `[${errorResponse(id, error.toJSON())}]`
    }
    const parts: string[] = []
    let size = 2
    let tooLarge = false
    for (const message of messages) {
      if (tooLarge) {
        // geth: once the batch response is over the limit, the remaining calls are not run.
        const id = idOf(message)
        if (id === undefined) continue
        parts.push(errorResponse(isValidId(id) ? id : null, responseTooLarge(maxResponseBytes)))
        continue
      }
      const response = await this.#handleMessage(message, ctx, overrides)
      if (response === NO_RESPONSE) continue
      size += response.length + 1
      if (size > maxResponseBytes) {
        tooLarge = true
        const id = idOf(message)
        parts.push(errorResponse(isValidId(id) ? id : null, responseTooLarge(maxResponseBytes)))
        continue
      }
      parts.push(response)
    }
    if (parts.length === 0) return NO_RESPONSE
    return `[${parts.join(',')}]`
  }

  #handleMessage(
    message: unknown,
    ctx: DispatchContext,
    overrides: ReadonlyMap<string, RpcMethod> | undefined,
  ): string | undefined | Promise<string | undefined> {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return errorResponse(null, invalidRequest().toJSON())
    }
    const { jsonrpc, id, method, params } = message as Record<string, unknown>
    const isNotification = id === undefined
    if (jsonrpc !== '2.0' || typeof method !== 'string' || method === '' || (!isNotification && !isValidId(id))) {
      return errorResponse(isValidId(id) ? id : null, invalidRequest().toJSON())
    }
    let args: unknown[]
    if (params === undefined || params === null) args = []
    else if (Array.isArray(params)) args = params
    else return isNotification ? NO_RESPONSE : errorResponse(id, invalidParams('non-array args').toJSON())

    const handler = overrides?.get(method) ?? this.#methods.get(method)
    if (handler === undefined) {
      // Unknown names are client-chosen: one label keeps metric cardinality bounded.
      this.#options.onRequest?.('unknown_method', 0, 'error')
      return isNotification ? NO_RESPONSE : errorResponse(id, methodNotFound(method).toJSON())
    }
    const started = this.#options.onRequest === undefined ? 0 : performance.now()
    if (args.length > 0 && handler.length === 0) {
      // geth's decoder: a method without parameters takes no arguments (`params: []` or none).
      const error = invalidParams('too many arguments, want at most 0')
      return this.#fail(method, started, isNotification ? undefined : id, error)
    }
    let result: unknown
    try {
      result = handler(args, ctx)
    } catch (error) {
      return this.#fail(method, started, isNotification ? undefined : id, error)
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.#succeed(method, started, isNotification ? undefined : id, value),
        (error) => this.#fail(method, started, isNotification ? undefined : id, error),
      )
    }
    return this.#succeed(method, started, isNotification ? undefined : id, result)
  }

  #succeed(method: string, started: number, id: JsonRpcId | undefined, result: unknown): string | undefined {
    let resultJson: string
    try {
      resultJson = stringifyResult(result)
    } catch (error) {
      return this.#fail(method, started, id, error)
    }
    this.#report(method, started, 'ok')
    if (id === undefined) return NO_RESPONSE
    if (resultJson.length > this.#options.maxResponseBytes) {
      return errorResponse(id, responseTooLarge(this.#options.maxResponseBytes))
    }
    return resultResponse(id, resultJson)
  }

  #fail(method: string, started: number, id: JsonRpcId | undefined, error: unknown): string | undefined {
    this.#report(method, started, 'error')
    const rpcError = toJsonRpcError(error, this.#options.logger)
    return id === undefined ? NO_RESPONSE : errorResponse(id, rpcError)
  }

  #report(method: string, started: number, outcome: 'ok' | 'error'): void {
    const onRequest = this.#options.onRequest
    if (onRequest !== undefined) onRequest(method, (performance.now() - started) / 1000, outcome)
  }
}

function responseTooLarge(maxResponseBytes: number): JsonRpcErrorObject {
  return limitExceeded(
    `response too large: it exceeds the limit of ${maxResponseBytes} bytes; request less data per call (smaller block ranges or batches)`,
  ).toJSON()
}
