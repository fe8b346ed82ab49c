import { validateHeaderValue } from 'node:http'
import { Dispatcher, type RpcCallContext, type RpcMethod, type RpcMethods } from './dispatch.ts'
import { notificationsUnsupported, silentLogger, type RpcLogger } from './errors.ts'
import { type RpcLimits, resolveLimits } from './limits.ts'
import type { SubscriptionSource } from './subscriptions.ts'
import { createThreadedTransport } from './transport-thread.ts'
import { type RpcTransport, type RpcUrls, type TransportEvents, createRpcTransport } from './transport.ts'
import { WsSession, type WsSessionDeps } from './ws-session.ts'

export type { RpcCallContext, RpcMethod, RpcMethods } from './dispatch.ts'
export { DEFAULT_RPC_LIMITS, type RpcLimits } from './limits.ts'

export interface RpcServerOptions {
  methods: RpcMethods
  host: string
  port: number
  /** Separate WebSocket port; undefined serves WebSocket on the HTTP port via upgrade. */
  wsPort?: number
  limits?: Partial<RpcLimits>
  logger?: RpcLogger
  /** Metrics hook, called once per call (unknown methods are reported as `unknown_method`). */
  onRequest?: (method: string, seconds: number, outcome: 'ok' | 'error') => void
  /** Enables eth_subscribe on WebSocket connections. */
  subscriptions?: SubscriptionSource
  /** Access-Control-Allow-Origin; default '*'. */
  cors?: string
  /**
   * Serve HTTP and WebSocket from a worker thread; methods still run on the calling thread. Frees
   * that thread for other work (a node's block building) at the cost of a thread hop per call.
   */
  thread?: boolean
  /** Told if the worker thread dies; the server then answers nothing. Default: the error is logged. */
  onThreadFailure?: (error: Error) => void
  /**
   * Methods whose answer to a call without params the front-end thread keeps and serves itself (with
   * `thread` only): a call then does not wait for the calling thread, busy with other work. Each must
   * answer such a call synchronously; its answer is read again at {@link RpcServer.refreshFrontEndAnswers}.
   */
  frontEndMethods?: readonly string[]
}

export interface RpcServer {
  listen(): Promise<RpcUrls>
  /** Stops accepting, closes WebSocket clients (ending their subscriptions), waits for in-flight HTTP calls. */
  close(): Promise<void>
  /** Open WebSocket connections. */
  readonly wsConnections: number
  /**
   * Reads the `frontEndMethods`' answers again and hands the changed ones to the front-end thread;
   * call it whenever they may have changed (a new head). What this thread answers after the call,
   * the front end answers after it too: the two share one ordered channel.
   */
  refreshFrontEndAnswers(): void
}

/** JSON-RPC over HTTP and WebSocket: a transport (here or on its own thread) in front of one dispatcher. */
export function createRpcServer(options: RpcServerOptions): RpcServer {
  const limits = resolveLimits(options.limits)
  const cors = options.cors ?? '*'
  // Refused here, not at the first answer: the transport writes it into responses as it is.
  validateHeaderValue('access-control-allow-origin', cors)
  const logger = options.logger ?? silentLogger
  const dispatcher = new Dispatcher({
    methods: options.methods,
    maxBatchItems: limits.maxBatchItems,
    maxResponseBytes: limits.maxResponseBytes,
    logger,
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
  })
  // Over HTTP there is no channel for notifications; geth answers the same way.
  const refuse: RpcMethod = (_params) => {
    throw notificationsUnsupported()
  }
  const httpOverrides = new Map<string, RpcMethod>([
    ['eth_subscribe', refuse],
    ['eth_unsubscribe', refuse],
  ])

  // One event goes to many subscribers: serialize each result object once.
  const serialized = new WeakMap<object, string>()
  function serializeNotification(result: unknown): string {
    if (typeof result !== 'object' || result === null) return JSON.stringify(result)
    let text = serialized.get(result)
    if (text === undefined) {
      text = JSON.stringify(result)
      serialized.set(result, text)
    }
    return text
  }

  const sessions = new Map<string, WsSession>()
  const sessionDeps: WsSessionDeps = {
    dispatcher,
    maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
    logger,
    source: options.subscriptions,
    serialize: serializeNotification,
    send: (connectionId, text) => transport.send(connectionId, text),
  }
  const events: TransportEvents = {
    httpCall: (text, connectionId) => dispatcher.handleText(text, { transport: 'http', connectionId }, httpOverrides),
    wsOpen: (connectionId) => sessions.set(connectionId, new WsSession(connectionId, sessionDeps)),
    wsMessage: (connectionId, text) => sessions.get(connectionId)?.onMessage(text),
    wsClose: (connectionId) => {
      sessions.get(connectionId)?.dispose()
      sessions.delete(connectionId)
    },
    answeredInFrontEnd: (calls) => {
      for (const [method, seconds] of calls) options.onRequest?.(method, seconds, 'ok')
    },
  }
  const transportOptions = {
    host: options.host,
    port: options.port,
    wsPort: options.wsPort,
    limits,
    cors,
  }
  const transport: RpcTransport = options.thread
    ? createThreadedTransport(transportOptions, events, logger, options.onThreadFailure ?? (() => {}))
    : createRpcTransport(transportOptions, events, logger)

  const frontEndAnswers = new Map<string, string | undefined>()
  function refreshFrontEndAnswers(): void {
    if (transport.answerInFrontEnd === undefined) return
    for (const method of options.frontEndMethods ?? []) {
      let json: string | undefined
      try {
        const result = options.methods[method]?.([], FRONT_END_CONTEXT)
        // Only a synchronous answer is current when it arrives; anything else stays with the dispatcher.
        json = result === undefined || result instanceof Promise ? undefined : JSON.stringify(result)
      } catch {
        json = undefined
      }
      if (frontEndAnswers.get(method) === json) continue
      frontEndAnswers.set(method, json)
      transport.answerInFrontEnd(method, json)
    }
  }
  refreshFrontEndAnswers()

  return {
    listen: () => transport.listen(),
    async close() {
      // Subscriptions end first: nothing more is sent to clients that are being closed.
      for (const session of sessions.values()) session.dispose()
      sessions.clear()
      await transport.close()
    },
    get wsConnections() {
      return sessions.size
    },
    refreshFrontEndAnswers,
  }
}

/** The context the front end's answers are read with: an HTTP call, as they are served. */
const FRONT_END_CONTEXT: RpcCallContext = { transport: 'http', connectionId: 'front-end' }
