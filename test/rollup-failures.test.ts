// The rollup under faults, against real processes: an L1 reorg that drops a proposal, batches with
// garbage blobs and with invalid transactions posted straight to the Inbox (based mode), and kill -9
// of the proposer and of the follower in the middle of their work.
import { randomBytes } from 'node:crypto'
import { batchToBlobs } from '@cairn/batch'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { bytesToHex, type Hex, hexToBytes, parseEther, type PublicClient, toBlobs } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  batchChainProblem,
  firstDifference,
  proposedBatches,
  proposeRawBatch,
  rollbackL1,
  sendTransfers,
  startTestDevnet,
  stopProposerAndDrain,
  syncStatus,
  type TestDevnet,
  waitFor,
  waitForReceipts,
} from './src/devnet-helpers.ts'

describe('rollup under faults', () => {
  let devnet: TestDevnet
  const context = () => devnet.logTails()
  const sequencerRpc = () => devnet.info.l2.sequencer.rpc
  const followerRpc = () => devnet.info.l2.followers[0]!.rpc

  /** Waits until the follower's safe head reaches `block` and both nodes agree on every block up to it. */
  async function expectConverged(block: bigint, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `the follower's and the sequencer's safe heads to reach L2 block ${block}`,
      async () =>
        (await syncStatus(followerRpc())).safe.number >= Number(block) &&
        (await syncStatus(sequencerRpc())).safe.number >= Number(block),
      { timeoutMs, context },
    )
    const follower = devnet.followerClients[0]!
    const difference = await firstDifference(devnet.sequencerClient, follower, 0n, block)
    expect(difference, `the nodes differ at block ${difference?.number}`).toBeUndefined()
  }

  /** The proposals on canonical L1 form one chain and match the L2 blocks the nodes hold. */
  async function expectProposalsConsistent(): Promise<void> {
    const batches = await proposedBatches(devnet.l1, devnet.info.contracts.inbox)
    expect(batchChainProblem(batches)).toBeUndefined()
    // Every proposed block is the block the follower derived at that number (no block proposed twice,
    // which would shift every later block by the duplicate's length and change its timestamp).
    const follower = devnet.followerClients[0]!
    const safe = BigInt((await syncStatus(followerRpc())).safe.number)
    for (const batch of batches) {
      if (batch.lastBlockId > safe) break
      for (const [i, timestamp] of batch.blockTimestamps.entries()) {
        const block = await follower.getBlock({ blockNumber: batch.firstBlockId + BigInt(i) })
        expect(block.timestamp).toBe(timestamp)
      }
    }
  }

  beforeAll(async () => {
    // Based mode: the test posts batches from its own key next to the proposer. Finality 16 L1 blocks
    // behind, so the reorg below stays above finalized blocks.
    devnet = await startTestDevnet({ basedMode: true, slotsInAnEpoch: 8 })
  })
  afterAll(async () => {
    await devnet?.cleanup()
  })
  // A test that stops or kills the proposer and then fails must not leave the next test without one.
  afterEach(async () => {
    if (devnet !== undefined && !devnet.proposer.running()) await devnet.proposer.start()
  })

  it('re-proposes a batch an L1 reorg dropped; the follower rolls back and re-derives', async () => {
    const { info } = devnet
    const hashes = await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[3]!.privateKey, 6)
    const txBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    const proposal = await waitFor(
      `a proposal covering L2 block ${txBlock}`,
      async () => (await proposedBatches(devnet.l1, info.contracts.inbox)).find((b) => b.lastBlockId >= txBlock),
      { timeoutMs: 60_000, context },
    )
    // Let the follower derive it first, so the reorg takes something away from it.
    await waitFor(
      'the follower to derive the proposal',
      async () => (await syncStatus(followerRpc())).safe.number >= Number(proposal.lastBlockId),
      { timeoutMs: 30_000, context },
    )
    const dropped = await devnet.l1.getBlock({ blockNumber: proposal.l1BlockNumber })
    await rollbackL1(info.l1.rpc, proposal.l1BlockNumber - 1n)

    // The same L2 blocks are proposed again on the new L1 chain, once.
    const again = await waitFor(
      `batch ${proposal.batchId} to be proposed again`,
      async () => {
        const batches = await proposedBatches(devnet.l1, info.contracts.inbox)
        return batches.find((b) => b.batchId === proposal.batchId && b.lastBlockId >= txBlock)
      },
      { timeoutMs: 60_000, context },
    )
    expect(again.l1BlockNumber).toBeGreaterThanOrEqual(proposal.l1BlockNumber)
    expect((await devnet.l1.getBlock({ blockNumber: proposal.l1BlockNumber })).hash).not.toBe(dropped.hash)
    await expectConverged(again.lastBlockId)
    await expectProposalsConsistent()
    expect(devnet.followers[0]!.logs()).toContain('L1 reorg: rewinding derivation')
    for (const hash of hashes)
      expect((await devnet.followerClients[0]!.getTransactionReceipt({ hash })).status).toBe('success')
    // The prover, whose proofs in the dropped L1 blocks went with them, proves the re-proposed batch:
    // the canonical L1's Inbox verifies it, and the follower reports it.
    const { inboxAbi } = await import('@cairn/contracts')
    await waitFor(
      `the Inbox to verify batch ${again.batchId} after the reorg`,
      async () =>
        (await devnet.l1.readContract({ address: info.contracts.inbox, abi: inboxAbi, functionName: 'getState' }))
          .lastVerifiedBatchId >= again.batchId,
      { timeoutMs: 90_000, context },
    )
    const verified = await waitFor(
      `the follower's verified head to reach L2 block ${again.lastBlockId}`,
      async () => {
        const status = await syncStatus(followerRpc())
        return status.verified !== null && status.verified.number >= Number(again.lastBlockId) && status.verified
      },
      { timeoutMs: 30_000, context },
    )
    expect(verified.hash).toBe(
      (await devnet.followerClients[0]!.getBlock({ blockNumber: BigInt(verified.number) })).hash,
    )
  })

  it('derives empty blocks from garbage blobs and skips invalid transactions, on every node', async () => {
    const { info } = devnet
    // The proposer steps aside while the test proposes; everything it proposed lands and is derived first.
    await stopProposerAndDrain(devnet, { context })
    const before = await waitFor(
      'every proposal to be derived by both nodes',
      async () => {
        const last = (await proposedBatches(devnet.l1, info.contracts.inbox)).at(-1)!
        const [s, f] = await Promise.all([syncStatus(sequencerRpc()), syncStatus(followerRpc())])
        return s.safe.number === Number(last.lastBlockId) && f.safe.number === Number(last.lastBlockId) && last
      },
      { timeoutMs: 30_000, context },
    )
    const key = DEV_ACCOUNTS[5]!.privateKey

    // 1. Blobs that are not a batch: two blocks, empty by rule (anchor only), one with an odd gas limit.
    const garbage = await proposeRawBatch(
      devnet,
      key,
      [...toBlobs({ data: bytesToHex(randomBytes(3000)) })],
      [{}, { gasLimit: 100_000 }],
    )
    expect(garbage.firstBlockId).toBe(before.lastBlockId + 1n)

    // 2. A well-formed batch whose one block holds: bytes that are no transaction, a valid transfer,
    // the same transfer again (nonce used), a transfer from an unfunded key, a transaction for
    // another chain. Only the valid transfer may execute.
    // Signed locally: a wallet client would check the chain id against the node it talks to.
    const sign = (privateKey: Hex, chainId: number, nonce: number) =>
      privateKeyToAccount(privateKey).signTransaction({
        type: 'eip1559',
        chainId,
        to: DEV_ACCOUNTS[7]!.address,
        value: parseEther('1'),
        nonce,
        gas: 21_000n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1_000_000n,
      })
    const senderNonce = await devnet.followerClients[0]!.getTransactionCount({
      address: DEV_ACCOUNTS[6]!.address,
    })
    const valid = await sign(DEV_ACCOUNTS[6]!.privateKey, info.l2.chainId, senderNonce)
    const unfunded = await sign(bytesToHex(randomBytes(32)), info.l2.chainId, 0)
    const otherChain = await sign(DEV_ACCOUNTS[6]!.privateKey, 1, senderNonce + 1)
    const head = await devnet.l1.getBlock()
    const blobs = batchToBlobs({
      blocks: [
        {
          timestamp: head.timestamp,
          gasLimit: 60_000_000n,
          coinbase: hexToBytes(DEV_ACCOUNTS[5]!.address),
          anchorBlockNumber: head.number - 1n,
          transactions: [
            hexToBytes('0xdeadbeef'),
            hexToBytes(valid),
            hexToBytes(valid),
            hexToBytes(unfunded),
            hexToBytes(otherChain),
          ],
        },
      ],
    })
    const invalid = await proposeRawBatch(devnet, key, blobs, [{}])
    expect(invalid.firstBlockId).toBe(garbage.lastBlockId + 1n)

    await expectConverged(invalid.lastBlockId, 60_000)
    for (const client of [devnet.sequencerClient, devnet.followerClients[0]!]) {
      for (let n = garbage.firstBlockId; n <= garbage.lastBlockId; n++) {
        const block = await client.getBlock({ blockNumber: n })
        expect(block.transactions).toEqual([])
      }
      const block = await client.getBlock({ blockNumber: invalid.firstBlockId, includeTransactions: true })
      expect(block.transactions.map((tx) => tx.from.toLowerCase())).toEqual([DEV_ACCOUNTS[6]!.address.toLowerCase()])
      expect(block.transactions[0]!.nonce).toBe(senderNonce)
    }

    // The proposer comes back, proposes after the foreign batches, and the chain goes on.
    await devnet.proposer.start()
    const hashes = await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[4]!.privateKey, 5)
    const txBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context, timeoutMs: 60_000 })
    expect(txBlock).toBeGreaterThan(invalid.lastBlockId)
    await expectConverged(txBlock)
    await expectProposalsConsistent()
    // Both nodes kept serving throughout.
    expect(devnet.sequencer.running()).toBe(true)
    expect(devnet.followers[0]!.running()).toBe(true)
  })

  it('neither proposes twice nor diverges when the proposer is killed with a proposal in flight', async () => {
    const { info } = devnet
    const proposer = info.accounts.proposer.address
    const hashes = await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[3]!.privateKey, 8)
    // A proposal is in flight when the proposer's pending nonce on L1 is ahead of its mined one.
    const inFlight = await waitFor(
      'a proposal in flight',
      async () => {
        const [pending, mined] = await Promise.all([
          devnet.l1.getTransactionCount({ address: proposer, blockTag: 'pending' }),
          devnet.l1.getTransactionCount({ address: proposer, blockTag: 'latest' }),
        ])
        return pending > mined
      },
      { timeoutMs: 60_000, intervalMs: 20, context },
    )
    expect(inFlight).toBe(true)
    await devnet.proposer.kill()
    await new Promise((r) => setTimeout(r, 2_000))
    await devnet.proposer.start()

    const txBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    await waitFor(
      `proposals covering L2 block ${txBlock}`,
      async () => ((await proposedBatches(devnet.l1, info.contracts.inbox)).at(-1)?.lastBlockId ?? 0n) >= txBlock,
      { timeoutMs: 60_000, context },
    )
    await expectConverged(txBlock)
    await expectProposalsConsistent()
  })

  it('resumes without divergence when the follower is killed while deriving', async () => {
    const { info } = devnet
    const follower = devnet.followers[0]!
    const hashes = [
      ...(await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[8]!.privateKey, 10)),
      ...(await sendTransfers(sequencerRpc(), info.l2.chainId, DEV_ACCOUNTS[9]!.privateKey, 10)),
    ]
    // Kill it as soon as L1 has a proposal it has not derived yet.
    await waitFor(
      'a proposal the follower has not derived yet',
      async () => {
        const last = (await proposedBatches(devnet.l1, info.contracts.inbox)).at(-1)!
        return (await syncStatus(followerRpc())).safe.number < Number(last.lastBlockId)
      },
      { timeoutMs: 60_000, intervalMs: 50, context },
    )
    await follower.kill()
    const txBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    await follower.start()
    await waitFor(
      `proposals covering L2 block ${txBlock}`,
      async () => ((await proposedBatches(devnet.l1, info.contracts.inbox)).at(-1)?.lastBlockId ?? 0n) >= txBlock,
      { timeoutMs: 60_000, context },
    )
    await expectConverged(txBlock)
    await expectProposalsConsistent()
    for (const hash of hashes)
      expect((await (devnet.followerClients[0] as PublicClient).getTransactionReceipt({ hash })).status).toBe('success')
  })
})
