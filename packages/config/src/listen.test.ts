import { createServer } from 'node:net'
import { CairnError, listenFailure } from '@cairn/primitives'
import { describe, expect, it } from 'vitest'
import { parse } from './config.ts'
import { bindFailure, listening } from './listen.ts'

const target = {
  service: 'JSON-RPC',
  host: '127.0.0.1',
  port: 8545,
  addrSetting: '--http.addr',
  portSetting: '--http.port',
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

describe('listen addresses', () => {
  it('takes IP addresses and host names, and refuses what cannot be a host', () => {
    const host = parse.host()
    for (const ok of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'node-1.example.org', 'notanip'])
      expect(host.safeParse(ok).success, ok).toBe(true)
    for (const bad of ['', 'not an ip', '127.0.0.1:8545', '[::1]', 'http://localhost', '256.0.0.1', '127.1', '-x'])
      expect(host.safeParse(bad).success, bad).toBe(false)
    expect(host.safeParse('127.0.0.1:8545').error?.issues[0]?.message).toContain('must be an IP address')
  })

  it('takes only IP addresses where the listener cannot resolve a name (p2p)', () => {
    expect(parse.ip().safeParse('0.0.0.0').success).toBe(true)
    expect(parse.ip().safeParse('::').success).toBe(true)
    expect(parse.ip().safeParse('localhost').success).toBe(false)
  })
})

describe('listening', () => {
  it('names the port setting for a taken port, with the address and the port', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    try {
      const second = createServer()
      const failure = await listening({ ...target, port }, () => {
        return new Promise<void>((resolve, reject) => {
          second.once('error', reject)
          second.listen(port, '127.0.0.1', resolve)
        })
      }).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(CairnError)
      expect((failure as CairnError).code).toBe('LISTEN_FAILED')
      expect((failure as CairnError).message).toBe(
        `JSON-RPC cannot listen on 127.0.0.1 port ${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port} (another process is listening on it); choose another with --http.port, or stop the process that holds it`,
      )
    } finally {
      holder.close()
    }
  })

  it('names the address setting for an address not of this host or a name that does not resolve', () => {
    const notHere = bindFailure(systemError('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL: address not available 10.9.9.9'), {
      ...target,
      host: '10.9.9.9',
    }) as CairnError
    expect(notHere.code).toBe('LISTEN_FAILED')
    expect(notHere.message).toContain('JSON-RPC cannot listen on 10.9.9.9 port 8545')
    expect(notHere.message).toContain('set --http.addr to an address of this host (0.0.0.0 listens on every interface)')
    expect(notHere.message).not.toContain('--http.port')
    const unresolved = bindFailure(systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND notanip'), {
      ...target,
      host: 'notanip',
    }) as CairnError
    expect(unresolved.message).toBe(
      'JSON-RPC cannot listen on notanip port 8545: getaddrinfo ENOTFOUND notanip (the host name does not resolve); set --http.addr to an IP address or a host name that resolves',
    )
  })

  it('names the port setting for a privileged port', () => {
    const denied = bindFailure(systemError('EACCES', 'listen EACCES: permission denied 127.0.0.1:80'), {
      ...target,
      port: 80,
    }) as CairnError
    expect(denied.message).toBe(
      'JSON-RPC cannot listen on 127.0.0.1 port 80: listen EACCES: permission denied 127.0.0.1:80 (this user may not bind it: ports below 1024 need privileges); choose another with --http.port',
    )
  })

  it('judges the system error inside a LISTEN_FAILED of @cairn/telemetry, and passes other errors through', () => {
    const wrapped = listenFailure(systemError('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL'), 'metrics', '--metrics.port')
    expect((bindFailure(wrapped, target) as CairnError).message).toContain('set --http.addr')
    const bug = new TypeError('a bug')
    expect(bindFailure(bug, target)).toBe(bug)
  })
})
