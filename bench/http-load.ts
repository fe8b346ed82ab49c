import { type Socket, connect } from 'node:net'

/**
 * Keep-alive JSON-RPC poster for load generation on loopback: `connections` HTTP/1.1 sockets, one
 * request in flight on each, written and parsed by hand. The load generator shares the 2-core
 * machine with the node it measures; node:http's client cost about 300 µs of CPU per request,
 * CPU the node then did not have. Needs responses with a Content-Length (the node sends one).
 */
export function createPoster(url: string, connections: number) {
  const target = new URL(url)
  const head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: `
  const idle: Connection[] = []
  const waiting: Array<(connection: Connection) => void> = []
  const all = new Set<Connection>()
  let closed = false

  class Connection {
    readonly socket: Socket
    private buffer: Buffer = Buffer.alloc(0)
    pending: { resolve: (body: string) => void; reject: (error: Error) => void } | undefined

    constructor() {
      this.socket = connect(Number(target.port), target.hostname)
      this.socket.setNoDelay(true)
      this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
      this.socket.on('error', (error) => this.end(error))
      this.socket.on('close', () => this.end(new Error('the node closed the connection')))
      all.add(this)
    }

    send(body: string): Promise<string> {
      return new Promise((resolve, reject) => {
        this.pending = { resolve, reject }
        this.socket.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`)
      })
    }

    private onData(chunk: Buffer): void {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
      const headerEnd = this.buffer.indexOf('\r\n\r\n')
      if (headerEnd === -1) return
      const length = /content-length: *(\d+)/i.exec(this.buffer.toString('latin1', 0, headerEnd))
      if (length === null) {
        this.end(new Error('response without a Content-Length'))
        return
      }
      const total = headerEnd + 4 + Number(length[1])
      if (this.buffer.length < total) return
      const body = this.buffer.toString('utf8', headerEnd + 4, total)
      this.buffer = this.buffer.subarray(total)
      const pending = this.pending
      this.pending = undefined
      pending?.resolve(body)
      release(this)
    }

    private end(error: Error): void {
      if (!all.delete(this)) return
      this.socket.destroy()
      const at = idle.indexOf(this)
      if (at !== -1) idle.splice(at, 1)
      this.pending?.reject(error)
      this.pending = undefined
    }

    get usable(): boolean {
      return all.has(this)
    }
  }

  const release = (connection: Connection): void => {
    const next = waiting.shift()
    if (next !== undefined) next(connection)
    else idle.push(connection)
  }
  const acquire = (): Promise<Connection> => {
    if (closed) return Promise.reject(new Error('the poster is closed'))
    while (idle.length > 0) {
      const connection = idle.pop()!
      if (connection.usable) return Promise.resolve(connection)
    }
    if (all.size < connections) return Promise.resolve(new Connection())
    return new Promise((resolve) => waiting.push(resolve))
  }
  return {
    post: async (body: string): Promise<string> => (await acquire()).send(body),
    close: () => {
      closed = true
      for (const connection of all) connection.socket.destroy()
    },
  }
}

/**
 * JSON-RPC calls over one keep-alive connection of {@link createPoster}, for a bench's polls while the
 * node is under load: ~70 µs of CPU a call on the test machine, against ~1.3 ms for `fetch`, CPU that
 * the node it measures would not have.
 */
export function createRpcCaller(url: string) {
  const poster = createPoster(url, 1)
  return {
    call: async <T>(method: string, params: unknown[] = []): Promise<T> => {
      const response = JSON.parse(await poster.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }))) as {
        result?: T
        error?: { message: string }
      }
      if (response.error !== undefined) throw new Error(`${method}: ${response.error.message}`)
      return response.result as T
    },
    close: () => poster.close(),
  }
}

/** Runs `work(i)` for i in [0, count) on `concurrency` loops; bounded by count and by `seconds`. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  seconds: number,
  work: (i: number) => Promise<void>,
): Promise<{ done: number; seconds: number }> {
  let next = 0
  let done = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++
        await work(i)
        done++
      }
    }),
  )
  return { done, seconds: (performance.now() - started) / 1000 }
}

/** The median, 99th percentile and maximum of `values` (NaN for none): how latencies are reported. */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN }
}
