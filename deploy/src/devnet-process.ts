import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import type { Socket } from 'node:net'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CairnError } from '@cairn/primitives'

/**
 * One long-running devnet process (a node, the proposer): spawned the way an operator would run it,
 * its stdout and stderr appended to a log file, restartable with the same command after a stop or a
 * `kill -9`. Children get their own process group, so a Ctrl-C in the terminal reaches only the
 * devnet, which then stops them in order. If the process that started them dies without stopping
 * them (SIGKILL, a crash), the reaper (devnet-reaper.ts) stops them.
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

/** The monorepo root (this file lives in deploy/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CAIRN_BIN = join(REPO_ROOT, 'apps/node/bin/cairn.js')
/** `node` arguments that start the cairn bin as executing it would. */
export const CAIRN_NODE_ARGS = [...shebangNodeFlags(CAIRN_BIN), CAIRN_BIN]

const REAPER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'devnet-reaper.ts')
let reaper: Socket | undefined

/**
 * The pipe to this process's reaper, started on first use: a process of its own (its own session, so
 * a signal to this process's group does not reach it) that is told each child's process group as it
 * starts and ends. The kernel closes the pipe when this process dies, however it dies, and the reaper
 * then stops the groups still listed (SIGTERM, SIGKILL after a grace period).
 */
function reaperPipe(): Socket {
  if (reaper === undefined) {
    const child = spawn(process.execPath, ['--import', 'tsx', REAPER_SCRIPT], {
      cwd: dirname(REAPER_SCRIPT),
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    })
    child.unref()
    reaper = child.stdin as Socket
    // Neither the reaper nor its pipe keeps this process alive; a reaper that died leaves the 'exit' hook.
    reaper.unref()
    reaper.on('error', () => {})
  }
  return reaper
}

/** Children still running, killed if the parent exits without stopping them (a crash, a timeout). */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track(child: ChildProcess): void {
  const pid = child.pid
  if (pid !== undefined) {
    reaperPipe().write(`+${pid}\n`)
    child.once('exit', () => reaperPipe().write(`-${pid}\n`))
  }
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

/**
 * Whether a command line (`/proc/<pid>/cmdline`'s arguments) is one that only launches another: npm or
 * npx (whose title, `npm run devnet …`, is one argument), `node …/npm-cli.js`, or a shell's `-c`.
 */
export function isLauncherCommand(argv: readonly string[]): boolean {
  const [first = '', second = ''] = argv
  const program = basename(first.split(' ')[0]!)
  if (program === 'npm' || program === 'npx') return true
  if (['sh', 'dash', 'bash', 'zsh'].includes(program)) return second === '-c'
  if (program === 'node' || program === 'nodejs')
    return ['npm', 'npx', 'npm-cli.js', 'npx-cli.js'].includes(basename(second))
  return false
}

/** A process's parent and command line from /proc (Linux); undefined once it is gone, or elsewhere. */
function processInfo(pid: number): { ppid: number; argv: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    return { ppid, argv }
  } catch {
    return undefined
  }
}

/**
 * The chain of launchers above a process (`npm run devnet` runs `sh -c npm run devnet -w …`, which runs
 * npm, which runs `sh -c node … devnet.ts`), as child → parent links, up to the first ancestor that is
 * not a launcher. Empty where /proc is missing.
 */
export function launcherLinks(pid = process.pid): Array<{ pid: number; parent: number }> {
  const links: Array<{ pid: number; parent: number }> = []
  let child = pid
  let parent = processInfo(pid)?.ppid
  while (parent !== undefined && parent > 1) {
    const info = processInfo(parent)
    if (info === undefined || !isLauncherCommand(info.argv)) break
    links.push({ pid: child, parent })
    child = parent
    parent = info.ppid
  }
  return links
}

/**
 * Calls `onExit` once when a launcher above this process exits. A SIGTERM to the `npm run devnet`
 * process (a supervisor's, `kill`'s) reaches only its `sh -c`, which dies without passing it on: the
 * nested npm and this process keep running, orphaned. A process whose parent in the chain changed
 * was orphaned that way. The launcher's own parent (the shell that ran npm) is not watched, so
 * `nohup npm run devnet &` outlives that shell. Returns a function that stops watching.
 */
export function watchLaunchers(onExit: () => void, intervalMs = 1_000): () => void {
  const links = launcherLinks()
  if (links.length === 0) return () => {}
  const timer = setInterval(() => {
    if (links.every((link) => processInfo(link.pid)?.ppid === link.parent)) return
    clearInterval(timer)
    onExit()
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
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
