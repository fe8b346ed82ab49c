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
})
