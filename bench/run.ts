/**
 * `npm run bench`: the node's and the rollup loop's benchmarks in one run, printed as a table.
 *   (a) raw executor throughput on level (ETH and ERC-20 transfers)
 *   (b) end-to-end throughput: eth_sendRawTransaction → included, through a running node
 *   (c) JSON-RPC req/s for eth_blockNumber, eth_getBalance, eth_call
 *   rollup (issue #4): L1 gas and blobs per L2 transaction, follower derivation speed, on a devnet
 * The load generator shares the machine with the node: figures are for this 2-core box.
 */
import { spawnSync } from 'node:child_process'
import { shebangNodeFlags } from '../deploy/src/devnet-process.ts'
import { benchExecutorInFreshProcess } from '../packages/executor/bench/executor.bench.ts'
import { type BenchWorkload, benchWorkload } from '../packages/executor/bench/workload.ts'
import { CAIRN_BIN } from '../test/src/node-process.ts'
import { benchEndToEnd } from './e2e.bench.ts'
import { benchRollup, formatRollupResult } from './rollup.bench.ts'
import { benchRpc } from './rpc.bench.ts'

// (a) runs in this process and (b) in a node process: both under the node's Node.js flags (its bin's
// `#!` line), or each (b)/(a) ratio would compare two runtimes. Without them, run again with them.
const nodeFlags = shebangNodeFlags(CAIRN_BIN)
if (!nodeFlags.every((flag) => process.execArgv.includes(flag))) {
  const rerun = spawnSync(process.execPath, [...nodeFlags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  })
  process.exit(rerun.status ?? 1)
}
console.error(`Node.js flags: ${nodeFlags.join(' ')}`)

const rows: string[][] = [['benchmark', 'result']]
/** Each figure is printed as soon as it is measured (the run takes minutes), and the table at the end. */
function add(...added: string[][]): void {
  for (const row of added) console.error(`  ${row[0]}: ${row[1]}`)
  rows.push(...added)
}
/**
 * (a) and (b) do the same work: the raw executor builds, in blocks of 1,000, the very transactions
 * (one workload) the node is sent. Each runs twice: from a fresh start ("cold": the first blocks
 * include V8 compiling the code and empty caches), and after a warm-up of half as many transfers
 * outside the timing ("warm": a node that has been running). Both start as new processes, (a) too:
 * run in this process, it was warmed by the runs before it. Each end-to-end figure is compared
 * with the raw figure made just before it.
 *
 * The runs are sized to last ~10 s end to end, ten of the node's 1 s block slots; a shorter run of
 * 12,000 ETH transfers is made, warm, as a row of its own ("burst").
 *
 * This machine's speed drifts by ±20% over minutes, on both sides, so one pair is a poor measure of
 * the ratio: each row is CAIRN_BENCH_ROUNDS alternating (a)/(b) pairs (3 by default), every pair
 * printed, and the row's ratio is the median of the pairs' ratios.
 */
const ROUNDS = Number(process.env.CAIRN_BENCH_ROUNDS ?? 3)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`CAIRN_BENCH_ROUNDS must be a whole number ≥ 1, not ${ROUNDS}`)
const TX_PER_BLOCK = 1000
const RUNS = { eth: 36000, erc20: 12000 } as const
const BURST = 12000
const kindName = (kind: 'eth' | 'erc20') => (kind === 'eth' ? 'ETH' : 'ERC-20')
const roundLabel = (round: number) => (ROUNDS > 1 ? ` [${round + 1}/${ROUNDS}]` : '')
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const runRaw = async (workload: BenchWorkload, txs: number, warm: boolean, label: string) => {
  const { kind } = workload
  const blocks = txs / TX_PER_BLOCK
  const r = await benchExecutorInFreshProcess(kind, {
    txPerBlock: TX_PER_BLOCK,
    blocks,
    warmupBlocks: warm ? blocks / 2 : 0,
    workload,
  })
  add([
    `(a) executor ${kindName(kind)} transfers${label}`,
    `${r.txPerSecond.toFixed(0)} tx/s, ${r.mgasPerSecond.toFixed(1)} Mgas/s (building thread ${r.mainThreadMicrosPerTx.toFixed(0)} µs CPU/tx, waiting for a core ${(100 * r.mainThreadWaitShare).toFixed(0)}% of the run)`,
  ])
  return r.txPerSecond
}
const runEndToEnd = async (workload: BenchWorkload, txs: number, warm: boolean, label: string, against: number) => {
  const { kind } = workload
  const r = await benchEndToEnd(kind, txs, { warmup: warm ? txs / 2 : 0, workload })
  add([
    `(b) end-to-end ${kindName(kind)} transfers${label}`,
    `${r.txPerSecond.toFixed(0)} tx/s (${((100 * r.txPerSecond) / against).toFixed(0)}% of raw; first block after ${r.firstBlockSeconds.toFixed(2)} s, after it ${r.afterFirstBlockTxPerSecond?.toFixed(0) ?? '-'} tx/s; RPC accepted ${r.acceptedPerSecond.toFixed(0)} tx/s; node main thread ${r.mainThreadMicrosPerTx.toFixed(0)} µs CPU/tx, waiting for a core ${(100 * r.mainThreadWaitShare).toFixed(0)}% of the run; all threads ${r.nodeMicrosPerTx.toFixed(0)}; peak RSS ${r.peakRssMebibytes.toFixed(0)} MiB; eth_blockNumber meanwhile p99 ${r.headPollMillis.p99.toFixed(0)} ms, max ${r.headPollMillis.max.toFixed(0)} ms)`,
  ])
  return r.txPerSecond / against
}
/** A row: ROUNDS alternating (a)/(b) pairs, then the median ratio when there is more than one. */
const runRow = async (workload: BenchWorkload, txs: number, warm: boolean, label: string) => {
  const ratios: number[] = []
  const raws: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const against = await runRaw(workload, txs, warm, `${label}${roundLabel(round)}`)
    raws.push(against)
    ratios.push(await runEndToEnd(workload, txs, warm, `${label}${roundLabel(round)}`, against))
  }
  if (ROUNDS > 1) {
    add([
      `(b)/(a) ${kindName(workload.kind)}${label}, median of ${ROUNDS}`,
      `${(100 * median(ratios)).toFixed(0)}% (pairs: ${ratios.map((ratio) => `${(100 * ratio).toFixed(0)}%`).join(', ')})`,
    ])
  }
  return median(raws)
}
// Each end-to-end run follows its raw run: this machine's speed drifts over minutes, on both sides.
let rawEthCold = 0
for (const kind of ['eth', 'erc20'] as const) {
  for (const warm of [false, true]) {
    const workload = benchWorkload(kind, warm ? RUNS[kind] * 1.5 : RUNS[kind])
    const raw = await runRow(workload, RUNS[kind], warm, warm ? ', warm' : '')
    if (kind === 'eth' && !warm) rawEthCold = raw
  }
}
await runRow(benchWorkload('eth', BURST * 1.5), BURST, true, `, warm, burst of ${BURST.toLocaleString('en-US')}`)
{
  // The same ETH run with 16 transactions per HTTP request (a JSON-RPC batch): the HTTP share of admission.
  const r = await benchEndToEnd('eth', RUNS.eth, { batch: 16 })
  add([
    '(b) end-to-end ETH, batches of 16',
    `${r.txPerSecond.toFixed(0)} tx/s (${((100 * r.txPerSecond) / rawEthCold).toFixed(0)}% of raw; node main thread ${r.mainThreadMicrosPerTx.toFixed(0)} µs CPU/tx, all threads ${r.nodeMicrosPerTx.toFixed(0)})`,
  ])
}
for (const r of await benchRpc(5)) add([`(c) rpc ${r.method}`, `${r.requestsPerSecond.toFixed(0)} req/s`])
for (const kind of ['eth', 'erc20'] as const) add(...formatRollupResult(await benchRollup(kind, 4000)))

const width = Math.max(...rows.map((r) => r[0]!.length))
for (const [name, value] of rows) console.log(`${name!.padEnd(width)}  ${value}`)
