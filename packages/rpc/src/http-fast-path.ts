import { maxHeaderSize } from 'node:http'
import { type Server, type Socket, createServer } from 'node:net'

/**
 * A lean HTTP/1.1 server for the one request shape JSON-RPC clients send under load: a keep-alive
 * POST whose body has a Content-Length. With it the transport's CPU per request went from ~100 to
 * ~66 µs on the test machine (`packages/rpc/bench/rpc.bench.ts`, docs/benchmarks.md).
 *
 * Everything else (another method, a chunked body, Expect, Upgrade, HTTP/1.0, a body over the limit,
 * a content type not served, a head that is malformed or too large) hands the connection, with the
 * bytes already read, to node:http for the rest of its life: every other case has one
 * implementation, and whatever this parser does not understand is node:http's to accept or refuse.
 */

/** What a request head must say to be served here. */
export interface FastRequestHead {
  contentLength: number
  contentType: string
  /** The client asked for `Connection: close`. */
  close: boolean
}

export interface FastHttpOptions {
  /** Access-Control-Allow-Origin on every answer; validated by the owner (it is written verbatim). */
  cors: string
  maxBodyBytes: number
  /** Whether a POST of this Content-Type is served here; any other goes to node:http. */
  acceptsContentType(contentType: string): boolean
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number
  /** A request head must arrive within this long of its first byte, or the client gets 408. */
  headersTimeoutMs: number
  /** A whole request must arrive within this long of its first byte, or the client gets 408. */
  requestTimeoutMs: number
  /** How often the timeouts are checked. */
  checkIntervalMs?: number
  /** Runs one request body; answers through `answer` (undefined: notifications only) or `fail` (HTTP 500). */
  call(text: string, connectionId: string, answer: (body: string | undefined) => void, fail: () => void): void
  /** Takes over a connection this server does not serve, with the bytes it has read and not used. */
  delegate(socket: Socket, unread: Buffer | undefined, connectionId: string): void
  /** Names each connection; the id stays with it when it is delegated. */
  connectionId(): string
}

export interface FastHttpServer {
  /** The listening socket (listen, address, and the 'close' that follows the last connection). */
  readonly server: Server
  /** Closes idle connections now and busy ones after their answer; accepts none after. */
  closeIdle(): void
  /** Destroys every connection still served here. */
  destroyAll(): void
}

const REQUEST_LINE = /^POST [\x21-\x7e]+ HTTP\/1\.1$/
/** A header line: a token, a colon, a value without control characters (tab excepted). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what it is for.
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/
const DIGITS = /^\d{1,15}$/
/** The reading side is paused while unanswered bytes exceed this (a pipelining client that does not wait). */
const PAUSE_AT_BYTES = 1024 * 1024
const HEAD_END = Buffer.from('\r\n\r\n')
const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'

/**
 * Reads a request head (request line and header lines, without the blank line that ends it);
 * undefined when it is anything but the plain keep-alive POST served here.
 */
export function parseFastRequestHead(head: string): FastRequestHead | undefined {
  const lines = head.split('\r\n')
  if (!REQUEST_LINE.test(lines[0]!)) return undefined
  let contentLength: number | undefined
  let contentType: string | undefined
  let hosts = 0
  let close = false
  for (let i = 1; i < lines.length; i++) {
    const match = HEADER_LINE.exec(lines[i]!)
    if (match === null) return undefined
    const value = match[2]!
    switch (match[1]!.toLowerCase()) {
      case 'content-length':
        if (contentLength !== undefined || !DIGITS.test(value)) return undefined
        contentLength = Number(value)
        break
      case 'content-type':
        if (contentType !== undefined) return undefined
        contentType = value
        break
      case 'host':
        hosts++
        break
      case 'connection':
        for (const option of value.split(',')) {
          const token = option.trim().toLowerCase()
          if (token === 'close') close = true
          else if (token === 'upgrade') return undefined
        }
        break
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return undefined
    }
  }
  if (contentLength === undefined || contentType === undefined || hosts !== 1) return undefined
  return { contentLength, contentType, close }
}

/** The Date header's value, formatted once a second. */
let dateSecond = -1
let dateText = ''
function httpDate(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

class FastConnection {
  readonly id: string
  /** Read and not yet used, in arrival order. */
  #chunks: Buffer[] = []
  #length = 0
  /** The current request's head and total size (head and body), once its head has arrived. */
  #head: FastRequestHead | undefined
  #total = 0
  /** A call is being answered: nothing more is read into a request until it is. */
  #busy = false
  /** Inside #serve: an answer given synchronously lets its loop continue instead of re-entering. */
  #serving = false
  /** Close after the current answer (the client asked, or the server is closing). */
  #closeAfter = false
  /** When the connection last went idle, or the current request's first byte arrived. */
  since = performance.now()

  readonly #onData = (chunk: Buffer): void => this.#receive(chunk)
  readonly #onEnd = (): void => this.#clientEnded()
  readonly #onError = (): void => {
    this.socket.destroy()
  }
  readonly #onClose = (): void => {
    this.owner.connections.delete(this)
  }

  constructor(
    readonly socket: Socket,
    readonly owner: FastHttpState,
  ) {
    this.id = owner.options.connectionId()
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
  }

  /** What the connection waits for: a request, the rest of its head or body, or its answer. */
  get phase(): 'idle' | 'head' | 'body' | 'busy' {
    if (this.#busy) return 'busy'
    if (this.#length === 0) return 'idle'
    return this.#head === undefined ? 'head' : 'body'
  }

  /** Ends an idle connection now; any other after its answer. */
  closeSoon(): void {
    if (this.phase === 'idle') this.socket.destroy()
    else this.#closeAfter = true
  }

  /** As node:http does: the 408 is written, and the connection cut. */
  timeOut(): void {
    this.socket.write(REQUEST_TIMEOUT_RESPONSE)
    this.socket.destroy()
  }

  #receive(chunk: Buffer): void {
    if (this.#length === 0 && !this.#busy) this.since = performance.now()
    this.#chunks.push(chunk)
    this.#length += chunk.length
    if (this.#busy) {
      if (this.#length > PAUSE_AT_BYTES) this.socket.pause()
      return
    }
    this.#serve()
  }

  #clientEnded(): void {
    // The client sent all it will: answer what is in flight, then close.
    if (this.#busy) this.#closeAfter = true
    else this.socket.destroySoon()
  }

  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)]
    return this.#chunks[0]!
  }

  /** Serves the requests read so far, one at a time, in order. */
  #serve(): void {
    this.#serving = true
    while (!this.#busy && this.#length > 0 && !this.socket.destroyed) {
      if (this.#head === undefined) {
        const data = this.#joined()
        const headEnd = data.indexOf(HEAD_END)
        if (headEnd === -1) {
          if (data.length > maxHeaderSize) this.#delegate()
          break
        }
        const head = headEnd <= maxHeaderSize ? parseFastRequestHead(data.toString('latin1', 0, headEnd)) : undefined
        const { options } = this.owner
        if (
          head === undefined ||
          head.contentLength > options.maxBodyBytes ||
          !options.acceptsContentType(head.contentType)
        ) {
          this.#delegate()
          break
        }
        this.#head = head
        this.#total = headEnd + HEAD_END.length + head.contentLength
      }
      if (this.#length < this.#total) break
      this.#call(this.#head)
    }
    this.#serving = false
  }

  #call(head: FastRequestHead): void {
    const data = this.#joined()
    const text = data.toString('utf8', this.#total - head.contentLength, this.#total)
    if (data.length > this.#total) {
      this.#chunks = [data.subarray(this.#total)]
      this.#length = data.length - this.#total
    } else {
      this.#chunks = []
      this.#length = 0
    }
    this.#head = undefined
    this.#total = 0
    if (head.close) this.#closeAfter = true
    this.#busy = true
    this.owner.options.call(
      text,
      this.id,
      (body) => this.#answer('200 OK', 'application/json', body ?? ''),
      () => this.#answer('500 Internal Server Error', 'text/plain; charset=utf-8', 'internal error\n'),
    )
  }

  #answer(status: string, contentType: string, body: string): void {
    if (this.socket.destroyed) return
    const close = this.#closeAfter
    const connection = close ? 'Connection: close' : this.owner.keepAliveHeaders
    // node:http's header names and order: the caller's lowercase ones, then its own.
    this.socket.write(
      `HTTP/1.1 ${status}\r\ncontent-type: ${contentType}\r\naccess-control-allow-origin: ${this.owner.options.cors}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nDate: ${httpDate()}\r\n${connection}\r\n\r\n${body}`,
    )
    if (close) {
      this.socket.destroySoon()
      return
    }
    this.#busy = false
    this.since = performance.now()
    if (this.socket.writableNeedDrain) {
      // A client that sends without reading its answers waits until it has read them.
      this.socket.pause()
      this.socket.once('drain', () => this.#resume())
      return
    }
    this.#resume()
  }

  #resume(): void {
    if (this.socket.isPaused()) this.socket.resume()
    if (!this.#serving) this.#serve()
  }

  #delegate(): void {
    const { socket } = this
    socket.off('data', this.#onData)
    socket.off('end', this.#onEnd)
    socket.off('error', this.#onError)
    socket.off('close', this.#onClose)
    this.owner.connections.delete(this)
    const unread = this.#length > 0 ? this.#joined() : undefined
    this.#chunks = []
    this.#length = 0
    this.owner.options.delegate(socket, unread, this.id)
  }
}

interface FastHttpState {
  readonly options: FastHttpOptions
  readonly connections: Set<FastConnection>
  readonly keepAliveHeaders: string
}

/** See the module comment. Listen with `server.listen`; `server.close` stops accepting. */
export function createFastHttpServer(options: FastHttpOptions): FastHttpServer {
  const state: FastHttpState = {
    options,
    connections: new Set(),
    keepAliveHeaders: `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}`,
  }
  let closing = false
  // node:http's socket options: half-open, so an answer can follow the client's end of sending.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const connection = new FastConnection(socket, state)
    state.connections.add(connection)
    if (closing) connection.closeSoon()
  })

  const checker = setInterval(() => {
    const now = performance.now()
    for (const connection of state.connections) {
      const age = now - connection.since
      const phase = connection.phase
      if (phase === 'idle') {
        if (age > options.keepAliveTimeoutMs) connection.socket.destroy()
        continue
      }
      if (phase === 'busy') continue
      if (age > options.requestTimeoutMs || (phase === 'head' && age > options.headersTimeoutMs)) connection.timeOut()
    }
  }, options.checkIntervalMs ?? 1_000)
  checker.unref()
  server.on('close', () => clearInterval(checker))

  return {
    server,
    closeIdle() {
      closing = true
      for (const connection of state.connections) connection.closeSoon()
    },
    destroyAll() {
      for (const connection of state.connections) connection.socket.destroy()
    },
  }
}
