import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Hex, hexToBytes, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { P2PService, signPreconfBlock } from '@cairn/p2p'
import { DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import { type RunningNode, freePort, rpc, signDevTransfer, startNode } from './src/node-process.ts'

// One sequencer (`--dev`, the dev preconf key) and followers joined over libp2p on 127.0.0.1, as
// an operator would run them: real `cairn node` processes, each with its own datadir and node key.

const CHAIN_ID = 77077
const PRECONFER = DEV_ACCOUNTS[0]!.address
const IMPOSTOR_KEY = hexToBytes('0x1111111111111111111111111111111111111111111111111111111111111111')

interface BlockJson {
  number: Hex
  hash: Hex
  transactions: Hex[]
}
interface P2PStatus {
  peerId: string
  addresses: string[]
  peers: { peerId: string; score: number }[]
  banned: { peer: string; until: number }[]
}

const tmp = mkdtempSync(join(tmpdir(), 'cairn-p2p-e2e-'))
const genesisFile = join(tmp, 'genesis.json')
const nodes: RunningNode[] = []
const cleanups: Array<() => Promise<void>> = []
let sequencer: RunningNode
let followers: RunningNode[] = []
let bootnode: string

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function startFollower(): Promise<RunningNode> {
  const node = await startNode({
    dev: false,
    extraArgs: ['--genesis', genesisFile, '--bootnodes', bootnode, '--p2p.preconfer', PRECONFER],
  })
  nodes.push(node)
  return node
}

const latest = (node: RunningNode) => rpc<BlockJson>(node.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
const blockAt = (node: RunningNode, n: bigint) =>
  rpc<BlockJson | null>(node.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
const p2pStatus = (node: RunningNode) => rpc<P2PStatus>(node.rpcUrl, 'cairn_p2pStatus')

let nonce = 0
const transfer = () => signDevTransfer(nonce++)

/** Sends a transfer to `via`, waits for the sequencer to include it; every follower must then serve that block as latest within a second. */
async function sendAndCheckHeads(via: RunningNode, all: RunningNode[]): Promise<number> {
  const raw = await transfer()
  const hash = await rpc<Hex>(via.rpcUrl, 'eth_sendRawTransaction', [raw])
  expect(hash).toBe(keccak256(raw))
  let receipt: { blockNumber: Hex; blockHash: Hex; status: Hex } | null = null
  await waitFor('the transaction in a sequenced block', async () => {
    receipt = await rpc(sequencer.rpcUrl, 'eth_getTransactionReceipt', [hash])
    return receipt !== null
  })
  const included = receipt! as { blockNumber: Hex; blockHash: Hex; status: Hex }
  expect(included.status).toBe('0x1')
  const sealedSeen = Date.now()
  const number = BigInt(included.blockNumber)
  let slowest = 0
  await Promise.all(
    all.map(async (node) => {
      await waitFor(
        `block ${number} at ${node.rpcUrl}`,
        async () => (await blockAt(node, number))?.hash === included.blockHash,
        5_000,
      )
      slowest = Math.max(slowest, Date.now() - sealedSeen)
      expect(BigInt((await latest(node)).number)).toBeGreaterThanOrEqual(number)
    }),
  )
  return slowest
}

beforeAll(async () => {
  writeFileSync(genesisFile, JSON.stringify(devGenesis()))
  const p2pPort = await freePort()
  sequencer = await startNode({ blockTime: 1, extraArgs: ['--p2p.port', String(p2pPort)] })
  nodes.push(sequencer)
  const status = await p2pStatus(sequencer)
  bootnode = status.addresses[0]!
  expect(bootnode).toBe(`/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${status.peerId}`)
  followers = await Promise.all([startFollower(), startFollower(), startFollower()])
})

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {})
  for (const node of nodes.reverse()) await node.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

describe('p2p network of cairn nodes', () => {
  it('includes a transaction sent to any follower, and every follower serves the same latest head within a second', async () => {
    await waitFor('followers connected and following the sequencer', async () => {
      const head = BigInt((await latest(sequencer)).number)
      for (const node of followers) {
        if (BigInt(await rpc<Hex>(node.rpcUrl, 'net_peerCount')) < 1n) return false
        if (BigInt((await latest(node)).number) < head - 1n) return false
      }
      return head >= 2n
    })
    for (const via of followers) {
      const slowest = await sendAndCheckHeads(via, followers)
      expect(slowest, 'slowest follower to serve the block after the sequencer').toBeLessThan(1_000)
    }
    // The sequencer heard of the transactions only over gossip.
    expect(sequencer.logs()).toContain('published preconfirmed block')
  })

  it('a node started late catches up to the preconfirmed head over req/resp', async () => {
    const head = BigInt((await latest(sequencer)).number)
    expect(head).toBeGreaterThan(3n)
    const late = await startFollower()
    await waitFor('the late node at the head', async () => {
      const target = await latest(sequencer)
      const mine = await blockAt(late, BigInt(target.number))
      return mine?.hash === target.hash
    })
    expect(late.logs()).toContain('catching up over req/resp')
    // Everything it synced is the sequencer's chain, from the first block.
    expect((await blockAt(late, 1n))?.hash).toBe((await blockAt(sequencer, 1n))?.hash)
    followers.push(late)
  })

  it('penalizes and disconnects a peer that floods invalid transactions and forged blocks, while honest traffic goes on', async () => {
    const target = followers[0]!
    const targetStatus = await p2pStatus(target)
    const dir = mkdtempSync(join(tmp, 'attacker-'))
    const attacker = await P2PService.create({
      datadir: dir,
      port: 0,
      bootnodes: [targetStatus.addresses[0]!],
      maxPeers: 4,
      chainId: BigInt(CHAIN_ID),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      // The attacker takes anything: it is here to send, not to check.
      validators: { transaction: async () => 'ignore', block: async () => 'ignore' },
      discoveryIntervalMs: 60_000,
    })
    cleanups.push(() => attacker.stop())
    await attacker.start()
    await waitFor('the attacker connected to the follower', () =>
      attacker.peers().some((p) => p.peerId === targetStatus.peerId),
    )
    await waitFor('the follower on the tx topic', () => attacker.gossipPeers('tx') > 0)

    // A real block, re-signed by a key that is not the preconfer's.
    const rawBlock = await rpc<Hex>(sequencer.rpcUrl, 'debug_getRawBlock', ['latest'])
    const block = hexToBytes(rawBlock)
    const forged = signPreconfBlock(block, hexToBytes((await latest(sequencer)).hash), IMPOSTOR_KEY, BigInt(CHAIN_ID))
    await attacker.publishBlock(forged)
    for (let i = 0; i < 20; i++) {
      // Distinct garbage each time (gossip drops repeats by message id before validation).
      const garbage = new Uint8Array([0x02, 0xc0 + (i % 8), i, ...crypto.getRandomValues(new Uint8Array(40))])
      await attacker.publishTransaction(garbage).catch(() => 0)
    }

    await waitFor('the follower to ban the attacker', async () =>
      (await p2pStatus(target)).banned.some((b) => b.peer === attacker.peerId.toString()),
    )
    await waitFor(
      'the attacker disconnected from the follower',
      () => !attacker.peers().some((p) => p.peerId === targetStatus.peerId),
    )
    expect(target.logs()).toContain('banning misbehaving peer')
    // A ban holds: the follower drops the attacker's reconnection at the handshake.
    await attacker.connect(targetStatus.addresses[0]!).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 500))
    const peersOfTarget = (await p2pStatus(target)).peers.map((p) => p.peerId)
    expect(peersOfTarget).not.toContain(attacker.peerId.toString())

    // Honest traffic through the same follower goes on.
    const slowest = await sendAndCheckHeads(target, followers)
    expect(slowest).toBeLessThan(1_000)
    expect(BigInt(await rpc<Hex>(target.rpcUrl, 'net_peerCount'))).toBeGreaterThanOrEqual(1n)
  })
})
