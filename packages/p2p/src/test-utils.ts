import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlock } from '@ethereumjs/block'
import { Common, Mainnet } from '@ethereumjs/common'
import { Registry } from '@cairn/telemetry'
import { readBlockHeader } from './block-rlp.ts'
import type { ValidationResult } from './metrics.ts'
import { type SignedBlock, recoverPreconfSigner, signPreconfBlock } from './preconf.ts'
import { P2PService, type P2PServiceOptions } from './service.ts'

/** Test helpers shared by the network tests and the benchmark; not part of the package's public face. */

export const CHAIN_ID = 167_001n

/** A preconfer key and its address (from viem's docs vector), and an impostor. */
export const SEQUENCER_KEY = Buffer.from('4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318', 'hex')
export const SEQUENCER = '0x2c7536e3605d9c16a7a3d7b1898e529396a65c23'
export const IMPOSTOR_KEY = Buffer.from('1111111111111111111111111111111111111111111111111111111111111111', 'hex')

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** A chain of `count` empty blocks from genesis parent 0x00…, each linked to the previous. */
export function makeChain(count: number, startTimestamp = BigInt(Math.floor(Date.now() / 1000))): Uint8Array[] {
  const common = new Common({ chain: Mainnet, hardfork: 'prague' })
  const out: Uint8Array[] = []
  let parentHash: Uint8Array = new Uint8Array(32)
  for (let i = 0; i < count; i++) {
    const block = createBlock(
      { header: { number: BigInt(i), parentHash, timestamp: startTimestamp + BigInt(i), gasLimit: 30_000_000n } },
      { common },
    )
    out.push(block.serialize())
    parentHash = block.hash()
  }
  return out
}

export function signBlock(block: Uint8Array, key: Uint8Array = SEQUENCER_KEY): SignedBlock {
  return signPreconfBlock(block, readBlockHeader(block).hash, key, CHAIN_ID)
}

/** What a node's validators do, reduced: txs start with 0x02 (a typed tx) or are rejected; blocks must be signed by SEQUENCER. */
export function testValidators(seen: { tx: Uint8Array[]; block: SignedBlock[] } = { tx: [], block: [] }) {
  return {
    seen,
    validators: {
      async transaction(raw: Uint8Array): Promise<ValidationResult> {
        seen.tx.push(raw)
        return raw[0] === 0x02 ? 'accept' : 'reject'
      },
      async block(signed: SignedBlock): Promise<ValidationResult> {
        seen.block.push(signed)
        try {
          const { hash } = readBlockHeader(signed.block)
          return recoverPreconfSigner(signed, hash, CHAIN_ID) === SEQUENCER ? 'accept' : 'reject'
        } catch {
          return 'reject'
        }
      },
    },
  }
}

export async function tempDir(prefix = 'cairn-p2p-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export type TestNode = {
  service: P2PService
  seen: { tx: Uint8Array[]; block: SignedBlock[] }
  received: { tx: Uint8Array[]; block: SignedBlock[] }
  registry: Registry
  datadir: string
}

export async function startNode(datadir: string, options: Partial<P2PServiceOptions> = {}): Promise<TestNode> {
  const { seen, validators } = testValidators()
  const registry = new Registry()
  const service = await P2PService.create({
    datadir,
    port: 0,
    bootnodes: [],
    maxPeers: 10,
    chainId: CHAIN_ID,
    logger: silentLogger,
    metrics: registry,
    validators,
    discoveryIntervalMs: 500,
    ...options,
  })
  const received: TestNode['received'] = { tx: [], block: [] }
  service.onTransaction((raw) => received.tx.push(raw))
  service.onBlock((signed) => received.block.push(signed))
  await service.start()
  return { service, seen, received, registry, datadir }
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs` (a bound, not a measurement). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get()
  if (metric === undefined) return 0
  return metric.values
    .filter((v) =>
      Object.entries(labels).every(([k, value]) => String((v.labels as Record<string, unknown>)[k]) === value),
    )
    .reduce((sum, v) => sum + v.value, 0)
}
