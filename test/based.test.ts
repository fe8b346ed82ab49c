// Based mode end to end: the devnet's block producer is a `cairn node --based` that builds blocks from
// its own mempool and proposes them to the Inbox itself (no sequencer, no cairn-proposer); a follower
// derives the chain from L1 alone. When another proposer wins, the node's own unproposed blocks are
// replaced by the derived ones and it goes on proposing on top of the winner.
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { bytesToHex, toBlobs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import {
  batchChainProblem,
  firstDifference,
  type ProposedBatchEvent,
  proposeRawBatch,
  proposedBatches,
  sendTransfers,
  startTestDevnet,
  syncStatus,
  type TestDevnet,
  waitFor,
  waitForReceipts,
} from './src/devnet-helpers.ts'

describe('based devnet: cairn node --based proposes its own blocks, a follower derives them', () => {
  let devnet: TestDevnet
  const context = () => devnet.logTails()

  beforeAll(async () => {
    // Batches of several blocks (a late batch age, an anchor that moves every 16 L1 blocks), so the node
    // holds unproposed blocks most of the time and the rival below has a window to win.
    devnet = await startTestDevnet({
      basedNode: true,
      proposerArgs: ['--max-batch-age', '8'],
      sequencerArgs: ['--l1.anchor-interval', '16'],
    })
  })
  afterAll(async () => {
    await devnet?.cleanup()
  })

  /** Waits until both nodes hold the same blocks up to `block` as safe (derived from L1). */
  async function agreeUpTo(block: bigint): Promise<void> {
    const { info } = devnet
    for (const url of [info.l2.followers[0]!.rpc, info.l2.sequencer.rpc]) {
      await waitFor(
        `the safe head of ${url} to reach ${block}`,
        async () => (await syncStatus(url)).safe.number >= Number(block),
        { timeoutMs: 60_000, context },
      )
    }
    expect(await firstDifference(devnet.sequencerClient, devnet.followerClients[0]!, 0n, block)).toBeUndefined()
  }

  async function batchesCovering(block: bigint): Promise<ProposedBatchEvent[]> {
    return waitFor(
      `a BatchProposed covering L2 block ${block}`,
      async () => {
        const all = await proposedBatches(devnet.l1, devnet.info.contracts.inbox)
        return all.length > 0 && all.at(-1)!.lastBlockId >= block ? all : undefined
      },
      { timeoutMs: 60_000, context },
    )
  }

  it('includes transactions sent to the based node, proposes them from the node’s key, and the follower derives the same blocks', async () => {
    const { info } = devnet
    expect(info.basedNode).toBe(true)
    expect(info.basedMode).toBe(true)
    expect(devnet.proposer.running()).toBe(false) // no cairn-proposer process
    const { inboxAbi } = await import('@cairn/contracts')
    const config = await devnet.l1.readContract({
      address: info.contracts.inbox,
      abi: inboxAbi,
      functionName: 'getConfig',
    })
    expect(config.basedMode).toBe(true)

    const hashes = await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[3]!.privateKey, 8)
    const lastTxBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    const batches = await batchesCovering(lastTxBlock)
    expect(batchChainProblem(batches)).toBeUndefined()
    expect(batches.every((b) => b.proposer === info.accounts.proposer.address)).toBe(true)
    // The proposer's progress lives in the node's datadir.
    expect(existsSync(join(info.l2.sequencer.datadir, 'proposer', 'progress.json'))).toBe(true)
    expect(info.proposer.datadir).toBe(join(info.l2.sequencer.datadir, 'proposer'))

    await agreeUpTo(lastTxBlock)
    for (const hash of hashes) {
      expect((await devnet.followerClients[0]!.getTransactionReceipt({ hash })).status).toBe('success')
    }
  })

  it('replaces its own blocks with the winner’s when another proposer gets in first, and proposes on top of it', async () => {
    const { info } = devnet
    const { inboxAbi } = await import('@cairn/contracts')
    const lastProposed = async () =>
      (await devnet.l1.readContract({ address: info.contracts.inbox, abi: inboxAbi, functionName: 'getState' }))
        .lastBlockId
    // A rival (dev account 7) posts a one-block batch of garbage (by rule an empty block) while the node
    // holds preconfirmed blocks it has not proposed yet. The node may be proposing at the same moment,
    // so the rival waits for such a moment again after a lost race.
    // A newHeads subscriber sees the replacement: the header at the rival's height is announced again.
    const heads: { number: bigint; hash: string }[] = []
    const socket = new WebSocket(info.l2.sequencer.ws)
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    socket.on('message', (data) => {
      const message = JSON.parse(String(data))
      const header = message.params?.result
      if (header?.number !== undefined) heads.push({ number: BigInt(header.number), hash: header.hash })
    })
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))

    let rival: ProposedBatchEvent | undefined
    for (let attempt = 0; rival === undefined; attempt++) {
      await waitFor('an unproposed block on the based node', async () => {
        return (await devnet.sequencerClient.getBlockNumber()) > (await lastProposed()) + 1n
      })
      const blobs = [...toBlobs({ data: bytesToHex(randomBytes(2000)) })]
      rival = await proposeRawBatch(devnet, DEV_ACCOUNTS[7]!.privateKey, blobs, [{}]).catch((error: Error) => {
        if (attempt >= 5) throw error
        return undefined
      })
    }
    expect(rival.proposer).toBe(DEV_ACCOUNTS[7]!.address)

    // The node derives the rival's batch and replaces its own block at that height with the empty one.
    await waitFor(
      `the based node to derive the rival's block ${rival.firstBlockId}`,
      async () => (await syncStatus(info.l2.sequencer.rpc)).safe.number >= Number(rival!.lastBlockId),
      { timeoutMs: 60_000, context },
    )
    expect(devnet.sequencer.logs()).toContain('L1 replaced preconfirmed blocks')
    const replaced = await devnet.sequencerClient.getBlock({ blockNumber: rival.firstBlockId })
    expect(replaced.transactions).toEqual([])
    const announced = heads.filter((h) => h.number === rival!.firstBlockId)
    socket.close()
    // The node's own block there may predate the subscription; the last header announced at that height
    // must be the one that replaced it.
    expect(announced.at(-1)?.hash).toBe(replaced.hash)

    // It goes on: new transactions are included and proposed by the node, on top of the rival's batch.
    const hashes = await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[4]!.privateKey, 4)
    const lastTxBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    expect(lastTxBlock).toBeGreaterThan(rival.lastBlockId)
    const batches = await batchesCovering(lastTxBlock)
    expect(batchChainProblem(batches)).toBeUndefined()
    const after = batches.filter((b) => b.batchId > rival!.batchId)
    expect(after.length).toBeGreaterThan(0)
    expect(after.every((b) => b.proposer === info.accounts.proposer.address)).toBe(true)
    await agreeUpTo(lastTxBlock)
    for (const hash of hashes) {
      expect((await devnet.followerClients[0]!.getTransactionReceipt({ hash })).status).toBe('success')
    }
  })
})
