// `npm run devnet` as an operator runs it: one command brings the devnet up and describes it in
// devnet.json, Ctrl-C stops every process it started, a second run resumes the same chains (on another
// L1 port when its own is taken), and a SIGTERM to the npm process stops them all too.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createServer } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, freePortRun } from '@cairn/anvil'
import { rpcCall, waitFor } from './src/devnet-helpers.ts'

const REPO_ROOT = resolve(import.meta.dirname, '..')

interface RunningDevnet {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** The devnet script itself, or (`viaNpm`) `npm run devnet -- …` as the docs give it. */
function runDevnet(args: string[], { viaNpm = false } = {}): RunningDevnet {
  const [command, commandArgs] = viaNpm
    ? ['npm', ['run', 'devnet', '--', ...args]]
    : [process.execPath, ['--import', 'tsx', 'deploy/src/devnet.ts', ...args]]
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return { child, output: () => output, exited }
}

/** Processes whose command line mentions `dir`: everything the devnet started lives under it. */
function processesUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', dir], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep'))
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/** Waits for the devnet's "is running" line; fails at once, with its output, if it exits first. */
async function untilRunning(devnet: RunningDevnet): Promise<void> {
  const state = await waitFor(
    'the devnet to say it is running',
    async () => {
      if (devnet.output().includes('Cairn devnet is running')) return 'running'
      return devnet.child.exitCode !== null || devnet.child.signalCode !== null ? 'exited' : undefined
    },
    { timeoutMs: 120_000, context: devnet.output },
  )
  if (state === 'exited') {
    const { exitCode, signalCode } = devnet.child
    throw new Error(`the devnet exited (code ${exitCode}, signal ${signalCode}) while starting:\n${devnet.output()}`)
  }
}

async function answers(url: string): Promise<boolean> {
  return rpcCall(url, 'eth_chainId').then(
    () => true,
    () => false,
  )
}

describe('npm run devnet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-devnet-cli-'))
  let running: RunningDevnet | undefined
  afterAll(async () => {
    if (running !== undefined && running.child.exitCode === null) {
      running.child.kill('SIGKILL')
      await running.exited
    }
    for (const line of processesUnder(dir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('comes up with one command, stops every process on Ctrl-C, resumes its chains on another L1 port, and stops on SIGTERM to npm', async () => {
    // anvil, the sequencer, and the follower on the port after the sequencer's.
    const l1Port = await freePortRun(3)
    const args = ['--dir', dir, '--l2-port', String(l1Port + 1), '--l2-block-time', '1']
    running = runDevnet([...args, '--l1-port', String(l1Port), '--fresh'])
    const first = running
    await untilRunning(first)
    const info = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8'))
    const urls: string[] = [info.l1.rpc, info.l2.sequencer.rpc, ...info.l2.followers.map((f: { rpc: string }) => f.rpc)]
    for (const url of urls) expect(await answers(url), url).toBe(true)
    const reached = await waitFor(
      'the sequencer to build a few blocks',
      async () => {
        const n = Number(await rpcCall<string>(info.l2.sequencer.rpc, 'eth_blockNumber'))
        return n >= 3 ? n : undefined
      },
      { timeoutMs: 30_000, context: first.output },
    )
    const block = await rpcCall<{ hash: string }>(info.l2.sequencer.rpc, 'eth_getBlockByNumber', [
      `0x${reached.toString(16)}`,
      false,
    ])

    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('stopped')
    for (const url of urls) expect(await answers(url), `${url} still answers after Ctrl-C`).toBe(false)
    expect(processesUnder(dir)).toEqual([])

    // Another process took the L1 port: resuming says which option moves it (not --fresh, which would
    // throw the chains away), and resuming with it brings the same chains back.
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(l1Port, '127.0.0.1', resolve))
    try {
      const refused = runDevnet(args)
      expect(await refused.exited).toBe(1)
      expect(refused.output()).toContain(`DEVNET_PORT_IN_USE: port ${l1Port} on 127.0.0.1 (the L1 (anvil) JSON-RPC`)
      expect(refused.output()).toContain('resume the devnet on another port with --l1-port N')
      expect(refused.output()).not.toContain('--fresh')

      // Resumed as the docs say, through npm, on another L1 port.
      const newL1Port = await freePort()
      running = runDevnet([...args, '--l1-port', String(newL1Port)], { viaNpm: true })
      const second = running
      await untilRunning(second)
      const resumed = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8'))
      expect(resumed.l1.rpc).toBe(`http://127.0.0.1:${newL1Port}`)
      const again = await rpcCall<{ hash: string } | null>(info.l2.sequencer.rpc, 'eth_getBlockByNumber', [
        `0x${reached.toString(16)}`,
        false,
      ])
      expect(again?.hash).toBe(block.hash)
      // The chain goes on from L1: the follower derives new batches from the resumed L1.
      const follower = resumed.l2.followers[0].rpc
      const safeAt = async () => (await rpcCall<{ safe: { number: number } }>(follower, 'cairn_syncStatus')).safe.number
      const safeBefore = await safeAt()
      await waitFor('the follower to derive a batch from the resumed L1', async () => (await safeAt()) > safeBefore, {
        timeoutMs: 60_000,
        context: second.output,
      })

      // A supervisor's (or `kill`'s) SIGTERM goes to the npm process, whose `sh -c` dies without passing
      // it on: the devnet still stops every process it started.
      const resumedUrls = [resumed.l1.rpc, resumed.l2.sequencer.rpc, resumed.l2.followers[0].rpc]
      second.child.kill('SIGTERM')
      await waitFor('every devnet process to exit after SIGTERM to npm', async () => processesUnder(dir).length === 0, {
        timeoutMs: 60_000,
        context: () => `${second.output()}\nstill running:\n${processesUnder(dir).join('\n')}`,
      })
      for (const url of resumedUrls) expect(await answers(url), `${url} still answers after SIGTERM`).toBe(false)
      expect(second.output()).toContain('stopped')
    } finally {
      holder.close()
    }
  })
})
