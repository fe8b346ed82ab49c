import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import { limitExceeded, type RpcLogger } from './errors.ts'
import { createFastHttpServer } from './http-fast-path.ts'
import type { RpcLimits } from './limits.ts'

/**
 * What the HTTP and WebSocket front end hands on: request texts and WebSocket lifetimes. It knows
 * nothing of the methods, so it can run on a thread of its own (see `transport-thread.ts`).
 */
export interface TransportEvents {
  /** A POST body; resolves to the response body (undefined: notifications only). */
  httpCall(text: string, connectionId: string): string | undefined | Promise<string | undefined>
  wsOpen(connectionId: string): void
  /** A WebSocket message; its answer comes back through {@link RpcTransport.send}. */
  wsMessage(connectionId: string, text: string): void
  wsClose(connectionId: string): void
  /** Calls the front-end thread answered itself ({@link RpcTransport.answerInFrontEnd}): method and seconds. */
  answeredInFrontEnd?(calls: [method: string, seconds: number][]): void
}

export interface TransportOptions {
  host: string
  port: number
  /** Separate WebSocket port; undefined serves WebSocket on the HTTP port via upgrade. */
  wsPort?: number | undefined
  limits: RpcLimits
  /** Access-Control-Allow-Origin. */
  cors: string
}

export interface RpcUrls {
  httpUrl: string
  wsUrl: string
}

export interface RpcTransport {
  listen(): Promise<RpcUrls>
  /** Sends to one WebSocket client; a client too slow to read is dropped (and reported closed). */
  send(connectionId: string, text: string): void
  /** Stops accepting, closes WebSocket clients, waits for in-flight HTTP calls. */
  close(): Promise<void>
  /**
   * Only a transport on its own thread has it: from now on that thread answers a single HTTP call of
   * `method` without params with `resultJson` itself (undefined: no longer), so the call does not wait
   * for the thread that runs methods.
   */
  answerInFrontEnd?(method: string, resultJson: string | undefined): void
}

/** geth's accepted request media types. */
const ACCEPTED_CONTENT_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest'])
const CLOSE_GRACE_MS = 5_000
const KEEP_ALIVE_TIMEOUT_MS = 30_000
const HEADERS_TIMEOUT_MS = 35_000
/** node:http's default. */
const REQUEST_TIMEOUT_MS = 300_000
const WS_PING_INTERVAL_MS = 30_000
const WS_CLOSE_GRACE_MS = 1_000

function isAcceptedContentType(header: string | undefined): boolean {
  if (header === undefined) return false
  const semicolon = header.indexOf(';')
  const mediaType = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase()
  return ACCEPTED_CONTENT_TYPES.has(mediaType)
}

/**
 * Runs one HTTP call and hands its body to `answer`, at once when the methods answered synchronously;
 * a throw and a rejection both go to `fail`.
 */
export function answerHttpCall(
  events: TransportEvents,
  text: string,
  connectionId: string,
  answer: (body: string | undefined) => void,
  fail: (error: unknown) => void,
): void {
  let response: string | undefined | Promise<string | undefined>
  try {
    response = events.httpCall(text, connectionId)
  } catch (error) {
    fail(error)
    return
  }
  if (response instanceof Promise) response.then(answer, fail)
  else answer(response)
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

interface WsClient {
  socket: WebSocket
  /** Cleared by each ping, set by each pong. */
  alive: boolean
}

/** The HTTP (POST, batches, CORS, health GET) and WebSocket servers, with their limits. */
export function createRpcTransport(
  options: TransportOptions,
  events: TransportEvents,
  logger: RpcLogger,
): RpcTransport {
  const { limits, cors } = options
  const connectionIds = new WeakMap<Socket, string>()
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
      answerHttpCall(
        events,
        text,
        socketId(req.socket),
        (body) => respond(res, body),
        (error) => {
          logger.error({ err: error }, 'rpc dispatch failed')
          if (!res.headersSent) sendText(res, 500, 'internal error\n')
        },
      )
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
  const clients = new Map<string, WsClient>()

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (clients.size >= limits.maxWsConnections) {
      logger.warn({ limit: limits.maxWsConnections }, 'refusing websocket connection: too many connections')
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const id = `ws-${++nextConnection}`
      const client: WsClient = { socket: ws, alive: true }
      clients.set(id, client)
      events.wsOpen(id)
      logger.debug({ connection: id }, 'websocket opened')
      ws.on('message', (data) => events.wsMessage(id, wsText(data)))
      ws.on('pong', () => {
        client.alive = true
      })
      ws.on('close', () => {
        if (!clients.delete(id)) return
        events.wsClose(id)
        logger.debug({ connection: id }, 'websocket closed')
      })
      ws.on('error', (error) => logger.debug({ err: error, connection: id }, 'websocket error'))
    })
  }

  function send(connectionId: string, text: string): void {
    const client = clients.get(connectionId)
    if (client === undefined || client.socket.readyState !== client.socket.OPEN) return
    if (client.socket.bufferedAmount > limits.maxWsBufferedBytes) {
      logger.warn(
        { connection: connectionId, bufferedBytes: client.socket.bufferedAmount, limit: limits.maxWsBufferedBytes },
        'dropping websocket client: it is not reading fast enough',
      )
      client.socket.terminate()
      return
    }
    client.socket.send(text)
  }

  const pinger = setInterval(() => {
    for (const client of clients.values()) {
      if (!client.alive) {
        client.socket.terminate()
        continue
      }
      client.alive = false
      client.socket.ping()
    }
  }, WS_PING_INTERVAL_MS)
  pinger.unref()

  // ---- servers ----

  /** Serves what the fast path hands over (it listens; this one is given connections). */
  const httpServer = createServer(handleHttp)
  httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  httpServer.headersTimeout = HEADERS_TIMEOUT_MS
  httpServer.requestTimeout = REQUEST_TIMEOUT_MS
  const fast = createFastHttpServer({
    cors,
    maxBodyBytes: limits.maxBodyBytes,
    acceptsContentType: isAcceptedContentType,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    connectionId: () => `http-${++nextConnection}`,
    call: (text, connectionId, answer, fail) =>
      answerHttpCall(events, text, connectionId, answer, (error) => {
        logger.error({ err: error }, 'rpc dispatch failed')
        fail()
      }),
    delegate(socket, unread, connectionId) {
      connectionIds.set(socket, connectionId)
      // node:http reads the unread bytes first: they wait in the socket's buffer, which it drains
      // before anything it reads from the socket itself.
      if (unread !== undefined) socket.unshift(unread)
      httpServer.emit('connection', socket)
    },
  })
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

  function listenOn(server: NetServer, port: number): Promise<number> {
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

  /** The fast path's port: its connections, delegated ones included, end before it resolves. */
  function closeHttp(): Promise<void> {
    return new Promise((resolve) => {
      if (!fast.server.listening) return resolve()
      const force = setTimeout(() => {
        fast.destroyAll()
        httpServer.closeAllConnections()
      }, CLOSE_GRACE_MS)
      fast.server.close(() => {
        clearTimeout(force)
        // Stops node:http's timeout checks.
        httpServer.close()
        resolve()
      })
      fast.closeIdle()
      httpServer.closeIdleConnections()
    })
  }

  return {
    async listen() {
      const httpPort = await listenOn(fast.server, options.port)
      // node:http tracks its connections (for its timeouts and closeIdleConnections) from its
      // 'listening' event; it is given connections here instead of accepting them.
      httpServer.emit('listening')
      const wsPort = separateWs ? await listenOn(wsServer, options.wsPort!) : httpPort
      const host = urlHost(options.host)
      return { httpUrl: `http://${host}:${httpPort}`, wsUrl: `ws://${host}:${wsPort}` }
    },
    send,
    async close() {
      clearInterval(pinger)
      const closed = [...wss.clients].map(
        (client) => new Promise<void>((resolve) => client.once('close', () => resolve())),
      )
      for (const client of clients.values()) client.socket.close(1001, 'server shutting down')
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
      const closing = [closeHttp()]
      if (separateWs) closing.push(closeServer(wsServer))
      await Promise.all(closing)
    },
  }
}
