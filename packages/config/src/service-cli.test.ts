import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CairnError } from '@cairn/primitives'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { helpRequested, resolveL1Addresses, startupFailure } from './service-cli.ts'

const INBOX = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const STORE = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'

function deploymentFile(contents: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cairn-service-cli-')), 'deployment.json')
  writeFileSync(file, contents)
  return file
}

describe('resolveL1Addresses', () => {
  it('takes the addresses from the deployment file, and a setting over the file', () => {
    const file = deploymentFile(JSON.stringify({ inbox: INBOX, forcedInclusionStore: STORE }))
    expect(resolveL1Addresses({ l1Deployment: file })).toEqual({
      inbox: INBOX,
      forcedInclusionStore: STORE,
      startBlock: undefined,
    })
    const other = '0x0000000000000000000000000000000000000001'
    expect(resolveL1Addresses({ l1Deployment: file, l1Inbox: other })).toEqual({
      inbox: other,
      forcedInclusionStore: STORE,
      startBlock: undefined,
    })
  })

  it("gives the file's start block for the file's Inbox only", () => {
    const startBlock = { number: 1234, hash: `0x${'ab'.repeat(32)}` }
    const file = deploymentFile(JSON.stringify({ inbox: INBOX, startBlock }))
    expect(resolveL1Addresses({ l1Deployment: file }).startBlock).toBe(1234)
    expect(resolveL1Addresses({ l1Deployment: file, l1Inbox: INBOX.toLowerCase() }).startBlock).toBe(1234)
    const other = '0x0000000000000000000000000000000000000001'
    expect(resolveL1Addresses({ l1Deployment: file, l1Inbox: other }).startBlock).toBeUndefined()
    const bad = deploymentFile(JSON.stringify({ inbox: INBOX, startBlock: { number: '12' } }))
    expect(() => resolveL1Addresses({ l1Deployment: bad })).toThrow(
      `--l1.deployment ${bad} has an invalid "startBlock": {"number": "12"} (want a block number); fix it, or remove it and set --l1.start-block N`,
    )
  })

  it('names the settings to set when the Inbox is missing, unreadable or not an address', () => {
    expect(() => resolveL1Addresses({})).toThrow(
      'the Inbox address is required: set --l1.deployment FILE or --l1.inbox ADDRESS',
    )
    expect(() => resolveL1Addresses({ l1Deployment: '/nonexistent/deployment.json' })).toThrow(
      'cannot read --l1.deployment /nonexistent/deployment.json',
    )
    const file = deploymentFile(JSON.stringify({ inbox: '0x1234' }))
    expect(() => resolveL1Addresses({ l1Deployment: file })).toThrow(
      `--l1.deployment ${file} has no valid "inbox" address`,
    )
  })
})

describe('startupFailure', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('prints a CairnError as `binary: message` and returns the exit code; rethrows anything else', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    await expect(startupFailure('cairn-test', new CairnError('SOME_CODE', 'fix this setting'), 2)).resolves.toBe(2)
    expect(stderr).toHaveBeenCalledWith('cairn-test: fix this setting\n')
    const bug = new TypeError('a bug')
    await expect(startupFailure('cairn-test', bug, 2)).rejects.toThrow(bug)
  })

  it("prints the reason only after the logger's pending lines are written", async () => {
    const order: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation(() => {
      order.push('reason')
      return true
    })
    // An asynchronous destination: its lines are out only when flush calls back.
    const logger = {
      flush: (done: () => void) =>
        setTimeout(() => {
          order.push('logs')
          done()
        }, 5),
    }
    await startupFailure('cairn-test', new CairnError('SOME_CODE', 'fix this setting'), 1, logger)
    expect(order).toEqual(['logs', 'reason'])
  })
})

describe('helpRequested', () => {
  it('sees --help or -h anywhere and help as the command', () => {
    expect(helpRequested(['--l1.rpc', 'x', '--help'])).toBe(true)
    expect(helpRequested(['-h'])).toBe(true)
    expect(helpRequested(['help'])).toBe(true)
    expect(helpRequested(['--datadir', 'help'])).toBe(false)
  })
})
