/**
 * End-to-end throughput through a running `cairn node`: pre-signed transfers from many senders
 * are sent with eth_sendRawTransaction over keep-alive HTTP, and the clock stops when the node
 * reports the block that includes the last of them.
 *   npx tsx bench/e2e.bench.ts [eth|erc20] [transactions] [transactions per JSON-RPC batch request]
 * CAIRN_BENCH_WARMUP=N first sends N more transactions and waits for their blocks, outside the timing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devGenesis, toQuantity } from '@cairn/primitives'
import {
  mainThreadCpuMicros,
  mainThreadRunQueueMicros,
  peakRssMebibytes,
  processCpuMicros,
  threadCpuLines,
  threadCpuMicros,
} from '../packages/executor/bench/cpu.ts'
import { type BenchWorkload, benchWorkload } from '../packages/executor/bench/workload.ts'
import { startNode } from '../test/src/node-process.ts'
import { createPoster, createRpcCaller, percentiles, runConcurrently } from './http-load.ts'

export interface E2eBenchResult {
  kind: 'eth' | 'erc20'
  txs: number
  seconds: number
  txPerSecond: number
  /** How fast eth_sendRawTransaction accepted them. */
  acceptedPerSecond: number
  /**
   * From the first send until the first block holding the run's transactions was seen: the wait for
   * the sequencer's next 1 s tick (between 0 and 1 s whatever the node's speed), then that block's build.
   */
  firstBlockSeconds: number
  /** Blocks the run's transactions went into. */
  blocks: number
  /**
   * Transactions of the blocks after the first over the time between the first block and the last
   * (undefined with one block): the rate the node keeps once building, without the first tick's wait.
   */
  afterFirstBlockTxPerSecond: number | undefined
  /**
   * CPU time of the node's main thread per transaction, admission and execution together: the
   * thread that bounds throughput, and a figure that other load on the machine inflates little.
   */
  mainThreadMicrosPerTx: number
  /**
   * The share of the run the node's main thread spent runnable but waiting for a core (the load
   * generator, the node's other threads and the collector's helpers share the machine's cores).
   */
  mainThreadWaitShare: number
  /** CPU time of the whole node process (all its threads) per transaction. */
  nodeMicrosPerTx: number
  /** CPU time of this process (the load generator, sharing the machine with the node) per transaction sent. */
  clientMicrosPerTx: number
  /** The node's CPU per transaction, thread by thread (see threadCpuLines). */
  threads: string[]
  /** The node process's peak resident memory (VmHWM) at the end of the run, in MiB. */
  peakRssMebibytes: number
  /**
   * How long the node took to answer `eth_blockNumber` while it admitted and built the run's
   * transactions (the bench polls it every 20 ms to follow blocks), in milliseconds: what an RPC
   * user waits while the node is under load.
   */
  headPollMillis: { p50: number; p99: number; max: number }
}

/**
 * The bench chain's block gas limit. The dev genesis's 60M, one block a second, caps the chain at
 * 2,857 ETH transfers/s (~1,170 ERC-20): on a fast enough machine that cap, not the node, bounded
 * the figure, with every block full. This one is far above what the node builds in a second, so
 * what is measured is the node.
 */
const BENCH_BLOCK_GAS_LIMIT = 300_000_000n
/**
 * Clients sending at once, each waiting for its answer before the next. With the RPC on its own
 * thread a call crosses two more threads, and at 32 clients the node's main thread sat idle part
 * of the time, waiting for requests.
 */
const CONCURRENCY = Number(process.env.CAIRN_BENCH_CONCURRENCY ?? 64)

export async function benchEndToEnd(
  kind: 'eth' | 'erc20',
  count: number,
  options: {
    nodeArgs?: string[]
    /** Transactions per HTTP request, as a JSON-RPC batch (1: one eth_sendRawTransaction per request). */
    batch?: number
    /**
     * Transactions sent and included first, outside the timing: the node's code is compiled and
     * its caches filled by them, as in a node that has been running.
     */
    warmup?: number
    /** The transactions (the warm-up's first): by default a fresh workload of `warmup + count`. */
    workload?: BenchWorkload
  } = {},
): Promise<E2eBenchResult> {
  const batch = options.batch ?? 1
  const warmup = options.warmup ?? 0
  const { alloc, raws } = options.workload ?? benchWorkload(kind, warmup + count)
  if (options.workload && (options.workload.kind !== kind || raws.length < warmup + count))
    throw new Error(`the workload is ${raws.length} ${options.workload.kind} transfers, not ${warmup + count} ${kind}`)
  const genesis = { ...devGenesis({ extraAlloc: alloc }), gasLimit: toQuantity(BENCH_BLOCK_GAS_LIMIT) }
  const dir = mkdtempSync(join(tmpdir(), 'cairn-e2e-bench-'))
  const genesisPath = join(dir, 'genesis.json')
  writeFileSync(genesisPath, JSON.stringify(genesis))

  const node = await startNode({
    blockTime: 1,
    nodeArgs: options.nodeArgs,
    extraArgs: [
      '--genesis',
      genesisPath,
      '--log-level',
      process.env.CAIRN_BENCH_LOG_LEVEL ?? 'warn',
      '--txpool.globalslots',
      String(raws.length + 1000),
      '--rpc.gascap',
      '50000000',
    ],
  })
  const poster = createPoster(node.rpcUrl, CONCURRENCY)
  const headPoller = createRpcCaller(node.rpcUrl)
  const call = (i: number) => `{"jsonrpc":"2.0","id":${i},"method":"eth_sendRawTransaction","params":["${raws[i]}"]}`
  /** Sends raws[from, to) from CONCURRENCY clients, `batch` per request; resolves when the node accepted them all. */
  const send = (from: number, to: number) =>
    runConcurrently(Math.ceil((to - from) / batch), CONCURRENCY, 600, async (r) => {
      const first = from + r * batch
      if (batch === 1) {
        const response = await poster.post(call(first))
        if (!response.includes('"result"')) throw new Error(`transaction ${first} rejected: ${response}`)
        return
      }
      const ids = Array.from({ length: Math.min(batch, to - first) }, (_, k) => first + k)
      const responses = JSON.parse(await poster.post(`[${ids.map(call).join(',')}]`)) as Array<{ result?: string }>
      const rejected = responses.find((response) => response.result === undefined)
      if (rejected !== undefined) throw new Error(`a transaction was rejected: ${JSON.stringify(rejected)}`)
    })
  /**
   * Follows blocks after `after` until `count` transactions are in them; returns the last block and
   * when each block holding any was seen.
   */
  const waitIncluded = async (after: bigint, count: number) => {
    let included = 0
    let next = after + 1n
    const blocks: { txs: number; seen: number }[] = []
    const polls: number[] = []
    const deadline = performance.now() + 300_000
    while (included < count) {
      if (performance.now() > deadline)
        throw new Error(`only ${included} of ${count} transactions included after 300 s`)
      const asked = performance.now()
      const head = BigInt(await headPoller.call<string>('eth_blockNumber'))
      polls.push(performance.now() - asked)
      for (; next <= head; next++) {
        const txs = Number(
          BigInt(await headPoller.call<string>('eth_getBlockTransactionCountByNumber', [`0x${next.toString(16)}`])),
        )
        included += txs
        if (txs > 0) blocks.push({ txs, seen: performance.now() })
      }
      if (included < count) await new Promise((r) => setTimeout(r, 20))
    }
    return { head: next - 1n, blocks, polls }
  }
  try {
    let startBlock = BigInt(await headPoller.call<string>('eth_blockNumber'))
    if (warmup > 0) {
      await send(0, warmup)
      startBlock = (await waitIncluded(startBlock, warmup)).head
    }
    const pid = node.process.pid!
    const threadsAtStart = threadCpuMicros(pid)
    const cpuAtStart = mainThreadCpuMicros(pid)
    const waitAtStart = mainThreadRunQueueMicros(pid)
    const nodeCpuAtStart = processCpuMicros(pid)
    const started = performance.now()
    const clientCpu = process.cpuUsage()
    // Blocks are followed while sending, so each is timed when it appears.
    const inclusion = waitIncluded(startBlock, count)
    inclusion.catch(() => {}) // if sending fails, that error is the one reported
    const sent = await send(warmup, raws.length)
    const accepted = Math.min(count, sent.done * batch)
    const acceptedPerSecond = accepted / sent.seconds
    const { user, system } = process.cpuUsage(clientCpu)
    const clientMicrosPerTx = (user + system) / accepted
    const { blocks, polls } = await inclusion
    const first = blocks[0]!
    const last = blocks[blocks.length - 1]!
    const seconds = (last.seen - started) / 1000
    const mainThreadMicrosPerTx = (mainThreadCpuMicros(pid) - cpuAtStart) / count
    const mainThreadWaitShare = (mainThreadRunQueueMicros(pid) - waitAtStart) / 1e6 / seconds
    const nodeMicrosPerTx = (processCpuMicros(pid) - nodeCpuAtStart) / count
    const threads = threadCpuLines(pid, threadsAtStart, threadCpuMicros(pid), count)
    return {
      kind,
      txs: count,
      seconds,
      txPerSecond: count / seconds,
      acceptedPerSecond,
      firstBlockSeconds: (first.seen - started) / 1000,
      blocks: blocks.length,
      afterFirstBlockTxPerSecond:
        blocks.length > 1 ? ((count - first.txs) * 1000) / (last.seen - first.seen) : undefined,
      mainThreadMicrosPerTx,
      mainThreadWaitShare,
      nodeMicrosPerTx,
      clientMicrosPerTx,
      threads,
      peakRssMebibytes: peakRssMebibytes(pid),
      headPollMillis: percentiles(polls),
    }
  } finally {
    poster.close()
    headPoller.close()
    if (process.env.CAIRN_BENCH_LOG_LEVEL !== undefined) process.stderr.write(node.logs())
    await node.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kind = (process.argv[2] ?? 'eth') as 'eth' | 'erc20'
  const r = await benchEndToEnd(kind, Number(process.argv[3] ?? 6000), {
    nodeArgs: process.env.CAIRN_BENCH_NODE_ARGS?.split(' ').filter(Boolean),
    batch: Number(process.argv[4] ?? 1),
    warmup: Number(process.env.CAIRN_BENCH_WARMUP ?? 0),
  })
  console.log(
    `end-to-end ${kind === 'eth' ? 'ETH' : 'ERC-20'} transfers: ${r.txPerSecond.toFixed(0)} tx/s included (${r.txs} txs in ${r.seconds.toFixed(2)} s, ${r.blocks} blocks, the first seen after ${r.firstBlockSeconds.toFixed(2)} s; after it ${r.afterFirstBlockTxPerSecond?.toFixed(0) ?? '-'} tx/s; RPC accepted ${r.acceptedPerSecond.toFixed(0)} tx/s; node main thread ${r.mainThreadMicrosPerTx.toFixed(0)} µs CPU/tx (waited for a core ${(100 * r.mainThreadWaitShare).toFixed(0)}% of the run), all threads ${r.nodeMicrosPerTx.toFixed(0)}; load generator ${r.clientMicrosPerTx.toFixed(0)} µs CPU/tx; node peak RSS ${r.peakRssMebibytes.toFixed(0)} MiB; eth_blockNumber meanwhile p50 ${r.headPollMillis.p50.toFixed(1)} ms, p99 ${r.headPollMillis.p99.toFixed(0)} ms, max ${r.headPollMillis.max.toFixed(0)} ms)`,
  )
  console.log(`node threads:\n  ${r.threads.join('\n  ')}`)
}
