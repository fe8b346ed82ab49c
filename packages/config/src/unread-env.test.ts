import { describe, expect, it } from 'vitest'
import { parse, setting } from './config.ts'
import { unreadEnvVariables, warnUnreadEnv } from './unread-env.ts'

const table = {
  httpPort: setting({ flag: 'http.port', env: 'CAIRN_HTTP_PORT', description: 'port', schema: parse.port() }),
  blockTime: setting({ flag: 'block-time', env: 'CAIRN_BLOCK_TIME', description: 'seconds', schema: parse.port() }),
  maxBlobs: setting({
    flag: 'proposer.max-blobs',
    env: 'CAIRN_PROPOSER_MAX_BLOBS',
    description: 'blobs',
    schema: parse.port(),
  }),
}

describe('unreadEnvVariables', () => {
  it('finds the CAIRN_* variables no setting reads, with the name probably meant', () => {
    const env = {
      CAIRN_HTTP_PROT: '1', // swapped letters
      CAIRN_BLOCKTIME: '1', // a missing underscore
      CAIRN_PROPOSER_MAXBLOBS: '1',
      cairn_http_port: '1', // the wrong case: env names are case-sensitive
      CAIRN_SOMETHING_ELSE: '1',
      CAIRN_HTTP_PORT: '1',
      HOME: '/root',
    }
    expect(unreadEnvVariables(table, env)).toEqual([
      { name: 'CAIRN_BLOCKTIME', closest: 'CAIRN_BLOCK_TIME' },
      { name: 'CAIRN_HTTP_PROT', closest: 'CAIRN_HTTP_PORT' },
      { name: 'CAIRN_PROPOSER_MAXBLOBS', closest: 'CAIRN_PROPOSER_MAX_BLOBS' },
      { name: 'CAIRN_SOMETHING_ELSE', closest: undefined },
      { name: 'cairn_http_port', closest: 'CAIRN_HTTP_PORT' },
    ])
  })

  it('leaves alone what the binary reads beside its table and what Cairn’s scripts read', () => {
    const env = {
      CAIRN_PROPOSER_KEY: '0x01',
      CAIRN_BENCH_WARMUP: '100',
      CAIRN_BENCH_NODE_ARGS: '',
      CAIRN_TEST_LOG_LEVEL: 'info',
      CAIRN_DEPLOYER_KEY: '0x02',
    }
    expect(unreadEnvVariables(table, env, ['CAIRN_PROPOSER_KEY'])).toEqual([])
    expect(unreadEnvVariables(table, env).map((v) => v.name)).toEqual(['CAIRN_PROPOSER_KEY'])
  })
})

describe('warnUnreadEnv', () => {
  it('logs one structured warning per unread variable, naming the binary and the fix', () => {
    const warnings: Array<[object, string]> = []
    warnUnreadEnv({
      binary: 'cairn node',
      table,
      env: { CAIRN_HTTP_PROT: '1', CAIRN_NOPE: '1' },
      logger: { warn: (fields, message) => warnings.push([fields, message]) },
    })
    expect(warnings).toEqual([
      [
        { code: 'UNREAD_ENV', env: 'CAIRN_HTTP_PROT', closest: 'CAIRN_HTTP_PORT' },
        'env CAIRN_HTTP_PROT is not read by cairn node and has no effect; did you mean CAIRN_HTTP_PORT?',
      ],
      [
        { code: 'UNREAD_ENV', env: 'CAIRN_NOPE', closest: undefined },
        'env CAIRN_NOPE is not read by cairn node and has no effect; run with --help to list the settings and their env names',
      ],
    ])
  })
})
