import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig, parse, prefixSettings, renderHelp, setting } from './config.ts'

const table = {
  httpPort: setting({
    flag: 'http.port',
    env: 'CAIRN_HTTP_PORT',
    description: 'HTTP port',
    schema: parse.port(),
    default: 8545,
  }),
  dev: setting({
    flag: 'dev',
    env: 'CAIRN_DEV',
    description: 'dev mode',
    schema: parse.bool(),
    default: false,
    boolean: true,
  }),
  datadir: setting({
    flag: 'datadir',
    env: 'CAIRN_DATADIR',
    description: 'data directory',
    schema: parse.string(),
    default: './data',
  }),
}

describe('loadConfig', () => {
  it('applies flags over env over file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'))
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ http: { port: 1000 }, datadir: '/from/file' }))
    expect(loadConfig(table, { argv: ['--config', file], env: {} })).toEqual({
      httpPort: 1000,
      dev: false,
      datadir: '/from/file',
    })
    expect(loadConfig(table, { argv: ['--config', file], env: { CAIRN_HTTP_PORT: '2000' } }).httpPort).toBe(2000)
    expect(
      loadConfig(table, { argv: ['--config', file, '--http.port=3000', '--dev'], env: { CAIRN_HTTP_PORT: '2000' } }),
    ).toEqual({ httpPort: 3000, dev: true, datadir: '/from/file' })
  })

  it('names the setting, the source and the problem for a bad value', () => {
    expect(() => loadConfig(table, { argv: ['--http.port', '99999'] })).toThrow(
      /invalid value "99999" for --http.port \(from flag --http.port\)/,
    )
    expect(() => loadConfig(table, { env: { CAIRN_HTTP_PORT: 'abc' } })).toThrow(/from env CAIRN_HTTP_PORT/)
  })

  it('rejects unknown flags and unknown file keys', () => {
    expect(() => loadConfig(table, { argv: ['--http.prot', '1'] })).toThrow(/unknown flag --http.prot/)
    const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'))
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ nope: 1 }))
    expect(() => loadConfig(table, { file: join(dir, 'c.json') })).toThrow(/unknown setting "nope"/)
  })

  it('documents every setting in --help', () => {
    const help = renderHelp(table, 'usage: x')
    for (const spec of Object.values(table)) {
      expect(help).toContain(`--${spec.flag}`)
      expect(help).toContain(spec.env)
    }
  })

  it('reads a table spread under a prefix from prefixed flags and nested file keys, env names unchanged', () => {
    const prefixed = { ...table, ...prefixSettings({ port: table.httpPort }, 'proposer') }
    expect(Object.keys(prefixed)).toContain('proposerPort')
    expect(prefixed.proposerPort.flag).toBe('proposer.http.port')
    expect(loadConfig(prefixed, { argv: ['--proposer.http.port', '7000'] }).proposerPort).toBe(7000)
    expect(loadConfig(prefixed, { env: { CAIRN_HTTP_PORT: '7001' } }).proposerPort).toBe(7001)
    const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'))
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ proposer: { http: { port: 7002 } } }))
    expect(loadConfig(prefixed, { file }).proposerPort).toBe(7002)
  })
})
