import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { CairnError } from '@cairn/primitives'
import { freePort } from './ports.ts'

export type StartAnvilOptions = {
  /** Loopback port; a free one is picked when omitted. */
  port?: number
  /** Seconds between blocks; omitted = mine on every transaction. */
  blockTime?: number
  /** `safe` trails latest by this many blocks and `finalized` by twice as many (0 = both equal latest). */
  slotsInAnEpoch?: number
  hardfork?: string
  /** Load and persist chain state in this file (dumped every second). */
  stateFile?: string
  /** Extra command-line arguments passed through as-is. */
  args?: string[]
  /** How long to wait for the RPC to answer before giving up (default 15 s). */
  startupTimeoutMs?: number
}

export type AnvilInstance = {
  rpcUrl: string
  port: number
  process: ChildProcess
  stop(): Promise<void>
}

const require = createRequire(import.meta.url)

/** Path of the anvil binary shipped by the `@foundry-rs/anvil-<platform>-<arch>` npm package. */
export function anvilBinaryPath(): string {
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`
  let packageDir: string
  try {
    packageDir = dirname(require.resolve(`${platformPackage}/package.json`))
  } catch (cause) {
    throw new CairnError(
      'ANVIL_NOT_INSTALLED',
      `Cannot find ${platformPackage}; run npm install in the repository root to install anvil.`,
      { cause },
    )
  }
  const binary = join(packageDir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(binary)) {
    throw new CairnError('ANVIL_NOT_INSTALLED', `${platformPackage} is installed but has no binary at ${binary}.`)
  }
  return binary
}

async function answersChainId(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
    if (!response.ok) return false
    const body = (await response.json()) as { result?: string }
    return typeof body.result === 'string'
  } catch {
    return false
  }
}

/** Starts anvil on loopback and resolves once it answers `eth_chainId`. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilInstance> {
  const port = options.port ?? (await freePort())
  const args = ['--host', '127.0.0.1', '--port', String(port)]
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  if (options.slotsInAnEpoch !== undefined) args.push('--slots-in-an-epoch', String(options.slotsInAnEpoch))
  if (options.hardfork !== undefined) args.push('--hardfork', options.hardfork)
  if (options.stateFile !== undefined) args.push('--state', options.stateFile, '--state-interval', '1')
  args.push(...(options.args ?? []))

  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  // Polling the port alone could reach another process already listening there; anvil prints
  // this line once it has bound the port itself.
  let listening = false
  let stdout = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    if (listening) return
    stdout = (stdout + chunk.toString()).slice(-4000)
    if (stdout.includes(`Listening on 127.0.0.1:${port}`)) listening = true
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    await exited
    clearTimeout(killTimer)
  }

  const rpcUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (options.startupTimeoutMs ?? 15_000)
  while (!(listening && (await answersChainId(rpcUrl)))) {
    if (child.exitCode !== null) {
      throw new CairnError('ANVIL_START_FAILED', `anvil exited with code ${child.exitCode}: ${stderr.trim()}`, {
        details: { args },
      })
    }
    if (Date.now() > deadline) {
      await stop()
      throw new CairnError('ANVIL_START_TIMEOUT', `anvil did not answer eth_chainId on ${rpcUrl} in time.`, {
        details: { args, stderr },
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { rpcUrl, port, process: child, stop }
}
