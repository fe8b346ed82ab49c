/**
 * P2P network under load, with real `cairn node` processes on 127.0.0.1: one sequencer
 * (`--block-time 1`) and three followers joined through it as bootnode. Pre-signed ETH transfers
 * are sent at a steady rate, round-robin to the followers' RPC (so every transaction reaches the
 * sequencer only by gossip); the run checks that every one is included and reports, per follower
 * and block, the time from the sequencer sealing a block to the follower receiving it over gossip
 * (arrival) and to serving it as `latest` (imported). Same host, same clock: log timestamps compare.
 * It also reports, from the nodes' metrics, how the transactions reached the sequencer: by gossip, or
 * fetched after a follower re-announced them (gossip dropped them: validation shed or timed out).
 *   npx tsx bench/p2p.bench.ts [rate=500] [seconds=30] [--keep-logs]   (logs: $TMPDIR/cairn-p2p-bench-N.log)
 * CAIRN_BENCH_NODE_ARGS adds Node.js flags to every node (e.g. "--cpu-prof --cpu-prof-dir=DIR").
 * CAIRN_BENCH_WARMUP=N first sends N more transfers the same way and waits until every follower
 * serves their last block, outside the measurement: the nodes' code is then compiled, as in a network
 * that has been running.
 */
import '@cairn/primitives/polyfills'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import { processCpuMicros, threadCpuLines, threadCpuMicros } from '../packages/executor/bench/cpu.ts'
import { type RunningNode, freePort, rpc, startNode } from '../test/src/node-process.ts'
import { benchWorkload } from '../packages/executor/bench/workload.ts'
import { createPoster, percentiles } from './http-load.ts'

export interface P2PBenchResult {
  rate: number
  seconds: number
  sent: number
  included: number
  /** Achieved send rate. */
  sentPerSecond: number
  blocks: number
  arrivalMs: { p50: number; p99: number; max: number }
  importedMs: { p50: number; p99: number; max: number }
  /** Transactions the sequencer admitted from gossip, and after a re-announce (fetched by hash). */
  sequencerTxs: { gossip: number; fetched: number; shed: number }
  /** Hashes the followers re-announced (each counted once per round, summed over followers). */
  reannounced: number
  /** CPU of each node process (every thread) per transfer sent, µs, from sending the first to the last included: sequencer first. */
  nodeMicrosPerTx: number[]
  /** The same thread by thread (see threadCpuLines), for each node: sequencer first. */
  nodeThreads: string[][]
  /** The load generator's CPU per transfer sent (this process, every thread), µs. */
  clientMicrosPerTx: number
}

interface LogLine {
  msg: string
  time: number
  number?: number
  sealedAt?: number
  receivedAt?: number
  txs?: number
  /** How a follower got the block: gossip, or the head it asked a peer for. */
  via?: string
}

function logLines(node: RunningNode, msg: string): LogLine[] {
  const out: LogLine[] = []
  for (const line of node.logs().split('\n')) {
    if (!line.includes(msg)) continue
    try {
      const parsed = JSON.parse(line) as LogLine
      if (parsed.msg === msg) out.push(parsed)
    } catch {
      // not a log line
    }
  }
  return out
}

/** Sum of a Prometheus series on a node's /metrics over the samples carrying `labels`. */
async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return sum
}

export async function benchP2P(rate = 500, seconds = 30, warmup = 0): Promise<P2PBenchResult> {
  const count = rate * seconds
  const workload = benchWorkload('eth', warmup + count)
  const { alloc } = workload
  const warmupRaws = workload.raws.slice(0, warmup)
  const raws = workload.raws.slice(warmup)
  const dir = mkdtempSync(join(tmpdir(), 'cairn-p2p-bench-'))
  const genesisPath = join(dir, 'genesis.json')
  writeFileSync(genesisPath, JSON.stringify(devGenesis({ extraAlloc: alloc })))
  const pool = ['--txpool.globalslots', String(count + 1000), '--txpool.globalqueue', String(count)]
  const nodes: RunningNode[] = []
  const metricsPorts = await Promise.all([0, 1, 2, 3].map(() => freePort()))
  const metricsArgs = (i: number) => ['--metrics.port', String(metricsPorts[i])]
  const nodeArgs = process.env.CAIRN_BENCH_NODE_ARGS?.split(' ').filter(Boolean)
  try {
    const p2pPort = await freePort()
    const sequencer = await startNode({
      blockTime: 1,
      nodeArgs,
      extraArgs: ['--genesis', genesisPath, '--p2p.port', String(p2pPort), ...pool, ...metricsArgs(0)],
    })
    nodes.push(sequencer)
    const { addresses } = await rpc<{ addresses: string[] }>(sequencer.rpcUrl, 'cairn_p2pStatus')
    const followers = await Promise.all(
      [1, 2, 3].map((i) =>
        startNode({
          dev: false,
          nodeArgs,
          extraArgs: [
            '--genesis',
            genesisPath,
            '--bootnodes',
            addresses[0]!,
            '--p2p.preconfer',
            DEV_ACCOUNTS[0]!.address,
            ...pool,
            ...metricsArgs(i),
          ],
        }),
      ),
    )
    nodes.push(...followers)
    // Wait until every follower follows the sequencer.
    for (const follower of followers) {
      const deadline = Date.now() + 30_000
      while (logLines(follower, 'imported preconfirmed block').length === 0) {
        if (Date.now() > deadline) throw new Error(`follower ${follower.rpcUrl} does not follow the sequencer`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    // 32 connections to each follower: with 8, a follower's slow answers while it imported a block
    // held every connection, and the load generator fell behind the rate (~450 of 500 tx/s sent).
    const posters = followers.map((f) => createPoster(f.rpcUrl, 32))
    const blockNumber = async (node: RunningNode) => BigInt(await rpc<string>(node.rpcUrl, 'eth_blockNumber'))

    /** Sends `batch` at `rate`, round-robin over the followers; the count accepted and the seconds it took. */
    async function sendPaced(batch: readonly string[]): Promise<{ sent: number; seconds: number }> {
      const begun = performance.now()
      let sent = 0
      let refused = 0
      const inFlight = new Set<Promise<void>>()
      for (let i = 0; i < batch.length; i++) {
        const due = begun + (i * 1000) / rate
        // Paced in 10 ms steps: a timer per transfer (every 2 ms at 500 tx/s) cost the load
        // generator, on the cores the nodes share, a wake-up per transfer.
        const wait = due - performance.now()
        if (wait > 10) await new Promise((r) => setTimeout(r, wait))
        const p = posters[i % posters.length]!.post(
          `{"jsonrpc":"2.0","id":${i},"method":"eth_sendRawTransaction","params":["${batch[i]}"]}`,
        ).then((response) => {
          if (response.includes('"result"')) sent++
          else if (refused++ < 5) process.stderr.write(`transaction ${i} refused: ${response}\n`)
        })
        inFlight.add(p)
        void p.finally(() => inFlight.delete(p))
      }
      await Promise.all(inFlight)
      return { sent, seconds: (performance.now() - begun) / 1000 }
    }

    /** Follows the sequencer's blocks after `from` until they hold `count` transactions; the last block. */
    async function followUntilIncluded(from: bigint, count: number): Promise<{ included: number; last: bigint }> {
      let included = 0
      let next = from + 1n
      const deadline = performance.now() + 120_000
      while (included < count && performance.now() < deadline) {
        const head = await blockNumber(sequencer)
        for (; next <= head; next++) {
          included += Number(
            BigInt(
              await rpc<string>(sequencer.rpcUrl, 'eth_getBlockTransactionCountByNumber', [`0x${next.toString(16)}`]),
            ),
          )
        }
        if (included < count) await new Promise((r) => setTimeout(r, 100))
      }
      return { included, last: next - 1n }
    }

    // A warm-up outside the measurement: the same load, until every follower serves its last block.
    if (warmup > 0) {
      const from = await blockNumber(sequencer)
      await sendPaced(warmupRaws)
      const { last } = await followUntilIncluded(from, warmupRaws.length)
      const deadline = performance.now() + 120_000
      for (const follower of followers) {
        while ((await blockNumber(follower)) < last && performance.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }

    const txResults = (result: string) => metric(metricsPorts[0]!, 'cairn_p2p_gossip_txs_total', { result })
    const fetched = () => metric(metricsPorts[0]!, 'cairn_p2p_fetched_txs_total', { result: 'accept' })
    const reannounced = async () =>
      (await Promise.all([1, 2, 3].map((i) => metric(metricsPorts[i]!, 'cairn_p2p_txs_reannounced_total')))).reduce(
        (a, b) => a + b,
        0,
      )
    const countersAtStart = {
      gossip: await txResults('accept'),
      fetched: await fetched(),
      shed: await txResults('shed'),
    }
    const reannouncedAtStart = await reannounced()

    const startBlock = await blockNumber(sequencer)
    const cpuAtStart = nodes.map((node) => processCpuMicros(node.process.pid))
    const threadsAtStart = nodes.map((node) => threadCpuMicros(node.process.pid!))
    const clientCpuAtStart = processCpuMicros()
    const { sent, seconds: sendSeconds } = await sendPaced(raws)
    for (const poster of posters) poster.close()
    const { included, last: lastBlock } = await followUntilIncluded(startBlock, count)
    const nodeMicrosPerTx = nodes.map((node, i) => (processCpuMicros(node.process.pid) - cpuAtStart[i]!) / count)
    const nodeThreads = nodes.map((node, i) =>
      threadCpuLines(node.process.pid!, threadsAtStart[i]!, threadCpuMicros(node.process.pid!), count),
    )
    const clientMicrosPerTx = (processCpuMicros() - clientCpuAtStart) / count
    // Give the followers a moment to import the last block.
    await new Promise((r) => setTimeout(r, 1_500))

    const sealed = new Map<number, number>()
    for (const line of logLines(sequencer, 'published preconfirmed block')) {
      if (line.number !== undefined && line.sealedAt !== undefined) sealed.set(line.number, line.sealedAt)
    }
    const arrival: number[] = []
    const imported: number[] = []
    for (const follower of followers) {
      for (const line of logLines(follower, 'imported preconfirmed block')) {
        const at = line.number === undefined ? undefined : sealed.get(line.number)
        // Gossip arrivals only: a head asked of a peer did not travel by gossip.
        if (at === undefined || line.receivedAt === undefined || line.via === 'head') continue
        if (BigInt(line.number!) <= startBlock || BigInt(line.number!) > lastBlock) continue
        arrival.push(line.receivedAt - at)
        imported.push(line.time - at)
      }
    }
    return {
      rate,
      seconds,
      sent,
      included,
      sentPerSecond: sent / sendSeconds,
      blocks: Number(lastBlock - startBlock),
      arrivalMs: percentiles(arrival),
      importedMs: percentiles(imported),
      sequencerTxs: {
        gossip: (await txResults('accept')) - countersAtStart.gossip,
        fetched: (await fetched()) - countersAtStart.fetched,
        shed: (await txResults('shed')) - countersAtStart.shed,
      },
      reannounced: (await reannounced()) - reannouncedAtStart,
      nodeMicrosPerTx,
      nodeThreads,
      clientMicrosPerTx,
    }
  } finally {
    if (process.argv.includes('--keep-logs')) {
      for (const [i, node] of nodes.entries()) writeFileSync(join(tmpdir(), `cairn-p2p-bench-${i}.log`), node.logs())
    }
    for (const node of nodes.reverse()) await node.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchP2P(
    Number(process.argv[2] ?? 500),
    Number(process.argv[3] ?? 30),
    Number(process.env.CAIRN_BENCH_WARMUP ?? 0),
  )
  const ms = (p: { p50: number; p99: number; max: number }) =>
    `p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms, max ${p.max.toFixed(1)} ms`
  console.log(
    `p2p: ${r.sent} transfers sent at ${r.sentPerSecond.toFixed(0)} tx/s (target ${r.rate}) round-robin to 3 followers for ${r.seconds} s; ${r.included} included in ${r.blocks} blocks`,
  )
  console.log(`  block arrival on followers (sealed -> gossip received): ${ms(r.arrivalMs)}`)
  console.log(`  block served as latest on followers (sealed -> imported): ${ms(r.importedMs)}`)
  console.log(
    `  sequencer admitted ${r.sequencerTxs.gossip} by gossip (shed ${r.sequencerTxs.shed} under load) and ${r.sequencerTxs.fetched} fetched after a re-announce; followers re-announced ${r.reannounced} hashes`,
  )
  const [sequencerCpu, ...followerCpu] = r.nodeMicrosPerTx.map((us) => us.toFixed(0))
  console.log(
    `  CPU per transfer (all threads): sequencer ${sequencerCpu} µs, followers ${followerCpu.join(' / ')} µs; load generator ${r.clientMicrosPerTx.toFixed(0)} µs`,
  )
  for (const [i, lines] of r.nodeThreads.entries()) {
    console.log(`  ${i === 0 ? 'sequencer' : `follower ${i}`} threads:\n    ${lines.join('\n    ')}`)
  }
}
