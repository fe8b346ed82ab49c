import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { shebangNodeFlags } from './devnet-process.ts'

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
