import { existsSync } from 'node:fs'
import { isCairnError } from '@cairn/primitives'
import { describe, expect, it } from 'vitest'
import { anvilBinaryPath, freePort, startAnvil } from './index.ts'

describe('startAnvil', () => {
  it('finds the anvil binary from the npm package', () => {
    expect(existsSync(anvilBinaryPath())).toBe(true)
  })

  it('starts on a free port, answers JSON-RPC and stops', async () => {
    const anvil = await startAnvil({ args: ['--chain-id', '31338'] })
    try {
      const response = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      expect(((await response.json()) as { result: string }).result).toBe('0x7a6a')
    } finally {
      await anvil.stop()
    }
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true)
  })

  it('reports a start failure with a stable code when the port is taken', async () => {
    const first = await startAnvil({ port: await freePort() })
    try {
      const error = await startAnvil({ port: first.port, startupTimeoutMs: 5_000 }).catch((e: unknown) => e)
      expect(isCairnError(error)).toBe(true)
    } finally {
      await first.stop()
    }
  })
})
