/**
 * Raw executor throughput on level: blocks of pre-signed transfers from distinct senders to fresh
 * recipients, each sealed (state root, tx and receipt tries) and persisted in one batch.
 * Run: npx tsx packages/executor/bench/executor.bench.ts [txPerBlock] [blocks] [warm-up blocks]
 * (`--json WORKLOAD_FILE kind txPerBlock blocks warmupBlocks` is benchExecutorInFreshProcess's child.)
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Block } from '@ethereumjs/block'
import { type TypedTransaction, createTxFromRLP } from '@ethereumjs/tx'
import { hexToBytes } from '@ethereumjs/util'
import { devGenesis } from '@cairn/primitives'
import { arraySource, createSenderRecovery, defaultRecoveryThreads } from '../src/index.ts'
import { openGenesisChain } from '../src/testing/genesis-chain.ts'
import { mainThreadCpuMicros, mainThreadRunQueueMicros, threadCpuLines, threadCpuMicros } from './cpu.ts'
import { type BenchWorkload, benchWorkload } from './workload.ts'

export interface ExecutorBenchResult {
  kind: 'eth' | 'erc20'
  txs: number
  seconds: number
  txPerSecond: number
  mgasPerSecond: number
  /** CPU time of the building thread per transaction (sender recovery runs on other threads). */
  mainThreadMicrosPerTx: number
  /** The share of the run the building thread spent runnable but waiting for a core (see mainThreadRunQueueMicros). */
  mainThreadWaitShare: number
  /** This process's CPU per transaction, thread by thread (see threadCpuLines). */
  threads: string[]
}

export interface ExecutorBenchOptions {
  txPerBlock?: number
  blocks?: number
  /** Sender-recovery worker threads (0: recover on the building thread); the node's default otherwise. */
  recoveryThreads?: number
  /**
   * Blocks built first, outside the timing, from the same kind of transfers: the code is compiled
   * and the caches filled by them, as in a node that has been running.
   */
  warmupBlocks?: number
  /** Called right before the measured blocks (e.g. to start a profiler). */
  onStart?: () => Promise<void> | void
  /**
   * The transactions, the warm-up's first, in blocks of `txPerBlock`: by default a fresh workload
   * with `txPerBlock` senders. They are decoded before the timing, as the node decodes them on arrival.
   */
  workload?: BenchWorkload
}

export async function benchExecutor(
  kind: 'eth' | 'erc20',
  options: ExecutorBenchOptions = {},
): Promise<ExecutorBenchResult> {
  const txPerBlock = options.txPerBlock ?? 1000
  const blocks = options.blocks ?? 5
  const warmupBlocks = options.warmupBlocks ?? 0
  const count = (warmupBlocks + blocks) * txPerBlock
  const { alloc, raws } = options.workload ?? benchWorkload(kind, count, txPerBlock)
  if (options.workload && (options.workload.kind !== kind || raws.length < count))
    throw new Error(`the workload is ${raws.length} ${options.workload.kind} transfers, not ${count} ${kind}`)
  const genesisFile = devGenesis({ extraAlloc: alloc })
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'))
  const { common, database, chain, state, executor } = await openGenesisChain(dir, genesisFile)
  const senderRecovery = createSenderRecovery(options.recoveryThreads ?? defaultRecoveryThreads())
  try {
    let parent: Block = chain.head()
    const seal = async (txs: TypedTransaction[]) => {
      const { executed, rejected } = await executor.build(
        parent,
        { timestamp: parent.header.timestamp + 2n },
        arraySource(txs),
      )
      if (rejected.length > 0) throw new Error(`bench transactions rejected: ${rejected[0]!.reason}`)
      await chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        state.pendingBatch(),
      )
      parent = executed.block
      return executed.block
    }

    // Decoded up front: signing is the client's work, decoding the node's RPC's, not the executor's.
    const decoded: TypedTransaction[][] = []
    for (let b = 0; b < warmupBlocks + blocks; b++)
      decoded.push(
        raws.slice(b * txPerBlock, (b + 1) * txPerBlock).map((raw) => createTxFromRLP(hexToBytes(raw), { common })),
      )

    for (const blockTxs of decoded.splice(0, warmupBlocks)) {
      await senderRecovery.prime(blockTxs)
      await seal(blockTxs)
    }

    await options.onStart?.()
    let txs = 0
    let gas = 0n
    const threadsAtStart = threadCpuMicros()
    const cpuAtStart = mainThreadCpuMicros()
    const waitAtStart = mainThreadRunQueueMicros()
    const started = performance.now()
    // As the node runs it: senders are recovered on worker threads, ahead of the block being built here.
    const recovered = decoded.map((blockTxs) => senderRecovery.prime(blockTxs))
    for (const [b, blockTxs] of decoded.entries()) {
      await recovered[b]
      const block = await seal(blockTxs)
      txs += block.transactions.length
      gas += block.header.gasUsed
    }
    const seconds = (performance.now() - started) / 1000
    return {
      kind,
      txs,
      seconds,
      txPerSecond: txs / seconds,
      mgasPerSecond: Number(gas) / 1e6 / seconds,
      mainThreadMicrosPerTx: (mainThreadCpuMicros() - cpuAtStart) / txs,
      mainThreadWaitShare: (mainThreadRunQueueMicros() - waitAtStart) / 1e6 / seconds,
      threads: threadCpuLines(process.pid, threadsAtStart, threadCpuMicros(), txs),
    }
  } finally {
    await senderRecovery.close()
    await database.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * benchExecutor in a process of its own, started for this run, with this process's Node.js flags:
 * a cold run is then as cold as the end-to-end bench's fresh node, not warmed by earlier runs of
 * this process (or by signing the workload, which is done here and handed over serialized).
 */
export async function benchExecutorInFreshProcess(
  kind: 'eth' | 'erc20',
  options: Omit<ExecutorBenchOptions, 'onStart' | 'recoveryThreads'> = {},
): Promise<ExecutorBenchResult> {
  const txPerBlock = options.txPerBlock ?? 1000
  const blocks = options.blocks ?? 5
  const warmupBlocks = options.warmupBlocks ?? 0
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-workload-'))
  try {
    const workloadFile = join(dir, 'workload.json')
    writeFileSync(
      workloadFile,
      JSON.stringify(options.workload ?? benchWorkload(kind, (warmupBlocks + blocks) * txPerBlock, txPerBlock)),
    )
    const args = ['--json', workloadFile, kind, txPerBlock, blocks, warmupBlocks].map(String)
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    const [code] = (await once(child, 'close')) as [number | null]
    if (code !== 0) throw new Error(`the executor bench process exited with ${code}`)
    return JSON.parse(stdout) as ExecutorBenchResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--json') {
    const [workloadFile, kind, txPerBlock, blocks, warmupBlocks] = process.argv.slice(3)
    const workload = JSON.parse(readFileSync(workloadFile!, 'utf8')) as BenchWorkload
    const r = await benchExecutor(kind as 'eth' | 'erc20', {
      txPerBlock: Number(txPerBlock),
      blocks: Number(blocks),
      warmupBlocks: Number(warmupBlocks),
      workload,
    })
    process.stdout.write(JSON.stringify(r))
  } else {
    const txPerBlock = Number(process.argv[2] ?? 1000)
    const blocks = Number(process.argv[3] ?? 5)
    const warmupBlocks = Number(process.argv[4] ?? 0)
    for (const kind of ['eth', 'erc20'] as const) {
      const r = await benchExecutor(kind, { txPerBlock, blocks, warmupBlocks })
      console.log(
        `executor ${kind === 'eth' ? 'ETH' : 'ERC-20'} transfers: ${r.txPerSecond.toFixed(0)} tx/s, ${r.mgasPerSecond.toFixed(1)} Mgas/s (${r.txs} txs in ${r.seconds.toFixed(2)} s; main thread ${r.mainThreadMicrosPerTx.toFixed(0)} µs CPU/tx, waited for a core ${(100 * r.mainThreadWaitShare).toFixed(0)}% of the run)`,
      )
      console.log(`threads:\n  ${r.threads.join('\n  ')}`)
    }
  }
}
