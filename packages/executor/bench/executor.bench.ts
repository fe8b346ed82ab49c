/**
 * Raw executor throughput on level: blocks of pre-signed transfers from distinct senders to fresh
 * recipients, each sealed (state root, tx and receipt tries) and persisted in one batch.
 * Run: npx tsx packages/executor/bench/executor.bench.ts [txPerBlock] [blocks] [warm-up blocks]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import { type TypedTransaction, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { KECCAK256_RLP, bytesToHex, generateAddress, hexToBytes, privateToAddress } from '@ethereumjs/util'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { DEV_ACCOUNTS, type GenesisAccount, createChainCommon, devGenesis } from '@cairn/primitives'
import { StateDB } from '@cairn/state'
import {
  BlockExecutor,
  arraySource,
  createGenesisBlock,
  createSenderRecovery,
  defaultRecoveryThreads,
  nativeCustomCrypto,
} from '../src/index.ts'
import { mainThreadCpuMicros, mainThreadRunQueueMicros, threadCpuLines, threadCpuMicros } from './cpu.ts'
import { compileBenchToken } from './erc20.ts'

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
}

const FEE = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n }

/** Deterministic bench sender keys: 0x…01, 0x…02, … */
export function benchSenderKeys(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => hexToBytes(`0x${(i + 1).toString(16).padStart(64, '0')}`))
}

/** Geth genesis alloc funding the bench senders. */
export function benchAlloc(keys: Uint8Array[]): Record<string, GenesisAccount> {
  const alloc: Record<string, GenesisAccount> = {}
  for (const key of keys) alloc[bytesToHex(privateToAddress(key))] = { balance: '0xffffffffffffffffffff' }
  return alloc
}

export async function benchExecutor(
  kind: 'eth' | 'erc20',
  options: ExecutorBenchOptions = {},
): Promise<ExecutorBenchResult> {
  const txPerBlock = options.txPerBlock ?? 1000
  const blocks = options.blocks ?? 5
  const warmupBlocks = options.warmupBlocks ?? 0
  const senders = benchSenderKeys(txPerBlock)
  const genesisFile = devGenesis({ extraAlloc: benchAlloc(senders) })
  const common = createChainCommon(genesisFile, nativeCustomCrypto())
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'))
  const database = await NodeDatabase.open(dir)
  const senderRecovery = createSenderRecovery(options.recoveryThreads ?? defaultRecoveryThreads())
  try {
    const chain = new ChainStore(database, common)
    const state = new StateDB(database.sublevel('state'), common)
    const genesis = await createGenesisBlock(common, genesisFile, state.headState(KECCAK256_RLP))
    await chain.initGenesis(genesis, state.pendingBatch())
    const executor = await BlockExecutor.create({
      common,
      state: state.headState(genesis.header.stateRoot),
      blockHashes: chain,
    })
    let parent: Block = genesis
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

    let token: `0x${string}` | undefined
    let transferData: ((to: string, amount: bigint) => Uint8Array) | undefined
    if (kind === 'erc20') {
      // Setup (not measured): deploy the token from a dev account and hand every sender a balance.
      const { bytecode, abiTransfer } = compileBenchToken()
      transferData = abiTransfer
      const deployer = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
      const deploy = createFeeMarket1559Tx(
        { nonce: 0n, gasLimit: 3_000_000n, data: bytecode, ...FEE },
        { common },
      ).sign(deployer)
      await seal([deploy])
      token = bytesToHex(generateAddress(privateToAddress(deployer), new Uint8Array(0)))
      const fund = senders.map((key, i) =>
        createFeeMarket1559Tx(
          {
            nonce: BigInt(i + 1),
            to: token,
            gasLimit: 100_000n,
            data: abiTransfer(bytesToHex(privateToAddress(key)), 10n ** 24n),
            ...FEE,
          },
          { common },
        ).sign(deployer),
      )
      await seal(fund)
    }

    // Signed up front: signing is the client's work, not the executor's.
    const signed: TypedTransaction[][] = []
    for (let b = 0; b < warmupBlocks + blocks; b++) {
      signed.push(
        senders.map((key, i) => {
          const recipient: `0x${string}` = `0x${(0x10000 + b * txPerBlock + i).toString(16).padStart(40, '0')}`
          return kind === 'eth'
            ? createFeeMarket1559Tx(
                { nonce: BigInt(b), to: recipient, value: 1n, gasLimit: 21_000n, ...FEE },
                { common },
              ).sign(key)
            : createFeeMarket1559Tx(
                { nonce: BigInt(b), to: token, gasLimit: 100_000n, data: transferData!(recipient, 1n), ...FEE },
                { common },
              ).sign(key)
        }),
      )
    }

    for (const blockTxs of signed.splice(0, warmupBlocks)) {
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
    const recovered = signed.map((blockTxs) => senderRecovery.prime(blockTxs))
    for (const [b, blockTxs] of signed.entries()) {
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

if (import.meta.url === `file://${process.argv[1]}`) {
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
