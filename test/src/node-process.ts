import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@cairn/anvil'
import { DEV_ACCOUNTS, DEV_CHAIN_ID } from '@cairn/primitives'
import { type Hex, parseGwei } from 'viem'
import { shebangNodeFlags } from '../../deploy/src/devnet-process.ts'
import { privateKeyToAccount } from 'viem/accounts'

export { freePort }

/** The monorepo root (this file lives in test/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export const CAIRN_BIN = join(REPO_ROOT, 'apps/node/bin/cairn.js')
/** The Node.js flags of the bin's `#!` line, read once: every node starts with them. */
const CAIRN_NODE_FLAGS = shebangNodeFlags(CAIRN_BIN)
const STARTUP_TIMEOUT_MS = 60_000

export interface StartNodeOptions {
  /** Seconds between blocks; 0 seals one block per transaction. */
  blockTime?: number
  /** Reuse a datadir (for restarts); a fresh temp dir by default, removed on stop. */
  datadir?: string
  /** Keep the port of a previous run. */
  port?: number
  extraArgs?: string[]
  /** Start with `--dev` (a dev chain with a local sequencer); default true. Without it, pass `--genesis` in extraArgs. */
  dev?: boolean
  /** Extra environment for the node process. */
  env?: Record<string, string>
  /** Flags for the Node.js runtime of the node process (e.g. `--cpu-prof` when profiling), after the bin's own. */
  nodeArgs?: string[]
}

export interface RunningNode {
  rpcUrl: string
  wsUrl: string
  port: number
  datadir: string
  process: ChildProcess
  /** SIGTERM and wait for the process to exit. */
  stop(): Promise<void>
  /** SIGKILL and wait for the process to exit. */
  kill(): Promise<void>
  /** Everything the node wrote to stdout and stderr so far. */
  logs(): string
  /** Stops the node if it still runs and removes a temp datadir this helper created. */
  cleanup(): Promise<void>
}

/** Nodes still running; killed if the test process exits without cleaning up (a crash, a timeout). */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** Starts `cairn node --dev` as an operator would and waits until its JSON-RPC answers. */
export async function startNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const ownDatadir = options.datadir === undefined
  const datadir = options.datadir ?? mkdtempSync(join(tmpdir(), 'cairn-e2e-'))
  const port = options.port ?? (await freePort())
  const args = [
    ...CAIRN_NODE_FLAGS,
    ...(options.nodeArgs ?? []),
    CAIRN_BIN,
    'node',
    ...(options.dev === false ? [] : ['--dev']),
    '--datadir',
    datadir,
    '--http.port',
    String(port),
  ]
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  args.push(...(options.extraArgs ?? []))
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
  })
  live.add(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit()
    child.once('exit', () => {
      live.delete(child)
      resolveExit()
    })
  })
  const isRunning = () => child.exitCode === null && child.signalCode === null

  const signal = async (sig: NodeJS.Signals) => {
    if (isRunning()) child.kill(sig)
    await exited
  }
  const rpcUrl = `http://127.0.0.1:${port}`
  const node: RunningNode = {
    rpcUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    datadir,
    process: child,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    logs: () => output,
    cleanup: async () => {
      if (isRunning()) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => isRunning() && child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      if (ownDatadir) rmSync(datadir, { recursive: true, force: true })
    },
  }

  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (true) {
    if (!isRunning()) {
      await node.cleanup()
      throw new Error(
        `cairn node exited (code ${child.exitCode}, signal ${child.signalCode}) before serving RPC:\n${output}`,
      )
    }
    if (Date.now() > deadline) {
      await node.cleanup()
      throw new Error(`cairn node did not answer eth_chainId within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)
    }
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      const body = (await response.json()) as { result?: string }
      if (typeof body.result === 'string') return node
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A JSON-RPC call over HTTP that returns the whole response object (result or error). */
export async function rpcRaw(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: response.status, json }
}

/** A JSON-RPC call over HTTP returning `result`, throwing on an error response. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const { json } = await rpcRaw(url, { jsonrpc: '2.0', id: 1, method, params })
  const body = json as { result?: T; error?: { code: number; message: string } }
  if (body.error !== undefined)
    throw Object.assign(new Error(`${method}: ${body.error.message}`), { rpcError: body.error })
  return body.result as T
}

/** A signed transfer of 1,000 wei from dev account 1 to dev account 2 on the dev chain, as a `--dev` node takes it. */
export function signDevTransfer(nonce: number): Promise<Hex> {
  return privateKeyToAccount(DEV_ACCOUNTS[1]!.privateKey).signTransaction({
    type: 'eip1559',
    chainId: Number(DEV_CHAIN_ID),
    nonce,
    to: DEV_ACCOUNTS[2]!.address,
    value: 1_000n,
    gas: 21_000n,
    maxFeePerGas: parseGwei('20'),
    maxPriorityFeePerGas: parseGwei('1'),
  })
}
