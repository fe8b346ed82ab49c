// Shared setup of the proposer tests: a real anvil L1 (prague, real blobs), the L1 suite deployed with
// deployL1 from deploy/config/local.json (the preconfer operator is dev account 1, which proposes here),
// and L2 blocks held as plain data until they are read through an L2BlockSource.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AnvilInstance, startAnvil } from '@cairn/anvil'
import { inboxAbi } from '@cairn/contracts'
import { deployL1, type L1Deployment, loadDeployConfig } from '@cairn/deploy'
import { createLogger, createMetricsRegistry, type Registry } from '@cairn/telemetry'
import { type Address, createPublicClient, type Hex, http, hexToBytes, type PublicClient, parseGwei } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { L2Block, L2BlockSource } from '../src/l2-source.ts'
import { ProposerMetrics } from '../src/metrics.ts'
import { ProgressStore } from '../src/progress-store.ts'
import { Proposer, type ProposerOptions } from '../src/proposer.ts'

export const DEPLOYER_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
/** Dev account 1: the preconfer operator of deploy/config/local.json. */
export const PROPOSER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
/** Dev account 5 signs the L2 transactions carried by the batches. */
const L2_USER_KEY: Hex = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'
export const LOCAL_CONFIG = fileURLToPath(new URL('../../../deploy/config/local.json', import.meta.url))

export interface L1Env {
  anvil: AnvilInstance
  l1: PublicClient
  deployment: L1Deployment
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>
  stop(): Promise<void>
}

export async function startL1(): Promise<L1Env> {
  const anvil = await startAnvil({ hardfork: 'prague' })
  const config = loadDeployConfig(LOCAL_CONFIG)
  const outFile = join(mkdtempSync(join(tmpdir(), 'cairn-proposer-deploy-')), 'l1.json')
  const { deployment } = await deployL1(config, { rpcUrl: anvil.rpcUrl, deployerKey: DEPLOYER_KEY, outFile })
  const l1 = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
  return {
    anvil,
    l1,
    deployment: deployment!,
    rpc: (method, params = []) => l1.request({ method: method as 'eth_chainId', params: params as never }) as never,
    stop: () => anvil.stop(),
  }
}

/** L2 blocks as data: what a sequencer node would serve through debug_getRawBlock. */
export class MemoryL2 implements L2BlockSource {
  readonly blocks: L2Block[] = []
  private nonce = 0

  /** `hashFill` makes block hashes of another chain (a fork) differ from this one's. */
  constructor(private readonly hashFill = 'b') {}

  async headNumber(): Promise<bigint> {
    return BigInt(this.blocks.length)
  }

  async blockByNumber(number: bigint): Promise<L2Block | undefined> {
    return this.blocks[Number(number) - 1]
  }

  /** Appends blocks anchored to `anchor` (an L1 block number), each with `txsPerBlock` signed transfers. */
  async add(count: number, anchor: bigint, options: { txsPerBlock?: number; timestamp?: bigint } = {}) {
    const user = privateKeyToAccount(L2_USER_KEY)
    for (let i = 0; i < count; i++) {
      const number = BigInt(this.blocks.length + 1)
      const transactions: Uint8Array[] = []
      for (let t = 0; t < (options.txsPerBlock ?? 2); t++) {
        const raw = await user.signTransaction({
          type: 'eip1559',
          chainId: 77077,
          nonce: this.nonce++,
          to: '0x000000000000000000000000000000000000dEaD',
          value: 1000n + number,
          gas: 21_000n,
          maxFeePerGas: parseGwei('2'),
          maxPriorityFeePerGas: parseGwei('1'),
        })
        transactions.push(hexToBytes(raw))
      }
      const parent = this.blocks.at(-1)
      this.blocks.push({
        number,
        hash: `0x${number.toString(16).padStart(64, this.hashFill)}`,
        parentHash: parent?.hash ?? `0x${'00'.repeat(32)}`,
        timestamp: options.timestamp ?? BigInt(Math.floor(Date.now() / 1000) - 1000) + number,
        gasLimit: 60_000_000n,
        coinbase: '0x000000000000000000000000000000000000c0de',
        anchorBlockNumber: anchor,
        anchorBlockHash: `0x${'aa'.repeat(32)}`,
        transactions,
      })
    }
  }
}

export interface TestProposer {
  proposer: Proposer
  metrics: ProposerMetrics
  registry: Registry
  progress: ProgressStore
  datadir: string
}

export function makeProposer(
  env: L1Env,
  l2: L2BlockSource,
  overrides: Partial<ProposerOptions> & { datadir?: string } = {},
): TestProposer {
  const datadir = overrides.datadir ?? mkdtempSync(join(tmpdir(), 'cairn-proposer-'))
  const registry = createMetricsRegistry()
  const metrics = new ProposerMetrics(registry)
  const progress = ProgressStore.open(datadir)
  const proposer = new Proposer({
    l1: env.l1,
    l2,
    privateKey: PROPOSER_KEY,
    inbox: env.deployment.inbox,
    forcedInclusionStore: env.deployment.forcedInclusionStore,
    progress,
    logger: createLogger({ level: (process.env.CAIRN_TEST_LOG_LEVEL as 'info') ?? 'silent' }),
    metrics,
    maxBatchAgeSeconds: 0,
    maxBlobs: 6,
    pollIntervalMs: 100,
    feeBumpPercent: 20,
    resubmitAfterBlocks: 3,
    confirmations: 1,
    ...overrides,
  })
  return { proposer, metrics, registry, progress, datadir }
}

export async function inboxState(env: L1Env) {
  return env.l1.readContract({ address: env.deployment.inbox, abi: inboxAbi, functionName: 'getState' })
}

/**
 * Every BatchProposed event on the canonical chain, in order. anvil exposes a mined block's state a
 * moment before its logs, so this waits (bounded) until the logs show every batch the Inbox counts.
 */
export async function proposedBatches(env: L1Env) {
  const expected = Number((await inboxState(env)).nextBatchId) - 1
  for (let attempt = 0; ; attempt++) {
    const events = await env.l1.getContractEvents({
      address: env.deployment.inbox,
      abi: inboxAbi,
      eventName: 'BatchProposed',
      fromBlock: 0n,
      toBlock: 'latest',
    })
    if (events.length >= expected || attempt === 50) return events
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Steps the proposer until `done` holds (bounded, so a broken loop fails instead of hanging). */
export async function tickUntil(proposer: Proposer, done: () => Promise<boolean>, maxTicks = 50): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    if (await done()) return
    await proposer.tick()
  }
  if (!(await done())) throw new Error(`condition not reached after ${maxTicks} proposer rounds`)
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get()
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  return value?.value ?? 0
}

export type { Address }
