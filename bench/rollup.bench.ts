/**
 * The rollup loop measured on a real devnet (anvil L1, sequencer, proposer, follower):
 *   - L1 cost per L2 transaction: execution gas and blob gas of the proposals that carried the
 *     workload, and L2 transactions per blob;
 *   - follower derivation speed: the follower is stopped while the workload is sequenced and
 *     proposed, then restarted; the clock runs from its restart until its safe head holds the last
 *     proposed block (blocks/s and tx/s, blob fetch, decode and execution included).
 *   npx tsx bench/rollup.bench.ts [eth|erc20] [transactions]
 * Compression alone (transactions per blob for each codec against RLP + zlib) is
 * `npx tsx packages/batch/bench/batch.bench.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http, type PublicClient } from 'viem'
import { type ProposedBatchEvent, proposedBatches, startTestDevnet, syncStatus } from '../test/src/devnet-helpers.ts'
import { benchWorkload } from '../packages/executor/bench/workload.ts'
import { createPoster, runConcurrently } from './http-load.ts'

export interface RollupBenchResult {
  kind: 'eth' | 'erc20'
  txs: number
  batches: number
  blobs: number
  l2Blocks: number
  txPerBlob: number
  /** Proposal transactions' execution gas (`gasUsed`) per L2 transaction. */
  l1GasPerTx: number
  blobGasPerTx: number
  derivation: { seconds: number; blocksPerSecond: number; txPerSecond: number }
}

export async function benchRollup(kind: 'eth' | 'erc20', count: number): Promise<RollupBenchResult> {
  const { alloc, raws } = benchWorkload(kind, count)
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rollup-bench-'))
  const devnet = await startTestDevnet({
    dir,
    genesisAlloc: alloc,
    l2BlockTime: 1,
    logLevel: process.env.CAIRN_BENCH_LOG_LEVEL ?? 'warn',
    nodeArgs: ['--txpool.globalslots', String(count + 1000)],
    proposerArgs: ['--max-batch-age', '4'],
  })
  try {
    const follower = devnet.followers[0]!
    const followerRpc = devnet.info.l2.followers[0]!.rpc
    const sequencerRpc = devnet.info.l2.sequencer.rpc
    const startBlock = BigInt((await syncStatus(sequencerRpc)).latest.number)
    const batchesBefore = (await proposedBatches(devnet.l1, devnet.info.contracts.inbox)).length
    await follower.stop()

    const poster = createPoster(sequencerRpc, 16)
    try {
      await runConcurrently(raws.length, 16, 600, async (i) => {
        const response = await poster.post(
          `{"jsonrpc":"2.0","id":${i},"method":"eth_sendRawTransaction","params":["${raws[i]}"]}`,
        )
        if (!response.includes('"result"')) throw new Error(`transaction ${i} rejected: ${response}`)
      })
    } finally {
      poster.close()
    }
    const l2 = createPublicClient({ transport: http(sequencerRpc) }) as PublicClient
    const lastTxBlock = await waitUntil('every transaction to be included', 300, async () => {
      let included = 0
      const head = await l2.getBlockNumber()
      for (let n = startBlock + 1n; n <= head; n++) included += await l2.getBlockTransactionCount({ blockNumber: n })
      return included >= count ? head : undefined
    })
    const batches = await waitUntil('the workload to be proposed', 300, async () => {
      const all = await proposedBatches(devnet.l1, devnet.info.contracts.inbox)
      return (all.at(-1)?.lastBlockId ?? 0n) >= lastTxBlock ? all.slice(batchesBefore) : undefined
    })
    const cost = await proposalCost(devnet.l1, batches)

    const lastBlock = batches.at(-1)!.lastBlockId
    await follower.start()
    const fromBlock = BigInt((await syncStatus(followerRpc)).safe.number)
    const started = performance.now()
    await waitUntil('the follower to derive the workload', 600, async () =>
      (await syncStatus(followerRpc)).safe.number >= Number(lastBlock) ? true : undefined,
    )
    const seconds = (performance.now() - started) / 1000
    let derivedTxs = 0
    for (let n = fromBlock + 1n; n <= lastBlock; n++)
      derivedTxs += await l2.getBlockTransactionCount({ blockNumber: n })

    const blobs = batches.reduce((sum, b) => sum + b.blobHashes.length, 0)
    const l2Blocks = Number(lastBlock - batches[0]!.firstBlockId + 1n)
    return {
      kind,
      txs: count,
      batches: batches.length,
      blobs,
      l2Blocks,
      txPerBlob: count / blobs,
      l1GasPerTx: Number(cost.gasUsed) / count,
      blobGasPerTx: Number(cost.blobGasUsed) / count,
      derivation: {
        seconds,
        blocksPerSecond: Number(lastBlock - fromBlock) / seconds,
        txPerSecond: derivedTxs / seconds,
      },
    }
  } finally {
    await devnet.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function proposalCost(l1: PublicClient, batches: ProposedBatchEvent[]) {
  let gasUsed = 0n
  let blobGasUsed = 0n
  for (const batch of batches) {
    const receipt = await l1.getTransactionReceipt({ hash: batch.txHash })
    gasUsed += receipt.gasUsed
    blobGasUsed += receipt.blobGasUsed ?? 0n
  }
  return { gasUsed, blobGasUsed }
}

async function waitUntil<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export function formatRollupResult(r: RollupBenchResult): string[][] {
  const name = r.kind === 'eth' ? 'ETH' : 'ERC-20'
  return [
    [
      `rollup ${name}: L1 cost`,
      `${r.txPerBlob.toFixed(0)} tx/blob (${r.txs} tx, ${r.blobs} blobs, ${r.batches} batches, ${r.l2Blocks} L2 blocks); ` +
        `${r.l1GasPerTx.toFixed(1)} L1 gas + ${r.blobGasPerTx.toFixed(1)} blob gas per L2 tx`,
    ],
    [
      `rollup ${name}: follower derivation`,
      `${r.derivation.blocksPerSecond.toFixed(1)} blocks/s, ${r.derivation.txPerSecond.toFixed(0)} tx/s (${r.derivation.seconds.toFixed(1)} s)`,
    ],
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kinds = process.argv[2] === undefined ? (['eth', 'erc20'] as const) : [process.argv[2] as 'eth' | 'erc20']
  const count = Number(process.argv[3] ?? 4000)
  for (const kind of kinds) {
    for (const [name, value] of formatRollupResult(await benchRollup(kind, count))) console.log(`${name}  ${value}`)
  }
  process.exit(0)
}
