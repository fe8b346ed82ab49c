import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createPublicClient, http, webSocket } from 'viem'
import WebSocket from 'ws'
import { CairnError, bytesToHex } from '@cairn/primitives'
import { executionReverted, type RpcLogger, silentLogger } from './errors.ts'
import { createRpcServer, DEFAULT_RPC_LIMITS, type RpcServer, type RpcServerOptions } from './server.ts'
import { createThreadedTransport } from './transport-thread.ts'
import { bytes32, FakeSubscriptionSource, fakeLog, fakeTransaction } from './testing/fake-source.ts'
import { heldMethod } from './testing/held-method.ts'

const servers: RpcServer[] = []

/** ABI encoding of Solidity's Error(string), as a revert carries it. */
function encodeErrorString(reason: string): `0x${string}` {
  const bytes = Buffer.from(reason, 'utf8')
  const word = (n: number) => n.toString(16).padStart(64, '0')
  const padded = bytes.toString('hex').padEnd(Math.ceil(bytes.length / 32) * 64, '0')
  return `0x08c379a0${word(32)}${word(bytes.length)}${padded}`
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

const methods: RpcServerOptions['methods'] = {
  eth_chainId: () => '0x2a',
  eth_blockNumber: () => '0x10',
  echo: (params) => params,
  slow_echo: async (params) => {
    await new Promise((resolve) => setTimeout(resolve, 5))
    return params
  },
  whoami: (_params, ctx) => ctx,
  nonce_too_low: () => {
    throw new CairnError('MEMPOOL_NONCE_TOO_LOW', 'nonce too low')
  },
  reverts: () => {
    throw executionReverted(encodeErrorString('bad!'))
  },
  crashes: () => {
    throw new Error('secret internals at /home/node/file.ts:12')
  },
  big: () => 'x'.repeat(2000),
  bigint_result: () => ({ value: 5n }),
}

async function startServer(overrides: Partial<RpcServerOptions> = {}) {
  const server = createRpcServer({ methods, host: '127.0.0.1', port: 0, ...overrides })
  servers.push(server)
  return { server, ...(await server.listen()) }
}

interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

function httpCall(
  url: string,
  body: string | Buffer,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'POST', headers: { 'content-type': 'application/json', ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function rpc(url: string, payload: unknown): Promise<unknown> {
  const reply = await httpCall(url, JSON.stringify(payload))
  return JSON.parse(reply.text)
}

describe.each([false, true])('transport on its own thread: %s', (thread) => {
  const start = (overrides: Partial<RpcServerOptions> = {}) => startServer({ thread, ...overrides })

  describe('HTTP transport', () => {
    it('answers a single call', async () => {
      const { httpUrl } = await start()
      const reply = await httpCall(
        httpUrl,
        JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'eth_chainId', params: [] }),
      )
      expect(reply.status).toBe(200)
      expect(reply.headers['content-type']).toBe('application/json')
      expect(JSON.parse(reply.text)).toEqual({ jsonrpc: '2.0', id: 7, result: '0x2a' })
    })

    it('keeps string ids and null ids, and treats missing params as empty', async () => {
      const { httpUrl } = await start()
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 'abc', method: 'echo' })).toEqual({
        jsonrpc: '2.0',
        id: 'abc',
        result: [],
      })
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: null, method: 'eth_chainId' })).toEqual({
        jsonrpc: '2.0',
        id: null,
        result: '0x2a',
      })
    })

    it('answers rpc_modules with each namespace it serves, as geth', async () => {
      const { httpUrl } = await start()
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'rpc_modules' })).toEqual({
        jsonrpc: '2.0',
        id: 1,
        result: { bigint: '1.0', eth: '1.0', nonce: '1.0', rpc: '1.0', slow: '1.0' },
      })
    })

    it('answers a batch in order, skipping notifications', async () => {
      const { httpUrl } = await start()
      const reply = await rpc(httpUrl, [
        { jsonrpc: '2.0', id: 1, method: 'slow_echo', params: ['a'] },
        { jsonrpc: '2.0', method: 'echo', params: ['notification'] },
        { jsonrpc: '2.0', id: 2, method: 'eth_chainId' },
        { jsonrpc: '2.0', id: 3, method: 'nope' },
      ])
      expect(reply).toEqual([
        { jsonrpc: '2.0', id: 1, result: ['a'] },
        { jsonrpc: '2.0', id: 2, result: '0x2a' },
        { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'the method nope does not exist/is not available' } },
      ])
    })

    it('sends an empty 200 for notifications only', async () => {
      const { httpUrl } = await start()
      const single = await httpCall(httpUrl, JSON.stringify({ jsonrpc: '2.0', method: 'eth_chainId' }))
      expect(single).toMatchObject({ status: 200, text: '' })
      const batch = await httpCall(httpUrl, JSON.stringify([{ jsonrpc: '2.0', method: 'eth_chainId' }]))
      expect(batch).toMatchObject({ status: 200, text: '' })
    })

    it('answers malformed JSON with a parse error', async () => {
      const { httpUrl } = await start()
      const reply = await httpCall(httpUrl, '{"jsonrpc":"2.0","id":1,')
      expect(JSON.parse(reply.text)).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'parse error' },
      })
    })

    it('rejects an empty batch and non-object batch items', async () => {
      const { httpUrl } = await start()
      expect(await rpc(httpUrl, [])).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'empty batch' },
      })
      expect(await rpc(httpUrl, [1, 'x', { jsonrpc: '2.0', id: 4, method: 'eth_chainId' }, { id: 5 }])).toEqual([
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
        { jsonrpc: '2.0', id: 4, result: '0x2a' },
        { jsonrpc: '2.0', id: 5, error: { code: -32600, message: 'invalid request' } },
      ])
    })

    it('rejects non-array params', async () => {
      const { httpUrl } = await start()
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'echo', params: { a: 1 } })).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32602, message: 'non-array args' },
      })
    })

    it('maps thrown errors like geth without leaking internals', async () => {
      const logged: unknown[] = []
      const logger: RpcLogger = { debug() {}, info() {}, warn() {}, error: (obj) => logged.push(obj) }
      const { httpUrl } = await start({ logger })
      const reply = await rpc(httpUrl, [
        { jsonrpc: '2.0', id: 1, method: 'nonce_too_low' },
        { jsonrpc: '2.0', id: 2, method: 'reverts' },
        { jsonrpc: '2.0', id: 3, method: 'crashes' },
      ])
      expect(reply).toEqual([
        { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'nonce too low' } },
        {
          jsonrpc: '2.0',
          id: 2,
          error: { code: 3, message: 'execution reverted: bad!', data: expect.stringMatching(/^0x08c379a0/) },
        },
        { jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'internal error' } },
      ])
      expect(JSON.stringify(reply)).not.toContain('secret')
      expect(logged).toHaveLength(1)
    })

    it('serializes bigint results as quantities', async () => {
      const { httpUrl } = await start()
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'bigint_result' })).toEqual({
        jsonrpc: '2.0',
        id: 1,
        result: { value: '0x5' },
      })
    })

    it('passes the transport and a per-connection id to methods', async () => {
      const { httpUrl } = await start()
      const reply = (await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'whoami' })) as {
        result: { transport: string; connectionId: string }
      }
      expect(reply.result.transport).toBe('http')
      expect(reply.result.connectionId).toMatch(/^http-\d+$/)
    })

    it('refuses a body over the limit with HTTP 413 and a JSON-RPC error', async () => {
      const { httpUrl } = await start({ limits: { maxBodyBytes: 1024 } })
      const payload = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['y'.repeat(2000)] })
      const reply = await httpCall(httpUrl, payload)
      expect(reply.status).toBe(413)
      const body = JSON.parse(reply.text)
      expect(body.error.code).toBe(-32005)
      expect(body.error.message).toContain('limit of 1024 bytes')
    })

    it('refuses a chunked body that grows over the limit', async () => {
      const { httpUrl } = await start({ limits: { maxBodyBytes: 1024 } })
      const reply = await new Promise<HttpReply>((resolve, reject) => {
        const req = request(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          )
        })
        req.on('error', reject)
        req.write('[')
        req.write(' '.repeat(2048))
        req.end(']')
      })
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text).error.code).toBe(-32005)
    })

    it('finishes an in-flight call when the server closes', async () => {
      const { held, inside, release } = heldMethod()
      const { httpUrl, server } = await start({ methods: { held } })
      const pending = rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'held' })
      await inside
      const closing = server.close()
      release()
      await closing
      expect(await pending).toEqual({ jsonrpc: '2.0', id: 1, result: 'done' })
    })

    it('refuses a batch over the item limit', async () => {
      const { httpUrl } = await start({ limits: { maxBatchItems: 3 } })
      const batch = Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: i + 10, method: 'eth_chainId' }))
      const reply = (await rpc(httpUrl, batch)) as Array<{ id: number; error: { code: number; message: string } }>
      expect(reply).toHaveLength(1)
      expect(reply[0]!.id).toBe(10)
      expect(reply[0]!.error.code).toBe(-32600)
      expect(reply[0]!.error.message).toBe(
        'batch too large: 4 requests exceed the limit of 3 per batch; split the batch',
      )
    })

    it('stops a batch whose response grows over the limit', async () => {
      const { httpUrl } = await start({ limits: { maxResponseBytes: 5000 } })
      const batch = Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'big' }))
      const reply = (await rpc(httpUrl, batch)) as Array<{ id: number; result?: string; error?: { code: number } }>
      expect(reply.map((item) => item.id)).toEqual([0, 1, 2, 3])
      expect(reply[0]!.result).toHaveLength(2000)
      expect(reply[1]!.result).toHaveLength(2000)
      expect(reply[2]!.error?.code).toBe(-32005)
      expect(reply[3]!.error?.code).toBe(-32005)
    })

    it('answers a batch whose response crosses the limit at an item that is not an object', async () => {
      const batch = [{ jsonrpc: '2.0', id: 0, method: 'big' }, { jsonrpc: '2.0', id: 1, method: 'big' }, null]
      // Limits around the point where the third item's (invalid request) answer crosses it.
      for (const maxResponseBytes of [4100, 4125, 4150]) {
        const { httpUrl } = await start({ limits: { maxResponseBytes } })
        const reply = (await rpc(httpUrl, batch)) as Array<{ id: number | null; error?: { code: number } }>
        expect(reply.map((item) => item.id)).toEqual([0, 1, null])
        expect([-32600, -32005]).toContain(reply[2]!.error?.code)
      }
    })

    it('answers a CORS preflight', async () => {
      const { httpUrl } = await start({ cors: 'https://app.example' })
      const reply = await httpCall(httpUrl, '', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      })
      expect(reply.status).toBe(204)
      expect(reply.headers['access-control-allow-origin']).toBe('https://app.example')
      expect(reply.headers['access-control-allow-methods']).toContain('POST')
      expect(reply.headers['access-control-allow-headers']).toBe('content-type')
      const post = await httpCall(httpUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }))
      expect(post.headers['access-control-allow-origin']).toBe('https://app.example')
    })

    it('fails listen with the system error when the port is taken, and closes cleanly', async () => {
      const { httpUrl } = await start()
      const port = Number(new URL(httpUrl).port)
      const second = createRpcServer({ methods, host: '127.0.0.1', port, thread })
      await expect(second.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' })
      await second.close()
    })

    it('answers GET with a health text and other verbs with 405', async () => {
      const { httpUrl } = await start()
      expect(await httpCall(httpUrl, '', { method: 'GET' })).toMatchObject({ status: 200, text: 'ok\n' })
      const put = await httpCall(httpUrl, '{}', { method: 'PUT' })
      expect(put.status).toBe(405)
    })

    it('accepts the content types geth accepts and refuses others with 415', async () => {
      const { httpUrl } = await start()
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' })
      for (const type of ['application/json; charset=utf-8', 'application/json-rpc', 'application/jsonrequest']) {
        expect((await httpCall(httpUrl, body, { headers: { 'content-type': type } })).status).toBe(200)
      }
      const wrong = await httpCall(httpUrl, body, { headers: { 'content-type': 'text/plain' } })
      expect(wrong.status).toBe(415)
      expect(wrong.text).toContain('invalid content type')
    })

    it('refuses eth_subscribe over HTTP', async () => {
      const { httpUrl } = await start({ subscriptions: new FakeSubscriptionSource() })
      expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] })).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32601, message: 'notifications not supported' },
      })
    })

    it('reports each call to the metrics hook', async () => {
      const seen: Array<[string, string]> = []
      const { httpUrl } = await start({
        onRequest: (method, seconds, outcome) => {
          expect(seconds).toBeGreaterThanOrEqual(0)
          seen.push([method, outcome])
        },
      })
      await rpc(httpUrl, [
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
        { jsonrpc: '2.0', id: 2, method: 'nonce_too_low' },
        { jsonrpc: '2.0', id: 3, method: 'made_up' },
      ])
      expect(seen).toEqual([
        ['eth_chainId', 'ok'],
        ['nonce_too_low', 'error'],
        ['unknown_method', 'error'],
      ])
    })

    it('serves viem over HTTP', async () => {
      const { httpUrl } = await start()
      const client = createPublicClient({ transport: http(httpUrl, { retryCount: 0 }) })
      expect(await client.getChainId()).toBe(42)
      expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(16n)
      const batching = createPublicClient({ transport: http(httpUrl, { retryCount: 0, batch: true }) })
      const [chainId, blockNumber] = await Promise.all([
        batching.getChainId(),
        batching.getBlockNumber({ cacheTime: 0 }),
      ])
      expect([chainId, blockNumber]).toEqual([42, 16n])
    })
  })

  // biome-ignore lint/suspicious/noExplicitAny: JSON off the wire; the assertions check its shape.
  type WireJson = any

  /** A WebSocket client that collects every message. */
  async function openWs(url: string) {
    const socket = new WebSocket(url)
    const messages: WireJson[] = []
    const waiters: Array<() => void> = []
    socket.on('message', (data) => {
      messages.push(JSON.parse(data.toString()))
      for (const wake of waiters.splice(0)) wake()
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    let nextId = 1
    const waitFor = async (predicate: (message: WireJson) => boolean): Promise<WireJson> => {
      for (;;) {
        const found = messages.find(predicate)
        if (found !== undefined) return found
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    }
    return {
      socket,
      messages,
      waitFor,
      async call(method: string, params: unknown[] = []): Promise<WireJson> {
        const id = nextId++
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
        return waitFor((message) => message.id === id)
      },
      notifications(subscription: string): WireJson[] {
        return messages.filter((m) => m.method === 'eth_subscription' && m.params.subscription === subscription)
      },
    }
  }

  describe('WebSocket transport', () => {
    it('serves plain calls and batches on the HTTP port', async () => {
      const { wsUrl, httpUrl } = await start()
      expect(new URL(wsUrl).port).toBe(new URL(httpUrl).port)
      const client = await openWs(wsUrl)
      expect(await client.call('eth_chainId')).toEqual({ jsonrpc: '2.0', id: 1, result: '0x2a' })
      expect((await client.call('whoami')).result.transport).toBe('ws')
      client.socket.send(JSON.stringify([{ jsonrpc: '2.0', id: 'b', method: 'eth_blockNumber' }]))
      const batch = await client.waitFor((m) => Array.isArray(m))
      expect(batch).toEqual([{ jsonrpc: '2.0', id: 'b', result: '0x10' }])
      client.socket.send('not json')
      expect(await client.waitFor((m) => m.error?.code === -32700)).toMatchObject({ id: null })
      client.socket.close()
    })

    it('closes a connection that sends a message over the size limit', async () => {
      const { wsUrl } = await start({ limits: { maxWsMessageBytes: 1024 } })
      const client = await openWs(wsUrl)
      const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)))
      client.socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['z'.repeat(4096)] }))
      expect(await closed).toBe(1009)
    })

    it('serves WebSocket on a separate port when asked', async () => {
      const { wsUrl, httpUrl } = await start({ wsPort: 0 })
      expect(new URL(wsUrl).port).not.toBe(new URL(httpUrl).port)
      const client = await openWs(wsUrl)
      expect((await client.call('eth_chainId')).result).toBe('0x2a')
      client.socket.close()
    })

    it('delivers newHeads after the subscription id and stops after unsubscribe', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl } = await start({ subscriptions: source })
      const client = await openWs(wsUrl)
      const { result: id } = await client.call('eth_subscribe', ['newHeads'])
      expect(id).toMatch(/^0x[0-9a-f]{1,32}$/)
      source.pushHead({ number: '0x1', hash: bytesToHex(bytes32(1)) })
      const note = await client.waitFor((m) => m.method === 'eth_subscription')
      expect(note).toEqual({
        jsonrpc: '2.0',
        method: 'eth_subscription',
        params: { subscription: id, result: { number: '0x1', hash: bytesToHex(bytes32(1)) } },
      })
      expect(await client.call('eth_unsubscribe', [id])).toMatchObject({ result: true })
      expect(source.heads.size).toBe(0)
      expect(await client.call('eth_unsubscribe', [id])).toMatchObject({
        error: { code: -32000, message: 'subscription not found' },
      })
      client.socket.close()
    })

    it('filters log notifications by address and topics, including removed logs', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl } = await start({ subscriptions: source })
      const client = await openWs(wsUrl)
      const wanted = new Uint8Array(20).fill(0x11)
      const { result: id } = await client.call('eth_subscribe', [
        'logs',
        { address: [bytesToHex(wanted)], topics: [null, [bytesToHex(bytes32(2)), bytesToHex(bytes32(3))]] },
      ])
      source.pushLogs([
        fakeLog({ address: wanted, topics: [bytes32(9), bytes32(2)], logIndex: 0 }),
        fakeLog({ address: wanted, topics: [bytes32(9), bytes32(4)], logIndex: 1 }),
        fakeLog({ topics: [bytes32(9), bytes32(3)], logIndex: 2 }),
        fakeLog({ address: wanted, topics: [bytes32(9)], logIndex: 3 }),
        fakeLog({ address: wanted, topics: [bytes32(8), bytes32(3), bytes32(7)], logIndex: 4, removed: true }),
      ])
      await client.call('eth_chainId')
      const notes = client.notifications(id)
      expect(notes.map((n) => n.params.result.logIndex)).toEqual(['0x0', '0x4'])
      expect(notes[1].params.result.removed).toBe(true)
      expect(notes[0].params.result.address).toBe(bytesToHex(wanted))
      client.socket.close()
    })

    it('delivers pending transaction hashes and full transactions, and refuses unsupported kinds', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl } = await start({ subscriptions: source })
      const client = await openWs(wsUrl)
      const { result: id } = await client.call('eth_subscribe', ['newPendingTransactions'])
      const hash = bytesToHex(bytes32(5))
      source.pushPending(hash)
      expect((await client.waitFor((m) => m.params?.subscription === id)).params.result).toBe(hash)
      const { result: fullId } = await client.call('eth_subscribe', ['newPendingTransactions', true])
      const tx = fakeTransaction({ hash })
      source.pushPendingFull(tx)
      expect((await client.waitFor((m) => m.params?.subscription === fullId)).params.result).toEqual(tx)
      expect(await client.call('eth_subscribe', ['syncing2'])).toMatchObject({
        error: { code: -32601, message: 'no "syncing2" subscription in eth namespace' },
      })
      expect(await client.call('eth_subscribe', [])).toMatchObject({ error: { code: -32602 } })
      expect(await client.call('eth_subscribe', ['logs', { address: '0x12' }])).toMatchObject({
        error: { code: -32602, message: expect.stringContaining('invalid argument 1') },
      })
      client.socket.close()
    })

    it('ends subscriptions when the connection closes', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl, server } = await start({ subscriptions: source })
      const client = await openWs(wsUrl)
      await client.call('eth_subscribe', ['newHeads'])
      await client.call('eth_subscribe', ['logs'])
      expect(source.listenerCount).toBe(2)
      expect(server.wsConnections).toBe(1)
      await new Promise<void>((resolve) => {
        client.socket.once('close', () => resolve())
        client.socket.close()
      })
      await expect.poll(() => source.listenerCount).toBe(0)
      expect(server.wsConnections).toBe(0)
    })

    it('does not leave a subscription behind when the connection closes mid-batch', async () => {
      const source = new FakeSubscriptionSource()
      const { held, inside, release } = heldMethod()
      const { wsUrl, server } = await start({ subscriptions: source, methods: { held } })
      const client = await openWs(wsUrl)
      client.socket.send(
        JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'held' },
          { jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['newHeads'] },
        ]),
      )
      await inside
      await new Promise<void>((resolve) => {
        client.socket.once('close', () => resolve())
        client.socket.close()
      })
      await expect.poll(() => server.wsConnections).toBe(0)
      release()
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(source.listenerCount).toBe(0)
    })

    it('limits subscriptions per connection and connections per server', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl } = await start({
        subscriptions: source,
        limits: { maxSubscriptionsPerConnection: 1, maxWsConnections: 1 },
      })
      const client = await openWs(wsUrl)
      await client.call('eth_subscribe', ['newHeads'])
      const refused = await client.call('eth_subscribe', ['newHeads'])
      expect(refused.error.code).toBe(-32005)
      expect(refused.error.message).toContain('eth_unsubscribe')
      await expect(openWs(wsUrl)).rejects.toThrow(/503/)
      client.socket.close()
    })

    it('drops a client that does not read its notifications', async () => {
      const source = new FakeSubscriptionSource()
      const warnings: unknown[] = []
      const logger: RpcLogger = { debug() {}, info() {}, error() {}, warn: (obj) => warnings.push(obj) }
      const { wsUrl, server } = await start({
        subscriptions: source,
        logger,
        limits: { maxWsBufferedBytes: 64 * 1024 },
      })
      const client = await openWs(wsUrl)
      await client.call('eth_subscribe', ['newHeads'])
      // Stop reading: the kernel buffers fill, then the server's send buffer grows past the limit.
      client.socket.pause()
      const header = { extraData: `0x${'ab'.repeat(32 * 1024)}` }
      for (let i = 0; i < 2000 && server.wsConnections > 0; i++) {
        source.pushHead(header)
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await expect.poll(() => server.wsConnections).toBe(0)
      expect(source.listenerCount).toBe(0)
      expect(warnings.length).toBeGreaterThan(0)
      client.socket.terminate()
    })

    it('closes WebSocket clients on server close', async () => {
      const source = new FakeSubscriptionSource()
      const { wsUrl, server } = await start({ subscriptions: source })
      const client = await openWs(wsUrl)
      await client.call('eth_subscribe', ['newHeads'])
      const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)))
      await server.close()
      expect(await closed).toBe(1001)
      expect(source.listenerCount).toBe(0)
    })

    it('serves viem over WebSocket, including watchBlocks', async () => {
      const source = new FakeSubscriptionSource()
      const block = (n: number) => ({
        number: `0x${n.toString(16)}`,
        hash: bytesToHex(bytes32(n)),
        parentHash: bytesToHex(bytes32(n - 1)),
        timestamp: '0x1',
        transactions: [],
      })
      const { wsUrl } = await start({
        subscriptions: source,
        methods: {
          ...methods,
          eth_getBlockByNumber: (params) => block(Number(BigInt(params[0] as string))),
        },
      })
      const client = createPublicClient({ transport: webSocket(wsUrl, { retryCount: 0 }) })
      expect(await client.getChainId()).toBe(42)
      const seen: bigint[] = []
      const done = new Promise<void>((resolve) => {
        const unwatch = client.watchBlocks({
          onBlock: (b) => {
            seen.push(b.number!)
            if (seen.length === 2) {
              unwatch()
              resolve()
            }
          },
        })
      })
      await expect.poll(() => source.heads.size).toBe(1)
      source.pushHead(block(5))
      source.pushHead(block(6))
      await done
      expect(seen).toEqual([5n, 6n])
      await expect.poll(() => source.heads.size).toBe(0)
      const transport = client.transport as { getRpcClient?: () => Promise<{ close(): void }> }
      ;(await transport.getRpcClient?.())?.close()
    })
  })
})

describe('RPC front-end thread', () => {
  it('reports its death to the owner, which can still close the transport', async () => {
    const failures: Error[] = []
    const events = { httpCall: () => undefined, wsOpen() {}, wsMessage() {}, wsClose() {} }
    const options = { host: '127.0.0.1', port: 0, limits: DEFAULT_RPC_LIMITS, cors: '*' }
    const transport = createThreadedTransport(
      options,
      events,
      silentLogger,
      (error) => failures.push(error),
      new URL('./testing/failing-transport.worker.ts', import.meta.url),
    )
    await expect(transport.listen()).rejects.toThrow(/on purpose/)
    await expect.poll(() => failures.length).toBe(1)
    await transport.close()
    expect(failures).toHaveLength(1)
  })

  it('answers the front-end methods there, with what they returned at the last refresh', async () => {
    let head = 5
    let headReads = 0
    let asyncReads = 0
    const observed: string[] = []
    const { server, httpUrl } = await startServer({
      thread: true,
      methods: {
        ...methods,
        eth_blockNumber: () => {
          headReads++
          return `0x${head.toString(16)}`
        },
        async_head: async () => {
          asyncReads++
          return '0x1'
        },
      },
      frontEndMethods: ['eth_blockNumber', 'async_head'],
      onRequest: (method) => observed.push(method),
    })
    let sent = 0
    const blockNumber = async (id: number, params?: unknown[] | null) => {
      sent++
      return (await rpc(httpUrl, { jsonrpc: '2.0', id, method: 'eth_blockNumber', params })) as { result?: string }
    }
    expect(await blockNumber(1)).toEqual({ jsonrpc: '2.0', id: 1, result: '0x5' })
    expect(await blockNumber(2, [])).toEqual({ jsonrpc: '2.0', id: 2, result: '0x5' })
    // Read once, when the server was made: the calls did not reach the methods' thread.
    expect(headReads).toBe(1)
    head = 6
    expect((await blockNumber(3)).result).toBe('0x5')
    server.refreshFrontEndAnswers()
    expect(headReads).toBe(2)
    await expect.poll(async () => (await blockNumber(4)).result).toBe('0x6')

    // Calls of another shape go to the dispatcher, as does a method that answers asynchronously.
    expect((await blockNumber(5, null)).result).toBe('0x6')
    sent++
    expect(await rpc(httpUrl, [{ jsonrpc: '2.0', id: 6, method: 'eth_blockNumber' }])).toEqual([
      { jsonrpc: '2.0', id: 6, result: '0x6' },
    ])
    expect(headReads).toBe(4)
    // So does one whose id JSON.parse rounds: the dispatcher echoes it as sent.
    sent++
    expect((await httpCall(httpUrl, '{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_blockNumber"}')).text).toBe(
      '{"jsonrpc":"2.0","id":9007199254740993,"result":"0x6"}',
    )
    expect(headReads).toBe(5)
    expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 7, method: 'async_head' })).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: '0x1',
    })
    // Read at the two refreshes, which found a promise, and by the call.
    expect(asyncReads).toBe(3)

    // Every call is in the metrics, those answered in front within a second or so.
    await expect.poll(() => observed.filter((method) => method === 'eth_blockNumber').length).toBe(sent)
  })

  it('answers every call on the methods thread without its own thread', async () => {
    let headReads = 0
    const { server, httpUrl } = await startServer({
      methods: { eth_blockNumber: () => `0x${(++headReads).toString(16)}` },
      frontEndMethods: ['eth_blockNumber'],
    })
    server.refreshFrontEndAnswers()
    expect(headReads).toBe(0)
    expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: '0x1',
    })
  })

  it('refuses a CORS origin that is not a valid header value before it starts', () => {
    expect(() => createRpcServer({ methods, host: '127.0.0.1', port: 0, cors: 'bad\nvalue', thread: true })).toThrow(
      /invalid character/i,
    )
  })
})

describe('CairnError with an rpc code', () => {
  it('keeps the code and data it carries', async () => {
    const { httpUrl } = await startServer({
      methods: {
        custom: () => {
          throw new CairnError('CHAIN_UNKNOWN_BLOCK', 'unknown block', { details: { rpcCode: -32001, data: 'x' } })
        },
      },
    })
    expect(await rpc(httpUrl, { jsonrpc: '2.0', id: 1, method: 'custom' })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32001, message: 'unknown block', data: 'x' },
    })
  })
})
