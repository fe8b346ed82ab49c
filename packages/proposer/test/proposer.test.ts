import { spawnSync } from 'node:child_process'
import { batchFromBlobs } from '@cairn/batch'
import { batchMetaHash, forcedInclusionStoreAbi } from '@cairn/contracts'
import { AnvilBlobSource, blobRequestForTransaction } from '@cairn/l1'
import { bytesToHex, createWalletClient, getAddress, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { L2Block, L2BlockSource } from '../src/l2-source.ts'
import {
  inboxState,
  type L1Env,
  MemoryL2,
  makeProposer,
  metricValue,
  PROPOSER_KEY,
  proposedBatches,
  startL1,
  tickUntil,
} from './harness.ts'

const progressStoreUrl = new URL('../src/progress-store.ts', import.meta.url).href
const proposerAddress = privateKeyToAccount(PROPOSER_KEY).address

describe('proposer on anvil with the deployed Inbox', () => {
  let env: L1Env
  const closers: (() => void)[] = []

  beforeEach(async () => {
    env = await startL1()
  })
  afterEach(async () => {
    for (const close of closers.splice(0)) close()
    await env?.stop()
  })

  it('proposes batches whose BatchProposed meta matches the blocks and whose blobs decode to the same transactions', async () => {
    const l2 = new MemoryL2()
    const head = await env.l1.getBlockNumber()
    await l2.add(4, head - 3n)
    await l2.add(6, head - 1n)
    const t = makeProposer(env, l2, { maxBatchBlocks: 4 })
    closers.push(() => t.progress.close())

    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 10n)
    await tickUntil(t.proposer, async () => t.progress.get().inFlight === undefined) // the last one confirmed

    const events = await proposedBatches(env)
    // Cut by anchor (blocks 1-4 | 5-10) and then by --max-batch-blocks 4 (5-8 | 9-10).
    expect(events.map((e) => [e.args.meta!.firstBlockId, e.args.meta!.blocks.length])).toEqual([
      [1n, 4],
      [5n, 4],
      [9n, 2],
    ])
    for (const event of events) {
      const meta = event.args.meta!
      expect(batchMetaHash(meta)).toBe(event.args.metaHash)
      expect(meta.proposer).toBe(proposerAddress)
      const source = l2.blocks.slice(Number(meta.firstBlockId) - 1, Number(meta.firstBlockId) - 1 + meta.blocks.length)
      expect(meta.anchorBlockId).toBe(source[0]!.anchorBlockNumber)
      expect(meta.blocks).toEqual(
        source.map((b) => ({ timestamp: b.timestamp, gasLimit: Number(b.gasLimit), coinbase: getAddress(b.coinbase) })),
      )
      const tx = await env.l1.getTransaction({ hash: event.transactionHash })
      expect(tx.type).toBe('eip4844')
      expect(meta.blobHashes).toEqual(tx.blobVersionedHashes)
      const blobs = await new AnvilBlobSource(env.anvil.rpcUrl).getBlobs(
        await blobRequestForTransaction(env.l1, event.transactionHash),
      )
      const decoded = batchFromBlobs(blobs)
      expect(decoded.ok).toBe(true)
      if (!decoded.ok) return
      expect(decoded.manifest.blocks.map((b) => b.transactions.map((x) => bytesToHex(x)))).toEqual(
        source.map((b) => b.transactions.map((x) => bytesToHex(x))),
      )
      expect(decoded.manifest.blocks.map((b) => b.anchorBlockNumber)).toEqual(source.map((b) => b.anchorBlockNumber))
    }
    expect(await metricValue(t.registry, 'cairn_proposer_batches_total')).toBe(3)
    expect(await metricValue(t.registry, 'cairn_proposer_blocks_total')).toBe(10)
    expect(await metricValue(t.registry, 'cairn_proposer_last_proposed_block')).toBe(10)
    expect(await metricValue(t.registry, 'cairn_proposer_l1_fees_wei_total', { kind: 'blob' })).toBeGreaterThan(0)
    expect(t.progress.get().inFlight).toBeUndefined()
    expect(t.progress.get().lastConfirmed?.lastBlock).toBe(10n)
  })

  it('waits for a partial batch until its oldest block reaches --max-batch-age', async () => {
    const l2 = new MemoryL2()
    const head = await env.l1.getBlockNumber()
    const now = BigInt(Math.floor(Date.now() / 1000))
    await l2.add(2, head - 1n, { timestamp: now })
    const t = makeProposer(env, l2, { maxBatchAgeSeconds: 3600 })
    closers.push(() => t.progress.close())
    for (let i = 0; i < 3; i++) await t.proposer.tick()
    expect((await inboxState(env)).lastBlockId).toBe(0n)
    expect(await proposedBatches(env)).toHaveLength(0)

    // A block anchored to a newer L1 block closes the first batch: it cannot grow any more.
    await l2.add(1, head, { timestamp: now })
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 2n)
  })

  it('consumes a due forced inclusion in its proposal', async () => {
    const user = createWalletClient({
      account: privateKeyToAccount('0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'),
      transport: http(env.anvil.rpcUrl),
    })
    const stored = await user.writeContract({
      chain: null,
      address: env.deployment.forcedInclusionStore,
      abi: forcedInclusionStoreAbi,
      functionName: 'storeForcedInclusion',
      args: ['0x02c0ffee'],
      value: 10n ** 15n,
    })
    expect((await env.l1.waitForTransactionReceipt({ hash: stored })).status).toBe('success')
    await env.rpc('anvil_mine', ['0x10'])
    const l2 = new MemoryL2()
    await l2.add(2, (await env.l1.getBlockNumber()) - 2n)
    const t = makeProposer(env, l2)
    closers.push(() => t.progress.close())
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 2n)
    const [event] = await proposedBatches(env)
    expect(event!.args.meta!.forcedInclusions).toHaveLength(1)
    expect(
      await env.l1.readContract({
        address: env.deployment.forcedInclusionStore,
        abi: forcedInclusionStoreAbi,
        functionName: 'pendingCount',
      }),
    ).toBe(0n)
  })

  it('does not propose twice after a restart with a proposal in flight', async () => {
    const l2 = new MemoryL2()
    const head = await env.l1.getBlockNumber()
    await l2.add(3, head - 2n)
    await l2.add(3, head - 1n)
    await env.rpc('evm_setAutomine', [false])

    const first = makeProposer(env, l2)
    await first.proposer.tick() // sends batch 1 (blocks 1-3); not mined yet
    const sent = first.progress.get().inFlight
    expect(sent?.attempts).toHaveLength(1)
    // "Crash": the first instance is dropped without closing anything; a new one opens the same datadir.
    const second = makeProposer(env, l2, { datadir: first.datadir })
    closers.push(() => second.progress.close())
    expect(second.progress.get().inFlight?.attempts[0]?.hash).toBe(sent!.attempts[0]!.hash)
    await second.proposer.tick() // the same proposal is still pending: nothing new is sent
    expect(await env.l1.getTransactionCount({ address: proposerAddress, blockTag: 'pending' })).toBe(1)

    await env.rpc('evm_mine')
    await env.rpc('evm_setAutomine', [true])
    await tickUntil(second.proposer, async () => (await inboxState(env)).lastBlockId === 6n)

    const events = await proposedBatches(env)
    expect(events.map((e) => [e.args.meta!.firstBlockId, e.args.meta!.blocks.length])).toEqual([
      [1n, 3],
      [4n, 3],
    ])
    expect(events[0]!.transactionHash).toBe(sent!.attempts[0]!.hash)
    expect(await env.l1.getTransactionCount({ address: proposerAddress })).toBe(2)
  })

  it('proposes again when an L1 reorg drops its proposal', async () => {
    const l2 = new MemoryL2()
    const head = await env.l1.getBlockNumber()
    await l2.add(3, head - 1n)
    const t = makeProposer(env, l2, { confirmations: 3 })
    closers.push(() => t.progress.close())
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 3n)
    const [dropped] = await proposedBatches(env)
    await t.proposer.tick() // sees it mined, waits for 3 confirmations

    await env.rpc('anvil_rollback', [1])
    expect((await inboxState(env)).lastBlockId).toBe(0n)
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 3n)
    await env.rpc('anvil_mine', ['0x3'])
    await tickUntil(t.proposer, async () => t.progress.get().inFlight === undefined)

    const events = await proposedBatches(env)
    expect(events).toHaveLength(1)
    expect(events[0]!.args.meta!.firstBlockId).toBe(1n)
    expect(events[0]!.blockNumber).toBe(dropped!.blockNumber)
    expect(await metricValue(t.registry, 'cairn_proposer_reorgs_total')).toBe(1)
    expect(await metricValue(t.registry, 'cairn_proposer_batches_total')).toBe(1)
    expect(t.progress.get().lastConfirmed?.txHash).toBe(events[0]!.transactionHash)
  })

  it('replaces a stuck proposal with bumped fees and the same nonce', async () => {
    const l2 = new MemoryL2()
    await l2.add(2, (await env.l1.getBlockNumber()) - 1n)
    await env.rpc('evm_setAutomine', [false])
    const t = makeProposer(env, l2, { resubmitAfterBlocks: 2, feeBumpPercent: 100 })
    closers.push(() => t.progress.close())
    await t.proposer.tick()
    const first = t.progress.get().inFlight!.attempts[0]!

    // The L1 base fee jumps far above the proposal's fee cap: blocks keep coming without it.
    const high = first.maxFeePerGas * 20n
    for (let i = 0; i < 2; i++) {
      await env.rpc('anvil_setNextBlockBaseFeePerGas', [`0x${high.toString(16)}`])
      await env.rpc('evm_mine')
    }
    expect((await inboxState(env)).lastBlockId).toBe(0n)
    await t.proposer.tick() // stuck for 2 blocks: replaced
    const attempts = t.progress.get().inFlight!.attempts
    expect(attempts).toHaveLength(2)
    const second = attempts[1]!
    expect(second.hash).not.toBe(first.hash)
    // +100% on every cap (what geth's and reth's blob pools demand), and above the new base fee.
    expect(second.maxPriorityFeePerGas).toBeGreaterThanOrEqual(first.maxPriorityFeePerGas * 2n)
    expect(second.maxFeePerGas).toBeGreaterThanOrEqual(first.maxFeePerGas * 2n)
    expect(second.maxFeePerGas).toBeGreaterThan(high)
    expect(second.maxFeePerBlobGas).toBeGreaterThanOrEqual(first.maxFeePerBlobGas * 2n)

    await env.rpc('evm_mine')
    await tickUntil(t.proposer, async () => t.progress.get().inFlight === undefined)
    const [event] = await proposedBatches(env)
    expect(event!.transactionHash).toBe(second.hash)
    const mined = await env.l1.getTransaction({ hash: second.hash })
    expect(mined.nonce).toBe(0)
    expect(await metricValue(t.registry, 'cairn_proposer_resubmissions_total')).toBe(1)
    expect(await env.l1.getTransactionCount({ address: proposerAddress })).toBe(1)
  })

  it('waits and re-reads the Inbox when another proposer wins the race', async () => {
    const l2 = new MemoryL2()
    await l2.add(2, (await env.l1.getBlockNumber()) - 1n)
    const t = makeProposer(env, l2)
    closers.push(() => t.progress.close())
    // Batch 1 is proposed by a competitor running its own proposer (same key, its own datadir).
    const rival = makeProposer(env, l2)
    closers.push(() => rival.progress.close())
    await tickUntil(rival.proposer, async () => (await inboxState(env)).lastBlockId === 2n)

    await l2.add(2, await env.l1.getBlockNumber())
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 4n)
    const events = await proposedBatches(env)
    expect(events.map((e) => e.args.meta!.firstBlockId)).toEqual([1n, 3n])
    expect(events[1]!.args.meta!.parentMetaHash).toBe(events[0]!.args.metaHash)
  })

  it('does not propose its own blocks after another proposer won, until derivation replaced them', async () => {
    const anchor = (await env.l1.getBlockNumber()) - 1n
    // The rival's blocks 1-2 land on L1 first.
    const theirs = new MemoryL2('c')
    await theirs.add(2, anchor)
    const rival = makeProposer(env, theirs)
    closers.push(() => rival.progress.close())
    await tickUntil(rival.proposer, async () => (await inboxState(env)).lastBlockId === 2n)

    // Our node preconfirmed its own blocks 1-4 and has not derived the rival's batch yet.
    const ours = new MemoryL2('b')
    await ours.add(4, anchor)
    const node = new DerivingNode(ours)
    const t = makeProposer(env, node)
    closers.push(() => t.progress.close())
    for (let i = 0; i < 3; i++) await t.proposer.tick()
    expect((await inboxState(env)).lastBlockId).toBe(2n)

    // Derivation caught up but (as seen by the proposer's cached reads) block 3 still builds on our block 2.
    node.derived = 2n
    node.derivedHashes.set(2n, theirs.blocks[1]!.hash)
    for (let i = 0; i < 2; i++) await t.proposer.tick()
    expect((await inboxState(env)).lastBlockId).toBe(2n)
    expect(
      await metricValue(t.registry, 'cairn_proposer_failures_total', { reason: 'not_on_proposed_chain' }),
    ).toBeGreaterThan(0)

    // Derivation replaced blocks 1-2 with the rival's and the node rebuilt 3-4 on them: those are proposed.
    const rebuilt = new MemoryL2('d')
    rebuilt.blocks.push(...theirs.blocks)
    await rebuilt.add(2, anchor)
    node.chain = rebuilt
    node.derivedHashes.clear()
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 4n)
    const events = await proposedBatches(env)
    expect(events.map((e) => e.args.meta!.firstBlockId)).toEqual([1n, 3n])
    expect(events[1]!.args.meta!.blocks.map((b) => b.timestamp)).toEqual(
      rebuilt.blocks.slice(2).map((b) => b.timestamp),
    )
  })

  it('proposes the blocks a node rebuilt after dropping ones whose anchor left the window', async () => {
    const anchor = (await env.l1.getBlockNumber()) - 1n
    const stale = new MemoryL2('b')
    await stale.add(3, anchor)
    const node = new DerivingNode(stale)
    const t = makeProposer(env, node)
    closers.push(() => t.progress.close())

    // The proposer was away for longer than the Inbox's anchorWindow (64 in local.json).
    await env.rpc('anvil_mine', ['0x46'])
    await t.proposer.tick()
    expect((await inboxState(env)).lastBlockId).toBe(0n)
    expect(await metricValue(t.registry, 'cairn_proposer_failures_total', { reason: 'anchor_out_of_window' })).toBe(1)

    // The node dropped them and built two new blocks with a current anchor at the same numbers: fewer
    // than the proposer had read, so the new ones must not be taken for the old ones.
    const fresh = new MemoryL2('e')
    await fresh.add(2, (await env.l1.getBlock()).number - 1n)
    node.chain = fresh
    await tickUntil(t.proposer, async () => (await inboxState(env)).lastBlockId === 2n)
    const [event] = await proposedBatches(env)
    expect(event!.args.meta!.anchorBlockId).toBe(fresh.blocks[0]!.anchorBlockNumber)
    expect(event!.args.meta!.blocks.map((b) => b.timestamp)).toEqual(fresh.blocks.map((b) => b.timestamp))
  })

  it('refuses a second proposer on the same datadir', async () => {
    const t = makeProposer(env, new MemoryL2())
    closers.push(() => t.progress.close())
    const other = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${progressStoreUrl}').then((m) => m.ProgressStore.open(${JSON.stringify(t.datadir)}))`,
      ],
      { encoding: 'utf8' },
    )
    expect(other.status).not.toBe(0)
    expect(other.stderr).toMatch(/DATADIR_LOCKED|Another proposer/)
  })
})

/** A based node's view: its preconfirmed chain, and how far derivation has confirmed it from L1. */
class DerivingNode implements L2BlockSource {
  derived = 0n
  /** Hashes derivation holds that differ from `chain`'s (the moment before the node's chain is replaced). */
  readonly derivedHashes = new Map<bigint, `0x${string}`>()
  constructor(public chain: MemoryL2) {}
  headNumber(): Promise<bigint> {
    return this.chain.headNumber()
  }
  blockByNumber(number: bigint): Promise<L2Block | undefined> {
    return this.chain.blockByNumber(number)
  }
  async derivedHash(number: bigint): Promise<`0x${string}` | undefined> {
    if (number > this.derived) return undefined
    if (number === 0n) return `0x${'00'.repeat(32)}`
    return this.derivedHashes.get(number) ?? this.chain.blocks[Number(number) - 1]?.hash
  }
}
