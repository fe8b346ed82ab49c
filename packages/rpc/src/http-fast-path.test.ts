import { type AddressInfo, type Socket, connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createFastHttpServer, type FastHttpOptions, parseFastRequestHead } from './http-fast-path.ts'
import { createRpcServer, type RpcServer } from './server.ts'
import { heldMethod } from './testing/held-method.ts'

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** A client that writes raw bytes and reads raw HTTP/1.1 responses off one connection. */
class RawClient {
  readonly socket: Socket
  #data = Buffer.alloc(0)
  #ended = false
  #wake: (() => void) | undefined

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1')
    this.socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk])
      this.#wake?.()
    })
    this.socket.on('close', () => {
      this.#ended = true
      this.#wake?.()
    })
    this.socket.on('error', () => {})
  }

  write(text: string | Buffer): void {
    this.socket.write(text)
  }

  /** Resolves when the server has closed the connection. */
  async closed(): Promise<void> {
    while (!this.#ended) await this.#more()
  }

  async response(): Promise<RawResponse> {
    for (;;) {
      const parsed = this.#parse()
      if (parsed !== undefined) return parsed
      if (this.#ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.#data.toString('latin1'))}`)
      await this.#more()
    }
  }

  #more(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined
        resolve()
      }
    })
  }

  #parse(): RawResponse | undefined {
    const headEnd = this.#data.indexOf('\r\n\r\n')
    if (headEnd === -1) return undefined
    const [statusLine, ...lines] = this.#data.toString('latin1', 0, headEnd).split('\r\n')
    const status = Number(statusLine!.split(' ')[1])
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
    }
    const start = headEnd + 4
    let end: number
    if (status < 200 || status === 204) end = start
    else if (headers['content-length'] !== undefined) end = start + Number(headers['content-length'])
    else if (this.#ended) end = this.#data.length
    else return undefined
    if (this.#data.length < end) return undefined
    const body = this.#data.toString('utf8', start, end)
    this.#data = this.#data.subarray(end)
    return { status, headers, body }
  }
}

function post(body: string, extraHeaders = ''): string {
  return `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`
}

const call = (id: number, method = 'echo', params: unknown[] = [id]) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params })

const servers: RpcServer[] = []
const clients: RawClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function start(held = heldMethod()) {
  const server = createRpcServer({
    methods: { echo: (params) => params, held: held.held },
    host: '127.0.0.1',
    port: 0,
  })
  servers.push(server)
  const { httpUrl } = await server.listen()
  const port = Number(new URL(httpUrl).port)
  return {
    server,
    port,
    client: () => {
      const client = new RawClient(port)
      clients.push(client)
      return client
    },
  }
}

describe('parseFastRequestHead', () => {
  const head = (...lines: string[]) => lines.join('\r\n')
  const plain = ['POST / HTTP/1.1', 'Host: a', 'Content-Type: application/json', 'Content-Length: 12']

  it('reads the plain keep-alive POST, header names in any case, values trimmed', () => {
    expect(parseFastRequestHead(head(...plain))).toEqual({
      contentLength: 12,
      contentType: 'application/json',
      close: false,
    })
    expect(
      parseFastRequestHead(
        head('POST /rpc?x=1 HTTP/1.1', 'HOST: a', 'content-TYPE:application/json ', 'content-length:\t0'),
      ),
    ).toEqual({ contentLength: 0, contentType: 'application/json', close: false })
    expect(parseFastRequestHead(head(...plain, 'Connection: keep-alive, Close'))?.close).toBe(true)
  })

  it.each([
    ['another method', head('PUT / HTTP/1.1', ...plain.slice(1))],
    ['HTTP/1.0', head('POST / HTTP/1.0', ...plain.slice(1))],
    ['a chunked body', head(...plain.slice(0, 3), 'Transfer-Encoding: chunked')],
    ['a Transfer-Encoding beside a Content-Length', head(...plain, 'Transfer-Encoding: chunked')],
    ['no Content-Length', head(...plain.slice(0, 3))],
    ['two Content-Lengths', head(...plain, 'Content-Length: 12')],
    ['a Content-Length that is not a number', head(...plain.slice(0, 3), 'Content-Length: 1e3')],
    ['a negative Content-Length', head(...plain.slice(0, 3), 'Content-Length: -1')],
    ['no Host', head(plain[0]!, ...plain.slice(2))],
    ['two Hosts', head(...plain, 'Host: b')],
    ['no Content-Type', head(...plain.slice(0, 2), plain[3]!)],
    ['Expect: 100-continue', head(...plain, 'Expect: 100-continue')],
    ['an Upgrade', head(...plain, 'Upgrade: h2c', 'Connection: Upgrade')],
    ['a space before the colon', head(...plain.slice(0, 3), 'Content-Length : 12')],
    ['a folded header line', head(...plain, 'X-A: 1', ' 2')],
    ['a bare LF inside a line', head(...plain, 'X-A: 1\nContent-Length: 3')],
    ['a control character in a value', head(...plain, 'X-A: 1\x00')],
    ['a space in the target', head('POST /a b HTTP/1.1', ...plain.slice(1))],
  ])('leaves %s to node:http', (_name, text) => {
    expect(parseFastRequestHead(text)).toBeUndefined()
  })
})

describe('HTTP fast path in the RPC server', () => {
  it('answers with the headers node:http sends, and keeps the connection', async () => {
    const { client } = await start()
    const raw = client()
    raw.write(post(call(1)))
    const response = await raw.response()
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ jsonrpc: '2.0', id: 1, result: [1] })
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'content-length': String(Buffer.byteLength(response.body)),
      connection: 'keep-alive',
      'keep-alive': 'timeout=30',
    })
    expect(Date.parse(response.headers.date!)).toBeGreaterThan(Date.now() - 60_000)
    raw.write(post(call(2)))
    expect(JSON.parse((await raw.response()).body).id).toBe(2)
  })

  it('answers pipelined requests in order, whatever the chunking', async () => {
    const held = heldMethod()
    const { client } = await start(held)
    const raw = client()
    // The first waits in a held method: the others must not overtake it.
    const bytes = Buffer.from(post(call(1, 'held')) + post(call(2)) + post(call(3, 'echo', ['é…'])))
    for (let i = 0; i < bytes.length; i += 7) raw.write(bytes.subarray(i, i + 7))
    await held.inside
    // The rest arrives while the first is held.
    await new Promise((resolve) => setTimeout(resolve, 50))
    held.release()
    const bodies = [await raw.response(), await raw.response(), await raw.response()].map((r) => JSON.parse(r.body))
    expect(bodies.map((body) => body.id)).toEqual([1, 2, 3])
    expect(bodies[2].result).toEqual(['é…'])
  })

  it('reads a body one byte at a time', async () => {
    const { client } = await start()
    const raw = client()
    const bytes = Buffer.from(post(call(7, 'echo', ['ü'])))
    for (const byte of bytes) {
      raw.write(Buffer.from([byte]))
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(JSON.parse((await raw.response()).body)).toEqual({ jsonrpc: '2.0', id: 7, result: ['ü'] })
  })

  it('hands the connection to node:http at the first request it does not serve, bytes and order kept', async () => {
    const { client } = await start()
    const raw = client()
    raw.write(post(call(1)))
    expect((await raw.response()).status).toBe(200)
    // A preflight, then a chunked POST and a plain one, in one write: node:http serves them all.
    const body = call(2)
    raw.write(
      'OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\r\n' +
        `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` +
        post(call(3)),
    )
    const preflight = await raw.response()
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-methods']).toBe('POST, GET, OPTIONS')
    expect(JSON.parse((await raw.response()).body).id).toBe(2)
    expect(JSON.parse((await raw.response()).body).id).toBe(3)
  })

  it('leaves Expect: 100-continue, HTTP/1.0 and oversize bodies to node:http', async () => {
    const { client } = await start()
    const expecting = client()
    const body = call(4)
    expecting.write(
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    )
    expect((await expecting.response()).status).toBe(100)
    expecting.write(body)
    expect(JSON.parse((await expecting.response()).body).id).toBe(4)

    const old = client()
    old.write(`POST / HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    expect(JSON.parse((await old.response()).body).id).toBe(4)

    const large = client()
    large.write(
      'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n',
    )
    const refused = await large.response()
    expect(refused.status).toBe(413)
    expect(JSON.parse(refused.body).error.message).toMatch(/request body too large/)
  })

  it.each([
    ['no Host', `POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`],
    ['two Content-Lengths', post('{}', 'Content-Length: 3\r\n')],
    [
      'a space before a colon',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length : 2\r\n\r\n{}',
    ],
    ['a head over the size limit', `POST / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('answers a request with %s as node:http does, with a 4xx', async (_name, request) => {
    const { client } = await start()
    const raw = client()
    raw.write(request)
    await raw.closed()
    const response = await raw.response()
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(response.status).toBeLessThan(500)
  })

  it('closes after the answer when the client asks', async () => {
    const { client } = await start()
    const raw = client()
    raw.write(post(call(1), 'Connection: close\r\n'))
    const response = await raw.response()
    expect(response.headers.connection).toBe('close')
    await raw.closed()
  })

  it('answers a request whose client has already ended its side, then closes', async () => {
    const { client } = await start()
    const raw = client()
    raw.socket.end(post(call(5)))
    expect(JSON.parse((await raw.response()).body).id).toBe(5)
    await raw.closed()
  })

  it('serves a client that pipelines megabytes of requests without reading, once it reads', async () => {
    const held = heldMethod()
    const { client } = await start(held)
    const raw = client()
    raw.socket.pause()
    const count = 3_000
    const filler = 'x'.repeat(1_000)
    raw.write(post(call(0, 'held')))
    for (let i = 1; i < count; i++) raw.write(post(call(i, 'echo', [filler])))
    await new Promise((resolve) => setTimeout(resolve, 100))
    held.release()
    raw.socket.resume()
    for (let i = 0; i < count; i++) expect(JSON.parse((await raw.response()).body).id).toBe(i)
  })

  it('on shutdown closes idle connections at once, delegated ones too, and answers busy ones first', async () => {
    const held = heldMethod()
    const { server, client } = await start(held)
    const idle = client()
    idle.write(post(call(1)))
    await idle.response()
    const delegated = client()
    delegated.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
    expect((await delegated.response()).body).toBe('ok\n')
    const busy = client()
    busy.write(post(call(2, 'held')))
    await held.inside

    const closing = server.close()
    await Promise.all([idle.closed(), delegated.closed()])
    // Had they waited for the grace period, the busy connection would have been cut with them.
    held.release()
    const answer = await busy.response()
    expect(JSON.parse(answer.body).id).toBe(2)
    expect(answer.headers.connection).toBe('close')
    await busy.closed()
    await closing
  })

  it('serves WebSocket upgrades on the same port', async () => {
    const { port } = await start()
    const { default: WebSocket } = await import('ws')
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.send(call(9))
    const message = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))))
    expect(JSON.parse(message)).toEqual({ jsonrpc: '2.0', id: 9, result: [9] })
    ws.close()
  })
})

describe('createFastHttpServer', () => {
  const servers: Array<{ close(): void }> = []
  afterEach(() => {
    for (const server of servers.splice(0)) server.close()
  })

  async function listen(overrides: Partial<FastHttpOptions>): Promise<number> {
    let connection = 0
    const fast = createFastHttpServer({
      cors: '*',
      maxBodyBytes: 1_000,
      acceptsContentType: () => true,
      keepAliveTimeoutMs: 60_000,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      checkIntervalMs: 20,
      call: (text, _id, answer) => answer(text),
      delegate: (socket) => socket.destroy(),
      connectionId: () => `c${++connection}`,
      ...overrides,
    })
    servers.push({
      close: () => {
        fast.destroyAll()
        fast.server.close()
      },
    })
    await new Promise<void>((resolve) => fast.server.listen(0, '127.0.0.1', resolve))
    return (fast.server.address() as AddressInfo).port
  }

  it('answers a failed call with 500 and keeps serving the connection', async () => {
    const port = await listen({ call: (text, _id, answer, fail) => (text === 'bad' ? fail() : answer(text)) })
    const raw = new RawClient(port)
    clients.push(raw)
    raw.write(post('bad') + post('ok'))
    const failed = await raw.response()
    expect(failed.status).toBe(500)
    expect(failed.body).toBe('internal error\n')
    expect((await raw.response()).body).toBe('ok')
  })

  it('closes an idle keep-alive connection after its timeout', async () => {
    const port = await listen({ keepAliveTimeoutMs: 100 })
    const raw = new RawClient(port)
    clients.push(raw)
    raw.write(post('1'))
    expect((await raw.response()).body).toBe('1')
    await raw.closed()
  })

  it('answers 408 and closes when a head or a body is too slow to arrive', async () => {
    const port = await listen({ headersTimeoutMs: 100, requestTimeoutMs: 200 })
    const slowHead = new RawClient(port)
    const slowBody = new RawClient(port)
    clients.push(slowHead, slowBody)
    slowHead.write('POST / HTTP/1.1\r\nHost: a\r\n')
    slowBody.write(post('12345').slice(0, -2))
    for (const raw of [slowHead, slowBody]) {
      await raw.closed()
      expect((await raw.response()).status).toBe(408)
    }
  })

  it('hands over a connection with the bytes it read, and keeps its id', async () => {
    const handed: Array<{ unread: string | undefined; id: string }> = []
    const port = await listen({
      delegate: (socket, unread, id) => {
        handed.push({ unread: unread?.toString('latin1'), id })
        socket.destroy()
      },
    })
    const raw = new RawClient(port)
    clients.push(raw)
    raw.write(post('1'))
    await raw.response()
    raw.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
    await raw.closed()
    expect(handed).toEqual([{ unread: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', id: 'c1' }])
  })
})
