import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isLauncherCommand, shebangNodeFlags } from './devnet-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'cairn-shebang-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function bin(firstLine: string): string {
  const path = join(dir, `bin-${Math.random().toString(36).slice(2)}.js`)
  writeFileSync(path, `${firstLine}\nconsole.log('hi')\n`)
  return path
}

describe('shebangNodeFlags', () => {
  it('reads the Node.js flags of an `env -S node` line, in order', () => {
    expect(shebangNodeFlags(bin('#!/usr/bin/env -S node --max-semi-space-size=64 --stack-size=2000'))).toEqual([
      '--max-semi-space-size=64',
      '--stack-size=2000',
    ])
  })

  it('gives none for a plain node shebang, no shebang, or a line that runs something else', () => {
    expect(shebangNodeFlags(bin('#!/usr/bin/env node'))).toEqual([])
    expect(shebangNodeFlags(bin("import 'x'"))).toEqual([])
    expect(shebangNodeFlags(bin('#!/usr/bin/env -S deno run --allow-all'))).toEqual([])
  })

  it('reads the cairn bin, so launchers run the node with its flags', () => {
    const flags = shebangNodeFlags(join(import.meta.dirname, '../../apps/node/bin/cairn.js'))
    expect(flags).toEqual(['--max-semi-space-size=64', '--no-minor-gc-task'])
  })
})

describe('isLauncherCommand', () => {
  it('takes npm, npx and shell -c command lines as launchers, and nothing else', () => {
    expect(isLauncherCommand(['npm run devnet --dir /tmp/x'])).toBe(true)
    expect(isLauncherCommand(['npx', 'tsx', 'x.ts'])).toBe(true)
    expect(isLauncherCommand(['node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'run', 'devnet'])).toBe(true)
    expect(isLauncherCommand(['sh', '-c', 'node --import tsx src/devnet.ts'])).toBe(true)
    expect(isLauncherCommand(['/bin/bash', '-c', 'npm run devnet'])).toBe(true)
    expect(isLauncherCommand(['bash'])).toBe(false)
    expect(isLauncherCommand(['-bash'])).toBe(false)
    expect(isLauncherCommand(['node', 'node_modules/vitest/vitest.mjs', 'run'])).toBe(false)
    expect(isLauncherCommand(['tmux'])).toBe(false)
    expect(isLauncherCommand([])).toBe(false)
  })
})

describe('a managed process', () => {
  it('is stopped when the process that started it is killed with SIGKILL', async () => {
    // A launcher script, as devnet.ts is one: it starts a child and prints the child's pid.
    const script = join(dir, 'launcher.mts')
    writeFileSync(
      script,
      `import { createManagedProcess } from ${JSON.stringify(join(import.meta.dirname, 'devnet-process.ts'))}
const child = createManagedProcess({
  name: 'sleeper',
  command: process.execPath,
  args: ['-e', 'setInterval(() => {}, 1000)'],
  logFile: ${JSON.stringify(join(dir, 'sleeper.log'))},
})
await child.start()
console.log(child.pid)
setInterval(() => {}, 1000)
`,
    )
    const launcher = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: import.meta.dirname,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const childPid = await new Promise<number>((resolve, reject) => {
      launcher.stdout!.once('data', (chunk) => resolve(Number(String(chunk).trim())))
      launcher.once('exit', (code) => reject(new Error(`the launcher exited with ${code}`)))
    })
    expect(alive(childPid)).toBe(true)
    try {
      launcher.kill('SIGKILL')
      const deadline = Date.now() + 15_000
      while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(alive(childPid), `child ${childPid} outlived the process that started it`).toBe(false)
    } finally {
      if (alive(childPid)) process.kill(childPid, 'SIGKILL')
    }
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
