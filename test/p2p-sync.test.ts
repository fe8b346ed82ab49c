import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import { type RunningNode, freePort, rpc, signDevTransfer, startNode } from './src/node-process.ts'

// What a node gets although gossip never brought it, with real `cairn node` processes on 127.0.0.1.
// The sequencer seals a block only when a transaction arrives (`--block-time 0`), so the test decides
// when blocks exist: a node that catches up here cannot have been told by a new gossiped block.

const PRECONFER = DEV_ACCOUNTS[0]!.address

interface BlockJson {
  number: Hex
  hash: Hex
}
interface Receipt {
  blockNumber: Hex
  blockHash: Hex
  status: Hex
}

const tmp = mkdtempSync(join(tmpdir(), 'cairn-p2p-sync-'))
const genesisFile = join(tmp, 'genesis.json')
const nodes: RunningNode[] = []
const metricsPorts = new Map<RunningNode, number>()

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function start(options: Parameters<typeof startNode>[0]): Promise<RunningNode> {
  const metricsPort = await freePort()
  const node = await startNode({
    ...options,
    extraArgs: [...(options?.extraArgs ?? []), '--metrics.port', String(metricsPort)],
  })
  nodes.push(node)
  metricsPorts.set(node, metricsPort)
  return node
}

function startFollower(extraArgs: string[] = []): Promise<RunningNode> {
  return start({
    dev: false,
    extraArgs: ['--genesis', genesisFile, '--p2p.preconfer', PRECONFER, '--p2p.tx-reannounce-age', '1', ...extraArgs],
  })
}

/** Sum of a Prometheus series on the node's /metrics, over the samples that carry `labels`. */
async function metric(node: RunningNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPorts.get(node)}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

const latest = (node: RunningNode) => rpc<BlockJson>(node.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
const blockAt = (node: RunningNode, n: bigint) =>
  rpc<BlockJson | null>(node.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
const p2pAddress = async (node: RunningNode) =>
  (await rpc<{ addresses: string[] }>(node.rpcUrl, 'cairn_p2pStatus')).addresses[0]!
const receipt = (node: RunningNode, hash: Hex) => rpc<Receipt | null>(node.rpcUrl, 'eth_getTransactionReceipt', [hash])

let nonce = 0
const transfer = () => signDevTransfer(nonce++)

let follower: RunningNode
let sequencer: RunningNode

beforeAll(() => {
  writeFileSync(genesisFile, JSON.stringify(devGenesis()))
})

afterAll(async () => {
  for (const node of nodes.reverse()) await node.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

describe('p2p: what gossip did not deliver', () => {
  it('includes a transaction that reached a follower before the sequencer was connected: re-announced, fetched by hash', async () => {
    // The follower runs alone: the transaction enters its pool and is gossiped to nobody.
    follower = await startFollower()
    const hash = await rpc<Hex>(follower.rpcUrl, 'eth_sendRawTransaction', [await transfer()])
    expect(await rpc<Hex>(follower.rpcUrl, 'net_peerCount')).toBe('0x0')
    expect(await metric(follower, 'cairn_p2p_messages_published_total', { topic: 'tx' })).toBe(0)

    // The sequencer comes up later and joins the follower; nobody sends it the transaction again.
    sequencer = await start({
      blockTime: 0,
      extraArgs: ['--p2p.port', String(await freePort()), '--bootnodes', await p2pAddress(follower)],
    })
    await waitFor('the transaction in a sequenced block', async () => (await receipt(sequencer, hash)) !== null)
    const included = (await receipt(sequencer, hash))!
    expect(included.status).toBe('0x1')
    await waitFor(
      'the follower serving that block',
      async () => (await blockAt(follower, BigInt(included.blockNumber)))?.hash === included.blockHash,
    )

    // The path it took: announced by the follower, fetched and admitted by the sequencer, never gossiped to it.
    expect(await metric(follower, 'cairn_p2p_txs_reannounced_total')).toBeGreaterThanOrEqual(1)
    expect(await metric(sequencer, 'cairn_p2p_announced_tx_hashes_total', { result: 'fetch' })).toBe(1)
    expect(await metric(sequencer, 'cairn_p2p_fetched_txs_total', { result: 'accept' })).toBe(1)
    expect(await metric(sequencer, 'cairn_p2p_validation_results_total', { topic: 'tx' })).toBe(0)
  })

  it('a follower started after the last block reaches the head over req/resp, with no new block produced', async () => {
    for (let i = 0; i < 3; i++) {
      const hash = await rpc<Hex>(sequencer.rpcUrl, 'eth_sendRawTransaction', [await transfer()])
      await waitFor(`transfer ${i} included`, async () => (await receipt(sequencer, hash)) !== null)
    }
    const head = await latest(sequencer)
    const headNumber = BigInt(head.number)
    expect(headNumber).toBeGreaterThanOrEqual(4n)

    const late = await startFollower(['--bootnodes', await p2pAddress(sequencer)])
    await waitFor('the late follower at the head', async () => (await blockAt(late, headNumber))?.hash === head.hash)

    // No block was produced meanwhile: the follower asked for the head when it connected.
    expect((await latest(sequencer)).hash).toBe(head.hash)
    expect((await latest(late)).hash).toBe(head.hash)
    expect(late.logs()).toContain('peer has a newer preconfirmed head; catching up to it')
    expect(
      await metric(late, 'cairn_p2p_catch_ups_total', { trigger: 'head', result: 'synced' }),
    ).toBeGreaterThanOrEqual(1)
    expect(await metric(late, 'cairn_p2p_block_imports_total', { source: 'sync', result: 'imported' })).toBe(
      Number(headNumber) - 1,
    )
    expect(await metric(late, 'cairn_p2p_block_imports_total', { source: 'gossip' })).toBe(0)
    expect((await blockAt(late, 1n))?.hash).toBe((await blockAt(sequencer, 1n))?.hash)
  })
})
