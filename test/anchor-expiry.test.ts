// Liveness when the proposer is away longer than the Inbox's anchorWindow, against real processes and a
// real anvil L1: preconfirmed blocks whose anchor left the window can never be proposed, so every node
// drops them back to its safe head, the sequencer builds new blocks with their transactions, and a
// restarted proposer (whose progress file still names the dropped blocks) proposes those.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inboxAbi } from '@cairn/contracts'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { bytesToHex, type Hex, type PublicClient } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '@cairn/anvil'
import {
  batchChainProblem,
  firstDifference,
  proposedBatches,
  rpcCall,
  sendTransfers,
  startTestDevnet,
  stopProposerAndDrain,
  syncStatus,
  type TestDevnet,
  waitFor,
  waitForReceipts,
} from './src/devnet-helpers.ts'

const REWIND_LOG = 'unsafe blocks can no longer be proposed'

describe('unsafe blocks whose anchor left the Inbox window', () => {
  let devnet: TestDevnet
  let anchorWindow: bigint
  const metricsPorts = { sequencer: 0, follower: 0 }
  const context = () => devnet.logTails()
  const sequencerRpc = () => devnet.info.l2.sequencer.rpc
  const followerRpc = () => devnet.info.l2.followers[0]!.rpc
  const follower = () => devnet.followerClients[0] as PublicClient
  const sequencerPid = () => devnet.sequencer.pid!

  /** The sequencer's and the follower's `cairn_derivation_unsafe_rewinds_total{reason="anchor_expired"}`. */
  async function expiryRewinds(node: 'sequencer' | 'follower'): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPorts[node]}/metrics`)).text()
    const line = text
      .split('\n')
      .find((l) => l.startsWith('cairn_derivation_unsafe_rewinds_total{reason="anchor_expired"}'))
    return line === undefined ? 0 : Number(line.split(' ').at(-1))
  }

  /** The L1 block an L2 block anchors to (header extraData, 8 bytes). */
  async function anchorOf(client: PublicClient, number: bigint): Promise<bigint> {
    return BigInt((await client.getBlock({ blockNumber: number })).extraData)
  }

  /** Stops the proposer, lets what it sent land and both nodes derive it; returns the last proposed L2 block. */
  async function stopProposerAndSettle(): Promise<{ number: bigint; hash: Hex }> {
    const { info } = devnet
    await stopProposerAndDrain(devnet, { context })
    return waitFor(
      'every proposal to be derived by both nodes',
      async () => {
        const state = await devnet.l1.readContract({
          address: info.contracts.inbox,
          abi: inboxAbi,
          functionName: 'getState',
        })
        const [s, f] = await Promise.all([syncStatus(sequencerRpc()), syncStatus(followerRpc())])
        const last = Number(state.lastBlockId)
        return s.safe.number === last && f.safe.number === last && { number: state.lastBlockId, hash: s.safe.hash }
      },
      { timeoutMs: 30_000, context },
    )
  }

  /** Mines L1 blocks until the head is `target` (anvil also mines one a second on its own). */
  async function mineTo(target: bigint): Promise<void> {
    const head = await devnet.l1.getBlockNumber()
    if (target > head) await rpcCall(devnet.info.l1.rpc, 'anvil_mine', [`0x${(target - head).toString(16)}`])
  }

  /** Waits until both nodes' safe heads reach `block` and they agree on every block up to it. */
  async function expectConverged(block: bigint): Promise<void> {
    await waitFor(
      `both nodes' safe heads to reach L2 block ${block}`,
      async () =>
        (await syncStatus(followerRpc())).safe.number >= Number(block) &&
        (await syncStatus(sequencerRpc())).safe.number >= Number(block),
      { timeoutMs: 90_000, context },
    )
    const difference = await firstDifference(devnet.sequencerClient, follower(), 0n, block)
    expect(difference, `the nodes differ at block ${difference?.number}`).toBeUndefined()
  }

  beforeAll(async () => {
    metricsPorts.sequencer = await freePort()
    metricsPorts.follower = await freePort()
    devnet = await startTestDevnet({
      startProver: false,
      sequencerArgs: ['--metrics.port', String(metricsPorts.sequencer)],
      followerArgs: ['--metrics.port', String(metricsPorts.follower)],
    })
    const config = await devnet.l1.readContract({
      address: devnet.info.contracts.inbox,
      abi: inboxAbi,
      functionName: 'getConfig',
    })
    anchorWindow = BigInt(config.anchorWindow)
  })
  afterAll(async () => {
    await devnet?.cleanup()
  })
  // A failed test must not leave the sequencer stopped or the next test without a proposer.
  afterEach(async () => {
    if (devnet?.sequencer.running()) process.kill(sequencerPid(), 'SIGCONT')
    if (devnet !== undefined && !devnet.proposer.running()) await devnet.proposer.start()
  })

  it('keeps preconfirmed blocks a proposer back within the window can still propose', async () => {
    const { info } = devnet
    const safe = await stopProposerAndSettle()
    const [hash] = await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[4]!.privateKey, 1)
    const txBlock = await waitForReceipts(devnet.sequencerClient, [hash!], { context })
    const preconfirmed = await devnet.sequencerClient.getTransactionReceipt({ hash: hash! })
    // The outage ends 30 L1 blocks before the oldest unsafe block's anchor leaves the window.
    const oldestAnchor = await anchorOf(devnet.sequencerClient, safe.number + 1n)
    await mineTo(oldestAnchor + anchorWindow - 30n)
    await devnet.proposer.start()

    await expectConverged(txBlock)
    const receipt = await follower().getTransactionReceipt({ hash: hash! })
    expect(receipt.blockHash).toBe(preconfirmed.blockHash)
    expect(await expiryRewinds('sequencer')).toBe(0)
    expect(await expiryRewinds('follower')).toBe(0)
    expect(devnet.sequencer.logs()).not.toContain(REWIND_LOG)
  })

  it('drops them after a longer outage, re-sequences their transactions and proposes the new blocks', async () => {
    const { info } = devnet
    const safe = await stopProposerAndSettle()
    const [hash] = await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[5]!.privateKey, 1)
    const txBlock = await waitForReceipts(devnet.sequencerClient, [hash!], { context })
    const preconfirmed = await devnet.sequencerClient.getTransactionReceipt({ hash: hash! })
    // The follower has the same preconfirmed block over p2p.
    await waitFor(
      `the follower to import preconfirmed block ${txBlock}`,
      async () =>
        (
          await follower()
            .getBlock({ blockNumber: txBlock })
            .catch(() => undefined)
        )?.hash === preconfirmed.blockHash,
      { timeoutMs: 30_000, context },
    )
    const blockFilter = await rpcCall<Hex>(followerRpc(), 'eth_newBlockFilter')

    // The sequencer freezes (no p2p, no blocks), so the follower has to find the expiry on its own.
    process.kill(sequencerPid(), 'SIGSTOP')
    const oldestAnchor = await anchorOf(follower(), safe.number + 1n)
    await mineTo(oldestAnchor + anchorWindow + 3n)
    const rewound = await waitFor(
      `the follower to drop its unsafe blocks back to safe block ${safe.number}`,
      async () => {
        const status = await syncStatus(followerRpc())
        return status.latest.hash === safe.hash && status
      },
      { timeoutMs: 30_000, context },
    )
    expect(rewound.safe.hash).toBe(safe.hash)
    expect(await expiryRewinds('follower')).toBeGreaterThanOrEqual(1)
    const warning = devnet.followers[0]!.logs()
      .split('\n')
      .find((line) => line.includes(REWIND_LOG))
    expect(warning, 'the follower logs the rewind').toBeDefined()
    expect(JSON.parse(warning!)).toMatchObject({
      level: 40,
      block: Number(safe.number + 1n),
      anchorBlockId: Number(oldestAnchor),
      anchorWindow: Number(anchorWindow),
    })
    expect(JSON.parse(warning!).l1Head).toBeGreaterThan(Number(oldestAnchor + anchorWindow) - 1)
    // newHeads (here a block filter) reports the head the rewind landed on.
    expect(await rpcCall<Hex[]>(followerRpc(), 'eth_getFilterChanges', [blockFilter])).toContain(safe.hash)
    // The transaction is back in the follower's pool, in no block.
    const pooled = await follower().getTransaction({ hash: hash! })
    expect(pooled.blockNumber).toBeNull()

    // The sequencer resumes, drops the same blocks and builds new ones with a current anchor.
    process.kill(sequencerPid(), 'SIGCONT')
    const resequenced = await waitFor(
      'the sequencer to include the transfer again in a new block',
      async () => {
        const receipt = await devnet.sequencerClient.getTransactionReceipt({ hash: hash! }).catch(() => undefined)
        return receipt !== undefined && receipt.blockHash !== preconfirmed.blockHash && receipt
      },
      { timeoutMs: 60_000, context },
    )
    expect(resequenced.status).toBe('success')
    expect(devnet.sequencer.logs()).toContain(REWIND_LOG)
    expect(await expiryRewinds('sequencer')).toBeGreaterThanOrEqual(1)
    expect(await anchorOf(devnet.sequencerClient, safe.number + 1n)).toBeGreaterThan(oldestAnchor + anchorWindow)

    // The proposer comes back with a proposal in flight for the dropped blocks in its progress file
    // (written, never broadcast): it sends the new blocks in its place.
    const progressFile = join(info.proposer.datadir, 'progress.json')
    const progress = JSON.parse(readFileSync(progressFile, 'utf8'))
    const nonce = await devnet.l1.getTransactionCount({ address: info.accounts.proposer.address })
    const state = await devnet.l1.readContract({
      address: info.contracts.inbox,
      abi: inboxAbi,
      functionName: 'getState',
    })
    progress.inFlight = {
      nonce,
      firstBlock: `${safe.number + 1n}n`,
      lastBlock: `${txBlock}n`,
      numBlobs: 1,
      parentMetaHash: state.lastMetaHash,
      attempts: [
        {
          hash: bytesToHex(randomBytes(32)),
          maxFeePerGas: '1000000000n',
          maxPriorityFeePerGas: '1000000000n',
          maxFeePerBlobGas: '1000000000n',
          sentAtL1Block: `${await devnet.l1.getBlockNumber()}n`,
        },
      ],
    }
    writeFileSync(progressFile, JSON.stringify(progress, null, 2))
    await devnet.proposer.start()

    const batch = await waitFor(
      `a proposal covering L2 block ${resequenced.blockNumber}`,
      async () =>
        (await proposedBatches(devnet.l1, info.contracts.inbox)).find((b) => b.lastBlockId >= resequenced.blockNumber),
      { timeoutMs: 60_000, context },
    )
    expect(batch.anchorBlockId).toBeGreaterThan(oldestAnchor + anchorWindow)
    expect(batchChainProblem(await proposedBatches(devnet.l1, info.contracts.inbox))).toBeUndefined()
    expect(devnet.proposer.logs()).toContain('sending the proposal again with higher fees')

    await expectConverged(resequenced.blockNumber)
    const derived = await follower().getTransactionReceipt({ hash: hash! })
    expect(derived.blockHash).toBe(resequenced.blockHash)
    expect(derived.status).toBe('success')
    const [s, f] = await Promise.all([syncStatus(sequencerRpc()), syncStatus(followerRpc())])
    expect(s.safe.number).toBeGreaterThanOrEqual(Number(resequenced.blockNumber))
    expect(f.safe.number).toBeGreaterThanOrEqual(Number(resequenced.blockNumber))
  }, 240_000)
})
