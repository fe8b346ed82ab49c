import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const LOGGER = fileURLToPath(new URL('./logger.ts', import.meta.url))

describe('createLogger', () => {
  it("calls flush back only once every line logged so far is written, so a binary's own last line comes last", () => {
    // A child process: stderr is a pipe, which the logger writes asynchronously and process.stderr synchronously.
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER)}
      const logger = createLogger()
      for (let i = 0; i < 2000; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'line')
      logger.error('the reason')
      logger.flush(() => process.stderr.write('LAST\\n'))
    `
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    })
    expect(child.status, child.stderr.slice(-500)).toBe(0)
    const lines = child.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2002)
    expect(lines.at(-2)).toContain('"msg":"the reason"')
    expect(lines.at(-1)).toBe('LAST')
  })
})
