import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { Dispatcher, type DispatchContext, type RpcMethod, type RpcMethods } from './dispatch.ts'
import { limitExceeded, notificationsUnsupported, silentLogger, type RpcLogger } from './errors.ts'
import type { SubscriptionSource } from './subscriptions.ts'
import { WsConnection, type WsConnectionDeps } from './ws-connection.ts'

export type { RpcCallContext, RpcMethod, RpcMethods } from './dispatch.ts'

export interface RpcLimits {
  /** Largest HTTP request body; larger gets HTTP 413. */
  maxBodyBytes: number
  /** Most calls in one batch. */
  maxBatchItems: number
  /** Largest response (a single result or a whole batch). */
  maxResponseBytes: number
  maxWsConnections: number
  maxSubscriptionsPerConnection: number
  /** Largest incoming WebSocket message; larger closes the connection (code 1009). */
  maxWsMessageBytes: number
  /** A client whose unsent data exceeds this is too slow to keep up and is dropped. */
  maxWsBufferedBytes: number
}

export const DEFAULT_RPC_LIMITS: RpcLimits = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatchItems: 1000,
  maxResponseBytes: 25 * 1024 * 1024,
  maxWsConnections: 1000,
  maxSubscriptionsPerConnection: 1000,
  maxWsMessageBytes: 15 * 1024 * 1024,
  maxWsBufferedBytes: 16 * 1024 * 1024,
}

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
}

export interface RpcServer {
  listen(): Promise<{ httpUrl: string; wsUrl: string }>
  /** Stops accepting, closes WebSocket clients (ending their subscriptions), waits for in-flight HTTP calls. */
  close(): Promise<void>
  /** Open WebSocket connections. */
  readonly wsConnections: number
}

/** geth's accepted request media types. */
const ACCEPTED_CONTENT_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest'])
const CLOSE_GRACE_MS = 5_000
const WS_PING_INTERVAL_MS = 30_000
const WS_CLOSE_GRACE_MS = 1_000

function isAcceptedContentType(header: string | undefined): boolean {
  if (header === undefined) return false
  const semicolon = header.indexOf(';')
  const mediaType = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase()
  return ACCEPTED_CONTENT_TYPES.has(mediaType)
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

const connectionIds = new WeakMap<Socket, string>()

/** Defaults for anything not set (an explicit undefined counts as not set). */
function resolveLimits(overrides: Partial<RpcLimits> = {}): RpcLimits {
  const limits = { ...DEFAULT_RPC_LIMITS }
  for (const key of Object.keys(limits) as Array<keyof RpcLimits>) {
    const value = overrides[key]
    if (value !== undefined) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`rpc limit ${key} must be a positive integer, got ${value}`)
      }
      limits[key] = value
    }
  }
  return limits
}

export function createRpcServer(options: RpcServerOptions): RpcServer {
  const limits = resolveLimits(options.limits)
  const logger = options.logger ?? silentLogger
  const cors = options.cors ?? '*'
  const dispatcher = new Dispatcher({
    methods: options.methods,
    maxBatchItems: limits.maxBatchItems,
    maxResponseBytes: limits.maxResponseBytes,
    logger,
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
  })
  // Over HTTP there is no channel for notifications; geth answers the same way.
  const httpOverrides = new Map<string, RpcMethod>([
    [
      'eth_subscribe',
      () => {
        throw notificationsUnsupported()
      },
    ],
    [
      'eth_unsubscribe',
      () => {
        throw notificationsUnsupported()
      },
    ],
  ])

  let nextConnection = 0
  const jsonHeaders = { 'content-type': 'application/json', 'access-control-allow-origin': cors }

  function sendJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...jsonHeaders, 'content-length': Buffer.byteLength(body), ...extra })
    res.end(body)
  }

  function sendText(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'access-control-allow-origin': cors,
      'content-length': Buffer.byteLength(body),
      ...extra,
    })
    res.end(body)
  }

  function bodyTooLarge(res: ServerResponse, size: string): void {
    const error = limitExceeded(
      `request body too large: ${size} exceeds the limit of ${limits.maxBodyBytes} bytes; send fewer calls per batch or smaller payloads`,
    )
    sendJson(res, 413, `{"jsonrpc":"2.0","id":null,"error":${JSON.stringify(error.toJSON())}}`, {
      connection: 'close',
    })
  }

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method
    if (method === 'POST') {
      handlePost(req, res)
      return
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': cors,
        'access-control-allow-methods': 'POST, GET, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
        'access-control-max-age': '600',
        vary: 'Origin, Access-Control-Request-Headers',
      })
      res.end()
      return
    }
    // geth answers a bare GET with 200 so load balancers can health-check the port.
    if (method === 'GET' || method === 'HEAD') {
      sendText(res, 200, method === 'HEAD' ? '' : 'ok\n')
      return
    }
    sendText(res, 405, 'method not allowed\n', { allow: 'POST, GET, OPTIONS' })
  }

  function handlePost(req: IncomingMessage, res: ServerResponse): void {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
      req.resume()
      bodyTooLarge(res, `${declared} bytes`)
      return
    }
    if (!isAcceptedContentType(req.headers['content-type'])) {
      req.resume()
      sendText(res, 415, 'invalid content type, only application/json is supported\n')
      return
    }
    const chunks: Buffer[] = []
    let received = 0
    let rejected = false
    req.on('data', (chunk: Buffer) => {
      if (rejected) return
      received += chunk.length
      if (received > limits.maxBodyBytes) {
        rejected = true
        chunks.length = 0
        bodyTooLarge(res, `more than ${limits.maxBodyBytes} bytes`)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (rejected) return
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')
      const ctx: DispatchContext = { transport: 'http', connectionId: socketId(req.socket) }
      const response = dispatcher.handleText(text, ctx, httpOverrides)
      if (response instanceof Promise) {
        response.then(
          (body) => respond(res, body),
          (error: unknown) => {
            logger.error({ err: error }, 'rpc dispatch failed')
            if (!res.headersSent) sendText(res, 500, 'internal error\n')
          },
        )
      } else respond(res, response)
    })
  }

  function respond(res: ServerResponse, body: string | undefined): void {
    if (res.destroyed) return
    // Notifications only: geth sends an empty 200.
    const text = body ?? ''
    // Flat header list: the hot path skips building a header object per response.
    res.writeHead(200, [
      'content-type',
      'application/json',
      'access-control-allow-origin',
      cors,
      'content-length',
      String(Buffer.byteLength(text)),
    ])
    res.end(text)
  }

  function socketId(socket: Socket): string {
    let id = connectionIds.get(socket)
    if (id === undefined) {
      id = `http-${++nextConnection}`
      connectionIds.set(socket, id)
    }
    return id
  }

  // ---- WebSocket ----

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxWsMessageBytes,
    perMessageDeflate: false,
  })
  const connections = new Set<WsConnection>()
  const connectionDeps: WsConnectionDeps = {
    dispatcher,
    limits,
    logger,
    source: options.subscriptions,
    serialize: serializeNotification,
    onClose: (connection) => {
      connections.delete(connection)
      logger.debug({ connection: connection.id }, 'websocket closed')
    },
  }
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

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (connections.size >= limits.maxWsConnections) {
      logger.warn({ limit: limits.maxWsConnections }, 'refusing websocket connection: too many connections')
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new WsConnection(ws, `ws-${++nextConnection}`, connectionDeps)
      connections.add(connection)
      logger.debug({ connection: connection.id }, 'websocket opened')
    })
  }

  const pinger = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate()
        connection.dispose()
        continue
      }
      connection.alive = false
      connection.socket.ping()
    }
  }, WS_PING_INTERVAL_MS)
  pinger.unref()

  // ---- servers ----

  const httpServer = createServer(handleHttp)
  httpServer.keepAliveTimeout = 30_000
  httpServer.headersTimeout = 35_000
  const separateWs = options.wsPort !== undefined && !(options.wsPort === options.port && options.port !== 0)
  const wsServer: Server = separateWs
    ? createServer((req, res) => {
        if (req.method === 'GET' || req.method === 'HEAD') return sendText(res, 200, 'ok\n')
        sendText(res, 400, 'this port serves WebSocket JSON-RPC only\n')
      })
    : httpServer
  wsServer.on('upgrade', handleUpgrade)
  for (const server of new Set([httpServer, wsServer])) {
    server.on('clientError', (error, socket) => {
      logger.debug({ err: error }, 'http client error')
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  function listenOn(server: Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, options.host, () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  }

  function closeServer(server: Server): Promise<void> {
    return new Promise((resolve) => {
      if (!server.listening) return resolve()
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS)
      server.close(() => {
        clearTimeout(force)
        resolve()
      })
      server.closeIdleConnections()
    })
  }

  return {
    async listen() {
      const httpPort = await listenOn(httpServer, options.port)
      const wsPort = separateWs ? await listenOn(wsServer, options.wsPort!) : httpPort
      const host = urlHost(options.host)
      return { httpUrl: `http://${host}:${httpPort}`, wsUrl: `ws://${host}:${wsPort}` }
    },
    async close() {
      clearInterval(pinger)
      const closed = [...wss.clients].map(
        (client) => new Promise<void>((resolve) => client.once('close', () => resolve())),
      )
      for (const connection of [...connections]) {
        connection.socket.close(1001, 'server shutting down')
        connection.dispose()
      }
      // Clients that ignore the close frame are cut off after a short wait.
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.all(closed),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, WS_CLOSE_GRACE_MS)
        }),
      ])
      clearTimeout(timer)
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      const closing = [closeServer(httpServer)]
      if (separateWs) closing.push(closeServer(wsServer))
      await Promise.all(closing)
    },
    get wsConnections() {
      return connections.size
    },
  }
}
