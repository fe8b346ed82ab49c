import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { CairnError } from '@cairn/primitives'

/**
 * One long-running devnet process (a node, the proposer): spawned the way an operator would run it,
 * its stdout and stderr appended to a log file, restartable with the same command after a stop or a
 * `kill -9`. Children get their own process group, so a Ctrl-C in the terminal reaches only the
 * devnet, which then stops them in order.
 */
export interface ManagedProcess {
  readonly name: string
  readonly logFile: string
  /** Pid of the current run; undefined before the first start. */
  readonly pid: number | undefined
  running(): boolean
  /** Spawns the process (again) and waits until `ready` holds. */
  start(): Promise<void>
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`; waits for the exit. */
  stop(timeoutMs?: number): Promise<void>
  /** SIGKILL (`kill -9`) and wait for the exit. */
  kill(): Promise<void>
  /** The log file's content (every run of this process, appended). */
  logs(): string
  /** Called when the process exits without having been asked to (a crash). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void
}

export interface ManagedProcessOptions {
  name: string
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
  cwd?: string
  logFile: string
  /** Resolves true once the process serves; polled every 100 ms after spawning. */
  ready?: () => Promise<boolean>
  startupTimeoutMs?: number
}

/** Children still running, killed if the parent exits without stopping them (a crash, a timeout). */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const c of live) {
        try {
          // Negative pid: the child's whole process group (it was spawned detached).
          if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL')
        } catch {
          c.kill('SIGKILL')
        }
      }
    })
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
}

/**
 * The Node.js flags a bin's `#!/usr/bin/env -S node <flags>` line gives it. A launcher that runs the
 * bin through `process.execPath` (this Node.js, not whichever `node` is first on PATH) passes them
 * itself, so the process runs as executing the bin would run it.
 */
export function shebangNodeFlags(bin: string): string[] {
  const shebang = readFileSync(bin, 'utf8').split('\n', 1)[0]!
  const flags = /^#!\/usr\/bin\/env -S node((?: -\S+)*)\s*$/.exec(shebang)?.[1]
  return flags === undefined ? [] : flags.trim().split(' ').filter(Boolean)
}

export function createManagedProcess(options: ManagedProcessOptions): ManagedProcess {
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let expectingExit = false
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null

  const handle: ManagedProcess = {
    name: options.name,
    logFile: options.logFile,
    get pid() {
      return child?.pid
    },
    running: isRunning,
    async start() {
      if (isRunning()) return
      mkdirSync(dirname(options.logFile), { recursive: true })
      const fd = openSync(options.logFile, 'a')
      writeSync(
        fd,
        `\n# ${new Date().toISOString()} starting ${options.name}: ${options.command} ${options.args.join(' ')}\n`,
      )
      expectingExit = false
      const spawned = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      })
      closeSync(fd)
      child = spawned
      track(spawned)
      exited = new Promise<void>((resolve) => {
        spawned.once('exit', (code, signal) => {
          if (!expectingExit) handle.onUnexpectedExit?.(code, signal)
          resolve()
        })
      })
      const spawnError = new Promise<Error>((resolve) => spawned.once('error', resolve))
      const deadline = Date.now() + (options.startupTimeoutMs ?? 90_000)
      while (true) {
        if (spawned.exitCode !== null || spawned.signalCode !== null) {
          throw new CairnError(
            'DEVNET_PROCESS_EXITED',
            `${options.name} exited (code ${spawned.exitCode}, signal ${spawned.signalCode}) while starting; last log lines:\n${tail(handle.logs())}`,
          )
        }
        const error = await Promise.race([
          spawnError,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
        ])
        if (error !== undefined)
          throw new CairnError('DEVNET_PROCESS_SPAWN', `cannot start ${options.name}: ${error.message}`)
        if (options.ready === undefined || (await options.ready().catch(() => false))) return
        if (Date.now() > deadline) {
          await handle.stop()
          throw new CairnError(
            'DEVNET_PROCESS_TIMEOUT',
            `${options.name} was not ready within ${options.startupTimeoutMs ?? 90_000} ms; last log lines:\n${tail(handle.logs())}`,
          )
        }
      }
    },
    async stop(timeoutMs = 20_000) {
      if (!isRunning()) return exited
      expectingExit = true
      child!.kill('SIGTERM')
      const timer = setTimeout(() => {
        if (isRunning()) child!.kill('SIGKILL')
      }, timeoutMs)
      await exited
      clearTimeout(timer)
    },
    async kill() {
      if (!isRunning()) return exited
      expectingExit = true
      child!.kill('SIGKILL')
      await exited
    },
    logs() {
      return existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8') : ''
    },
  }
  return handle
}

/** The last lines of a log, for error messages. */
export function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** True when a JSON-RPC server at `url` answers `eth_chainId`. */
export async function answersRpc(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    })
    const body = (await response.json()) as { result?: unknown }
    return typeof body.result === 'string'
  } catch {
    return false
  }
}

/** A JSON-RPC call returning `result`; throws with the server's message on an error response. */
export async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(30_000),
  })
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } }
  if (body.error !== undefined) throw new Error(`${method} on ${url}: ${body.error.message} (${body.error.code})`)
  return body.result as T
}
