import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '@cairn/config'
import { nodeSettings } from './settings.ts'

describe('node settings', () => {
  it('serves RPC from its own thread unless told otherwise', () => {
    expect(loadConfig(nodeSettings, { argv: [] }).rpcThread).toBe(true)
    expect(loadConfig(nodeSettings, { argv: ['--rpc.thread', 'false'] }).rpcThread).toBe(false)
    expect(loadConfig(nodeSettings, { env: { CAIRN_RPC_THREAD: 'false' } }).rpcThread).toBe(false)
  })

  it('refuses a CORS origin that cannot be sent as a header value', () => {
    expect(loadConfig(nodeSettings, { argv: ['--http.corsdomain', 'https://app.example'] }).httpCors).toBe(
      'https://app.example',
    )
    expect(() => loadConfig(nodeSettings, { argv: ['--http.corsdomain', 'bad\nvalue'] })).toThrow(ConfigError)
    expect(() => loadConfig(nodeSettings, { argv: ['--http.corsdomain', 'bad\nvalue'] })).toThrow(/http\.corsdomain/)
  })
})
