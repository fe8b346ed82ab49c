import { type AnvilInstance, freePort, startAnvil } from '@cairn/anvil'
import { composeVerifierAbi, inboxAbi, teeVerifierAbi } from '@cairn/contracts'
import { isCairnError } from '@cairn/primitives'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, createPublicClient, type Hex, http, parseAbi } from 'viem'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDeployConfig, parseDeployConfig } from './config.ts'
import { deployL1, PROXIED_CONTRACTS } from './l1.ts'

const DEPLOYER_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const DEPLOYER: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const localConfig = loadDeployConfig(new URL('../config/local.json', import.meta.url).pathname)

describe('deploy config', () => {
  it('accepts the local and testnet template configs', () => {
    expect(localConfig.l1ChainId).toBe(31337)
    const template = loadDeployConfig(new URL('../config/testnet.template.json', import.meta.url).pathname)
    expect(template.verifier.sufficient).toHaveLength(2)
  })

  it('names every bad field in its error', () => {
    const raw = JSON.parse(readFileSync(new URL('../config/local.json', import.meta.url), 'utf8'))
    raw.inbox.anchorWindow = 300
    raw.timelock.proposers = ['0x1234']
    raw.verifier.sufficient = [['SGX']]
    const error = (() => {
      try {
        parseDeployConfig(raw, 'local.json')
      } catch (e) {
        return e
      }
    })()
    expect(isCairnError(error, 'DEPLOY_CONFIG_INVALID')).toBe(true)
    const message = (error as Error).message
    expect(message).toContain('inbox.anchorWindow')
    expect(message).toContain('timelock.proposers.0')
    expect(message).toContain('verifier.sufficient.0.0')
  })

  it('refuses a verifier policy no deployed verifier can satisfy', () => {
    const raw = JSON.parse(readFileSync(new URL('../config/local.json', import.meta.url), 'utf8'))
    raw.verifier.sufficient = [['TEE', 'ZK_CIRCUIT'], ['ZKVM']]
    expect(() => parseDeployConfig(raw)).toThrow(/verifier\.sufficient: no combination can be proven/)
    raw.verifier.zkvm = '0x00000000000000000000000000000000000000aa'
    expect(parseDeployConfig(raw).verifier.sufficient).toHaveLength(2)
  })

  it('rejects unknown fields so typos do not pass silently', () => {
    const raw = JSON.parse(readFileSync(new URL('../config/local.json', import.meta.url), 'utf8'))
    raw.inbox.fallbackWindw = 3
    expect(() => parseDeployConfig(raw)).toThrow(/fallbackWindw/)
  })
})

describe('deployL1 on a fresh anvil', () => {
  let anvil: AnvilInstance
  const outFile = join(mkdtempSync(join(tmpdir(), 'cairn-deploy-')), 'l1.json')

  beforeAll(async () => {
    anvil = await startAnvil()
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('names the RPC when it does not answer', async () => {
    const rpcUrl = `http://127.0.0.1:${await freePort()}`
    const error = await deployL1(localConfig, { rpcUrl, deployerKey: DEPLOYER_KEY }).catch((e: unknown) => e)
    expect(isCairnError(error, 'DEPLOY_RPC_UNREACHABLE')).toBe(true)
    expect((error as Error).message).toContain(`The RPC ${rpcUrl} did not answer eth_chainId`)
  })

  it('refuses an RPC serving another chain than the config names', async () => {
    const error = await deployL1(
      { ...localConfig, l1ChainId: 1 },
      { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY },
    ).catch((e: unknown) => e)
    expect(isCairnError(error, 'DEPLOY_WRONG_CHAIN')).toBe(true)
  })

  it('deploys, wires and hands every contract to the timelock', async () => {
    const result = await deployL1(localConfig, { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile })
    const d = result.deployment!
    expect(d).toBeDefined()
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(d)

    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const ownable = parseAbi(['function owner() view returns (address)'])
    for (const name of PROXIED_CONTRACTS) {
      expect(await client.readContract({ address: d[name], abi: ownable, functionName: 'owner' })).toBe(d.timelock)
    }
    const config = await client.readContract({ address: d.inbox, abi: inboxAbi, functionName: 'getConfig' })
    expect(config.l2ChainId).toBe(77077n)
    expect(
      await client.readContract({
        address: d.composeVerifier,
        abi: composeVerifierAbi,
        functionName: 'verifiers',
        args: [0],
      }),
    ).toBe(d.teeVerifier)
    expect(
      await client.readContract({
        address: d.composeVerifier,
        abi: composeVerifierAbi,
        functionName: 'isSufficient',
        args: [1],
      }),
    ).toBe(true)
    expect(
      await client.readContract({ address: d.teeVerifier, abi: teeVerifierAbi, functionName: 'attestationVerifier' }),
    ).toBe(d.attestationVerifier)
    const checkpoint = await client.readContract({
      address: d.inbox,
      abi: inboxAbi,
      functionName: 'getCheckpoint',
      args: [0n],
    })
    expect(checkpoint.blockHash).toBe(localConfig.genesis.blockHash)
  })

  it('records the L1 block the deployment started in, where followers start reading L1 logs', async () => {
    const d = JSON.parse(readFileSync(outFile, 'utf8'))
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const { number, hash } = d.startBlock
    expect((await client.getBlock({ blockNumber: BigInt(number) })).hash).toBe(hash)
    // The first transaction (the timelock's creation) is in it, and nothing of the suite before it.
    expect(await client.getCode({ address: d.timelock, blockNumber: BigInt(number) })).not.toBeUndefined()
    expect(await client.getCode({ address: d.timelock, blockNumber: BigInt(number - 1) })).toBeUndefined()
    const logs = await client.getLogs({ address: d.inbox, fromBlock: 0n, toBlock: BigInt(number - 1) })
    expect(logs).toEqual([])
  })

  it('sends no transaction on a second run', async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const nonceBefore = await client.getTransactionCount({ address: DEPLOYER })
    const blockBefore = await client.getBlockNumber()
    const result = await deployL1(localConfig, { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile })
    expect(result.actions).toEqual([])
    expect(result.transactionsSent).toBe(0)
    expect(await client.getTransactionCount({ address: DEPLOYER })).toBe(nonceBefore)
    expect(await client.getBlockNumber()).toBe(blockBefore)
  })

  it('finds the start block for an addresses file written before it was recorded, sending nothing', async () => {
    const recorded = JSON.parse(readFileSync(outFile, 'utf8'))
    const { startBlock, ...older } = recorded
    expect(startBlock).toMatchObject({ number: expect.any(Number), hash: expect.stringMatching(/^0x/) })
    writeFileSync(outFile, JSON.stringify(older))
    const result = await deployL1(localConfig, { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile })
    expect(result.transactionsSent).toBe(0)
    expect(result.deployment!.startBlock).toEqual(startBlock)
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(recorded)
  })

  it('reports a setting that differs from the deployed suite instead of silently ignoring it', async () => {
    const changed = { ...localConfig, inbox: { ...localConfig.inbox, fallbackWindow: 99 } }
    const error = await deployL1(changed, { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile }).catch(
      (e: unknown) => e,
    )
    expect(isCairnError(error, 'DEPLOY_STATE_MISMATCH')).toBe(true)
    expect((error as Error).message).toContain('inbox.fallbackWindow')
  })

  it('lists in a dry run every transaction the run then sends, wiring and ownership included, in order', async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const nonceBefore = await client.getTransactionCount({ address: DEPLOYER })
    const fresh = join(mkdtempSync(join(tmpdir(), 'cairn-deploy-')), 'l1.json')
    const options = { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile: fresh }
    const dry = await deployL1(localConfig, { ...options, dryRun: true })
    expect(dry.deployment).toBeUndefined()
    expect(dry.transactionsSent).toBe(0)
    expect(await client.getTransactionCount({ address: DEPLOYER })).toBe(nonceBefore)
    expect(existsSync(fresh)).toBe(false)
    expect(dry.actions[0]).toBe('deploy CairnTimelock')
    for (const wiring of [
      'wire inbox into forcedInclusionStore',
      'set proof combination 1 sufficient',
      'transfer inbox ownership to the timelock',
    ])
      expect(dry.actions).toContain(wiring)
    expect(dry.actions.at(-1)).toBe('transfer inbox ownership to the timelock')

    const run = await deployL1(localConfig, options)
    // The same transactions: same order, nonces, targets, calldata and created addresses.
    expect(run.transactions).toEqual(dry.transactions)
    expect(run.transactionsSent).toBe(dry.transactions.length)
    expect(await client.getTransactionCount({ address: DEPLOYER })).toBe(nonceBefore + dry.transactions.length)
    expect(run.deployment!.inbox).toBe(dry.transactions.find((tx) => tx.what === 'deploy inbox proxy')!.creates)
  })

  it('the CLI run a second time reports nothing to do and exits 0', async () => {
    const script = new URL('./deploy-l1.ts', import.meta.url).pathname
    const config = new URL('../config/local.json', import.meta.url).pathname
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script, '--config', config, '--rpc', anvil.rpcUrl, '--out', outFile],
      { env: { ...process.env, CAIRN_DEPLOYER_KEY: DEPLOYER_KEY } },
    )
    expect(stdout).toContain('nothing to do')
    expect(stdout).toContain('(0 transactions sent)')
  })

  it('the CLI refuses to run without a deployer key', async () => {
    const script = new URL('./deploy-l1.ts', import.meta.url).pathname
    const env = { ...process.env }
    delete env.CAIRN_DEPLOYER_KEY
    const error = (await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script, '--config', 'x.json', '--rpc', anvil.rpcUrl],
      { env },
    ).catch((e: unknown) => e)) as { code: number; stderr: string }
    expect(error.code).toBe(2)
    expect(error.stderr).toContain('CAIRN_DEPLOYER_KEY')
  })
})
