import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '@cairn/anvil'
import { ANCHOR_ADDRESS, anchorDeployedBytecode, anchorGenesisAlloc } from '@cairn/contracts'
import {
  CREATE2_DEPLOYER_ADDRESS,
  DEV_ACCOUNTS,
  DEV_CHAIN_ID,
  devGenesis,
  type GethGenesisFile,
  MULTICALL3_ADDRESS,
} from '@cairn/primitives'
import { afterAll, describe, expect, it } from 'vitest'
import { loadDeployConfig, parseDeployConfig } from './config.ts'
import { answersRpc, CAIRN_NODE_ARGS, createManagedProcess, jsonRpc, REPO_ROOT } from './devnet-process.ts'
import { l2Genesis } from './genesis.ts'

const dir = mkdtempSync(join(tmpdir(), 'cairn-genesis-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const TEMPLATE = join(import.meta.dirname, '../config/testnet.template.json')
const FAUCET = '0x0000000000000000000000000000000000000004'

describe('l2Genesis', () => {
  it('gives the devnet the genesis it always had: dev accounts, preinstalls, extra accounts, the Anchor', () => {
    const extra = { '0x00000000000000000000000000000000000000aa': { balance: '0x1' } }
    expect(l2Genesis({ chainId: DEV_CHAIN_ID, alloc: extra, devAccounts: true })).toEqual(
      devGenesis({ extraAlloc: { ...extra, ...anchorGenesisAlloc() } }),
    )
  })

  it('refuses an l2Genesis account that is not an address, naming it', () => {
    const raw = JSON.parse(readFileSync(TEMPLATE, 'utf8'))
    raw.l2Genesis.alloc = { '0x12': '1' }
    expect(() => parseDeployConfig(raw)).toThrow('l2Genesis.alloc.0x12: keys must be 20-byte hex addresses')
  })
})

describe('npm run genesis:l2', () => {
  it('writes a testnet genesis with the predeploys and the config’s accounts, and the block 0 a node starts from into the config', async () => {
    const config = join(dir, 'testnet.json')
    copyFileSync(TEMPLATE, config)
    const out = join(dir, 'genesis.json')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'genesis-l2.ts'),
        '--config',
        config,
        '--out',
        out,
        '--update-config',
      ],
      { cwd: join(import.meta.dirname, '..') },
    )
    expect(stdout).toContain(`L2 genesis of chain 770771 written to ${out}`)

    const genesis = JSON.parse(readFileSync(out, 'utf8')) as GethGenesisFile
    expect(genesis.config.chainId).toBe(770771)
    expect(genesis.config.pragueTime).toBe(0)
    expect(BigInt(genesis.gasLimit)).toBe(60_000_000n)
    const alloc = genesis.alloc
    expect(alloc[ANCHOR_ADDRESS]?.code).toBe(anchorDeployedBytecode)
    expect(alloc[CREATE2_DEPLOYER_ADDRESS]?.code).toMatch(/^0x[0-9a-f]+$/)
    expect(alloc[MULTICALL3_ADDRESS]?.code).toMatch(/^0x[0-9a-f]+$/)
    expect(BigInt(alloc[FAUCET]!.balance!)).toBe(10n ** 24n)
    const funded = Object.keys(alloc).map((a) => a.toLowerCase())
    for (const dev of DEV_ACCOUNTS) expect(funded).not.toContain(dev.address.toLowerCase())

    // The config now names that genesis, and a node started on the file serves it.
    const { genesis: written } = loadDeployConfig(config)
    expect(stdout).toContain(`Block 0: hash ${written.blockHash}, state root ${written.stateRoot}.`)
    const port = await freePort()
    const rpc = `http://127.0.0.1:${port}`
    const node = createManagedProcess({
      name: 'testnet-node',
      command: process.execPath,
      args: [...CAIRN_NODE_ARGS, 'node', '--genesis', out, '--datadir', join(dir, 'node'), '--http.port', String(port)],
      cwd: REPO_ROOT,
      logFile: join(dir, 'node.log'),
      ready: () => answersRpc(rpc),
    })
    await node.start()
    try {
      const block = await jsonRpc<{ hash: string; stateRoot: string }>(rpc, 'eth_getBlockByNumber', ['0x0', false])
      expect(block).toMatchObject({ hash: written.blockHash, stateRoot: written.stateRoot })
      expect(await jsonRpc(rpc, 'eth_chainId')).toBe('0xbc2d3')
      expect(await jsonRpc(rpc, 'eth_getCode', [ANCHOR_ADDRESS, 'latest'])).toBe(anchorDeployedBytecode)
      expect(BigInt(await jsonRpc<string>(rpc, 'eth_getBalance', [FAUCET, 'latest']))).toBe(10n ** 24n)
    } finally {
      await node.stop()
    }
  })
})
