import { describe, expect, it } from 'vitest'
import { type DispatchContext, Dispatcher, type RpcMethods } from './dispatch.ts'
import { silentLogger } from './errors.ts'

const ctx: DispatchContext = { transport: 'http', connectionId: 'test' }

function dispatcher(methods: RpcMethods): Dispatcher {
  return new Dispatcher({ methods, maxBatchItems: 100, maxResponseBytes: 1_000_000, logger: silentLogger })
}

async function answer(d: Dispatcher, request: unknown): Promise<unknown> {
  const text = await d.handleText(JSON.stringify(request), ctx)
  return text === undefined ? undefined : JSON.parse(text)
}

describe('Dispatcher', () => {
  const methods: RpcMethods = {
    eth_chainId: () => '0x2a',
    optional_args: (params) => params.length,
  }

  it('refuses arguments to a method that declares none, as geth: too many arguments, want at most 0', async () => {
    const d = dispatcher(methods)
    for (const params of [[1], ['latest'], [null]]) {
      expect(await answer(d, { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params })).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32602, message: 'too many arguments, want at most 0' },
      })
    }
    // Absent, null and empty params are no arguments.
    for (const params of [undefined, null, []]) {
      expect(await answer(d, { jsonrpc: '2.0', id: 2, method: 'eth_chainId', params })).toEqual({
        jsonrpc: '2.0',
        id: 2,
        result: '0x2a',
      })
    }
    // A notification gets no answer, refused or not.
    expect(await answer(d, { jsonrpc: '2.0', method: 'eth_chainId', params: [1] })).toBeUndefined()
  })

  it('passes arguments to a method that declares its params, however many it then takes', async () => {
    const d = dispatcher(methods)
    expect(await answer(d, { jsonrpc: '2.0', id: 1, method: 'optional_args', params: [1, 2] })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: 2,
    })
  })

  it('refuses arguments to the built-in rpc_modules', async () => {
    const d = dispatcher(methods)
    expect(await answer(d, { jsonrpc: '2.0', id: 1, method: 'rpc_modules', params: ['x'] })).toMatchObject({
      error: { code: -32602, message: 'too many arguments, want at most 0' },
    })
  })

  it('echoes a numeric id exactly as sent, where JSON.parse would round it (beyond 2^53), as geth', async () => {
    const d = dispatcher({ ...methods, echo: (params) => params })
    const big = '9007199254740993'
    expect(await d.handleText(`{"jsonrpc":"2.0","id":${big},"method":"eth_chainId"}`, ctx)).toBe(
      `{"jsonrpc":"2.0","id":${big},"result":"0x2a"}`,
    )
    // Errors too; and an id after members whose strings and nesting hold braces, quotes and other ids.
    const params = '[{"id":1,"s":"}\\"],{"},[]]'
    expect(
      await d.handleText(
        ` { "method" : "nope", "params":${params}, "jsonrpc":"2.0",\n"id" : -18446744073709551617 }`,
        ctx,
      ),
    ).toBe(
      '{"jsonrpc":"2.0","id":-18446744073709551617,"error":{"code":-32601,"message":"the method nope does not exist/is not available"}}',
    )
    // In a batch, each request's own; an escaped key is still `id`, and the last of two is the one JSON.parse keeps.
    const batch = `[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}, 7, {"jsonrpc":"2.0","id":1.5e300,"method":"echo","params":${params}},{"jsonrpc":"2.0","id":0,"\\u0069d":123456789012345678901234567890,"method":"eth_chainId"}]`
    const answer = await d.handleText(batch, ctx)
    expect(answer).toBe(
      `[{"jsonrpc":"2.0","id":1,"result":"0x2a"},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request"}},{"jsonrpc":"2.0","id":1.5e300,"result":${params}},{"jsonrpc":"2.0","id":123456789012345678901234567890,"result":"0x2a"}]`,
    )
  })
})
