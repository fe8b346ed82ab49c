import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type AnvilInstance, startAnvil } from '@cairn/anvil'
import { isCairnError } from '@cairn/primitives'
import { createPublicClient, type Hex, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDeployConfig } from './config.ts'
import { deployConfigProblems, isLocalConfig, isReservedAddress, unusableAddresses } from './preflight.ts'

const TEMPLATE = join(import.meta.dirname, '../config/testnet.template.json')
const LOCAL = join(import.meta.dirname, '../config/local.json')
const DEPLOY_L1 = join(import.meta.dirname, 'deploy-l1.ts')
const GENESIS_L2 = join(import.meta.dirname, 'genesis-l2.ts')
const DEPLOYER_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const DEPLOYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/** Addresses someone could hold, in place of the template's placeholders. */
const REAL = {
  multisig: '0x5B38Da6a701c568545dCfcB03FcB875f56beddC4',
  operator: '0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2',
  authority: '0x4B20993Bc481177ec7E8f571ceCaE8A9e22C02db',
  faucet: '0x78731D3Ca6b7E34aC0F824c42a7cC18A495cabaB',
}
const TEMPLATE_PLACEHOLDERS = [
  'timelock.proposers.0 is 0x0000000000000000000000000000000000000001',
  'timelock.executors.0 is 0x0000000000000000000000000000000000000001',
  'preconf.operators.0 is 0x0000000000000000000000000000000000000002',
  'verifier.tee.attestationAuthority is 0x0000000000000000000000000000000000000003',
  'l2Genesis.alloc funds 0x0000000000000000000000000000000000000004',
]

const dir = mkdtempSync(join(tmpdir(), 'cairn-preflight-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = promisify(execFile)

describe('the addresses deploy:l1 refuses', () => {
  it('are the zero address, the precompiles and the rest of the range up to 0x…ffff, nothing above', () => {
    for (const reserved of ['0x0', '0x1', '0x11', '0x100', '0xdead', '0xffff'])
      expect(isReservedAddress(`0x${reserved.slice(2).padStart(40, '0')}`), reserved).toBe(true)
    expect(isReservedAddress('0x0000000000000000000000000000000000010000')).toBe(false)
    expect(isReservedAddress(DEPLOYER)).toBe(false)
  })

  it('names every role and faucet field of the testnet template that holds a placeholder', () => {
    const error = unusableAddresses(loadDeployConfig(TEMPLATE), 'config/testnet.json')
    expect(isCairnError(error, 'DEPLOY_ADDRESS_UNUSABLE')).toBe(true)
    for (const placeholder of TEMPLATE_PLACEHOLDERS) expect(error!.message).toContain(placeholder)
    expect(error!.details?.fields).toHaveLength(TEMPLATE_PLACEHOLDERS.length)
  })

  it('accepts config/local.json: dev accounts in its roles, its genesis the devnet’s to supply', async () => {
    const local = loadDeployConfig(LOCAL)
    expect(isLocalConfig(local)).toBe(true)
    expect(await deployConfigProblems(local, LOCAL)).toEqual([])
  })
})

describe('deploy:l1 against an L1 of the template’s chain id', () => {
  let anvil: AnvilInstance
  const deployerNonce = () =>
    createPublicClient({ transport: http(anvil.rpcUrl) }).getTransactionCount({ address: DEPLOYER })
  const deployL1 = (config: string, out: string, ...extra: string[]) =>
    run(
      process.execPath,
      ['--import', 'tsx', DEPLOY_L1, '--config', config, '--rpc', anvil.rpcUrl, '--out', out, ...extra],
      {
        env: { ...process.env, CAIRN_DEPLOYER_KEY: DEPLOYER_KEY },
      },
    )
  const fixed = join(dir, 'testnet.json')

  beforeAll(async () => {
    anvil = await startAnvil({ args: ['--chain-id', '11155111'] })
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('refuses the template as it is, run or dry run, naming the command that fixes the genesis and every placeholder address, and sends nothing', async () => {
    const out = join(dir, 'template-l1.json')
    for (const flags of [['--dry-run'], []]) {
      const failure = (await deployL1(TEMPLATE, out, ...flags).catch((e: unknown) => e)) as {
        code: number
        stderr: string
      }
      expect(failure.code, failure.stderr).toBe(1)
      expect(failure.stderr).toContain('DEPLOY_GENESIS_MISMATCH: the "genesis" of')
      expect(failure.stderr).toContain(`npm run genesis:l2 -w @cairn/deploy -- --config ${TEMPLATE} --update-config`)
      expect(failure.stderr).toContain('DEPLOY_ADDRESS_UNUSABLE:')
      for (const placeholder of TEMPLATE_PLACEHOLDERS) expect(failure.stderr).toContain(placeholder)
      expect(failure.stderr).toContain(`Nothing was sent: copy ${TEMPLATE} to a config of your own`)
    }
    expect(await deployerNonce()).toBe(0)
    expect(existsSync(out)).toBe(false)
  })

  it('accepts the template once real addresses and genesis:l2 --update-config have filled it in', async () => {
    const raw = JSON.parse(readFileSync(TEMPLATE, 'utf8'))
    raw.timelock.proposers = [REAL.multisig]
    raw.timelock.executors = [REAL.multisig]
    raw.preconf.operators = [REAL.operator]
    raw.verifier.tee.attestationAuthority = REAL.authority
    raw.l2Genesis.alloc = { [REAL.faucet]: raw.l2Genesis.alloc['0x0000000000000000000000000000000000000004'] }
    writeFileSync(fixed, JSON.stringify(raw, null, 2))
    await run(
      process.execPath,
      ['--import', 'tsx', GENESIS_L2, '--config', fixed, '--out', join(dir, 'genesis.json'), '--update-config'],
      { cwd: join(import.meta.dirname, '..') },
    )

    const { stdout } = await deployL1(fixed, join(dir, 'fixed-l1.json'), '--dry-run')
    expect(stdout).toMatch(new RegExp(`\\[dry-run\\] would send \\d+ transactions from ${DEPLOYER}`))
    expect(stdout).toContain('[dry-run] would transfer inbox ownership to the timelock')
    expect(await deployerNonce()).toBe(0)
  })

  it('refuses a genesis written before l2Genesis changed', async () => {
    const config = loadDeployConfig(fixed)
    expect(await deployConfigProblems(config, fixed)).toEqual([])
    const changed = { ...config, l2Genesis: { ...config.l2Genesis!, gasLimit: 30_000_000 } }
    const problems = await deployConfigProblems(changed, fixed)
    expect(problems.map((problem) => problem.code)).toEqual(['DEPLOY_GENESIS_MISMATCH'])
    expect(problems[0]!.message).toContain(`block hash ${config.genesis.blockHash}`)
  })
})
