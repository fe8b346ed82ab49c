// The TEE prover end to end: on a devnet (TEE-only policy), cairn-prover-tee registers its instance
// key with the stub attestation, proves every proposed batch from the follower's witnesses, and the
// verified head on the follower follows. Killed with SIGKILL in the middle of its work and started
// again, it neither sends a second proof for a batch nor stalls.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { type Address, decodeFunctionData, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  proposedBatches,
  sendTransfers,
  startTestDevnet,
  syncStatus,
  type TestDevnet,
  waitFor,
  waitForReceipts,
} from './src/devnet-helpers.ts'

describe('cairn-prover-tee on the devnet', () => {
  let devnet: TestDevnet
  const context = () => devnet.logTails()
  const followerRpc = () => devnet.info.l2.followers[0]!.rpc

  beforeAll(async () => {
    devnet = await startTestDevnet({ followers: 1, proverArgs: ['--poll-interval', '0.5'] })
  })
  afterAll(async () => {
    await devnet?.cleanup()
  })

  /** Waits until the follower's verified head covers `block`; returns it. */
  async function verifiedAtLeast(block: bigint, timeoutMs = 60_000) {
    return waitFor(
      `the follower's verified head to reach L2 block ${block}`,
      async () => {
        const status = await syncStatus(followerRpc())
        return status.verified !== null && BigInt(status.verified.number) >= block ? status : undefined
      },
      { timeoutMs, context },
    )
  }

  /** The batch that holds L2 block `block`, once proposed. */
  async function batchHolding(block: bigint) {
    return waitFor(
      `a proposed batch holding L2 block ${block}`,
      async () =>
        (await proposedBatches(devnet.l1, devnet.info.contracts.inbox)).find(
          (b) => b.firstBlockId <= block && block <= b.lastBlockId,
        ),
      { timeoutMs: 60_000, context },
    )
  }

  it('registers an instance key in its datadir and proves batches until the verified head passes them', async () => {
    const { info } = devnet
    expect(info.prover?.address).toBe(DEV_ACCOUNTS[3]!.address)
    const hashes = await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[5]!.privateKey, 4)
    const lastTxBlock = await waitForReceipts(devnet.sequencerClient, hashes, { timeoutMs: 30_000, context })
    const batch = await batchHolding(lastTxBlock)
    const status = await verifiedAtLeast(batch.lastBlockId)
    expect(statSync(join(info.prover!.datadir, 'instance.key')).mode & 0o777).toBe(0o600)

    // The verified block is the follower's own block (derived from L1), at or below its safe head.
    const verified = status.verified!
    expect(verified.number).toBeLessThanOrEqual(status.safe.number)
    const block = await devnet.followerClients[0]!.getBlock({ blockNumber: BigInt(verified.number) })
    expect(verified.hash).toBe(block.hash)
    expect(verified.stateRoot).toBe(block.stateRoot)

    // The Inbox took the proofs from this prover, and checkpointed the same block.
    const { inboxAbi, teeVerifierAbi } = await import('@cairn/contracts')
    const proven = await devnet.l1.getContractEvents({
      address: info.contracts.inbox,
      abi: inboxAbi,
      eventName: 'BatchProven',
      fromBlock: BigInt(info.l1.startBlock),
    })
    expect(proven.length).toBeGreaterThan(0)
    expect(proven.every((e) => e.args.prover === info.prover!.address)).toBe(true)
    const checkpoint = await devnet.l1.readContract({
      address: info.contracts.inbox,
      abi: inboxAbi,
      functionName: 'getCheckpoint',
      args: [BigInt(verified.number)],
    })
    expect(checkpoint.blockHash).toBe(block.hash)
    const registered = await devnet.l1.getContractEvents({
      address: info.contracts.teeVerifier,
      abi: teeVerifierAbi,
      eventName: 'InstanceRegistered',
      fromBlock: BigInt(info.l1.startBlock),
    })
    expect(registered).toHaveLength(1)
  })

  it('restarts after kill -9 mid-work without a second proof of any batch and without stalling', async () => {
    const { info } = devnet
    const hashes = await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[6]!.privateKey, 4)
    const lastTxBlock = await waitForReceipts(devnet.sequencerClient, hashes, { timeoutMs: 30_000, context })
    const batch = await batchHolding(lastTxBlock)
    // Kill it as soon as it is working on that batch (its proof built or sent), not before.
    const logStart = devnet.prover.logs().length
    await waitFor(
      `the prover to work on batch ${batch.batchId}`,
      async () =>
        devnet.prover
          .logs()
          .slice(logStart)
          .split('\n')
          .some((line) => /"batchId":"?\d+/.test(line) && /batch proven|proof sent/.test(line)),
      { timeoutMs: 60_000, intervalMs: 20, context },
    )
    await devnet.prover.kill()
    await devnet.prover.start()
    await verifiedAtLeast(batch.lastBlockId)

    // Every transaction the prover sent succeeded, and no batch was proven twice.
    const { inboxAbi } = await import('@cairn/contracts')
    const sent = await transactionsFrom(devnet, info.prover!.address, BigInt(info.l1.startBlock))
    expect(sent.length).toBeGreaterThan(1)
    const reverted = sent.filter((t) => t.status !== 'success')
    expect(reverted, `reverted: ${reverted.map((t) => t.hash).join(', ')}`).toEqual([])
    const provenIds: bigint[] = []
    for (const t of sent) {
      if (t.to?.toLowerCase() !== info.contracts.inbox.toLowerCase()) continue
      const call = decodeFunctionData({ abi: inboxAbi, data: t.input })
      if (call.functionName === 'proveBatches') provenIds.push(...(call.args[0] as readonly bigint[]))
    }
    expect(provenIds).toContain(batch.batchId)
    expect(new Set(provenIds).size).toBe(provenIds.length)
    // The restart reused the instance key and its registration.
    expect(readFileSync(join(info.prover!.datadir, 'instance.key'), 'utf8')).toMatch(/^0x[0-9a-f]{64}\n$/)
  })
})

/** Every transaction `from` sent since `fromBlock`, with its receipt status. */
async function transactionsFrom(devnet: TestDevnet, from: Address, fromBlock: bigint) {
  const head = await devnet.l1.getBlockNumber()
  const found: { hash: Hex; to: Address | null; input: Hex; status: string }[] = []
  for (let n = fromBlock; n <= head; n++) {
    const block = await devnet.l1.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase()) continue
      const receipt = await devnet.l1.getTransactionReceipt({ hash: tx.hash })
      found.push({ hash: tx.hash, to: tx.to, input: tx.input, status: receipt.status })
    }
  }
  return found
}
