import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '@cairn/anvil'
import { startDevnet } from './devnet-stack.ts'

const dir = mkdtempSync(join(tmpdir(), 'cairn-devnet-ports-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('startDevnet', () => {
  it('refuses a port another process holds before it starts anything, naming the port and its role', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const held = (holder.address() as AddressInfo).port
    try {
      const started = startDevnet({
        dir,
        fresh: true,
        ports: { l1: await freePort(), sequencer: await freePort(), followers: [held] },
      })
      await expect(started).rejects.toMatchObject({
        code: 'DEVNET_PORT_IN_USE',
        message: expect.stringContaining(`port ${held} on 127.0.0.1 (the follower-1 JSON-RPC) is in use`),
      })
      expect(existsSync(join(dir, 'logs', 'anvil.log'))).toBe(false)
    } finally {
      holder.close()
    }
  })
})
