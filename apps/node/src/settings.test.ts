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

  it('refuses a listen address that cannot be one, naming the setting', () => {
    expect(loadConfig(nodeSettings, { argv: ['--http.addr', 'localhost'] }).httpAddr).toBe('localhost')
    expect(() => loadConfig(nodeSettings, { argv: ['--http.addr', '127.0.0.1:8545'] })).toThrow(
      /invalid value "127.0.0.1:8545" for --http.addr \(from flag --http.addr\): must be an IP address/,
    )
    expect(() => loadConfig(nodeSettings, { env: { CAIRN_METRICS_ADDR: 'not an ip' } })).toThrow(
      /--metrics.addr \(from env CAIRN_METRICS_ADDR\)/,
    )
    // libp2p listens on a multiaddr, which takes an IP address only.
    expect(() => loadConfig(nodeSettings, { argv: ['--p2p.addr', 'localhost'] })).toThrow(/--p2p.addr/)
  })
})
