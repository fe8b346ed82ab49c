import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { KECCAK256_RLP, bigIntToBytes, createAddressFromString, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DEV_ACCOUNTS,
  EventLoopTurns,
  HISTORY_STORAGE_ADDRESS,
  MULTICALL3_ADDRESS,
  createChainCommon,
  devGenesis,
} from '@cairn/primitives'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { StateDB } from '@cairn/state'
import { BlockExecutor, arraySource, createGenesisBlock, nativeCustomCrypto } from './index.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openNode(dir: string, turnEveryMs?: number) {
  const common = createChainCommon(devGenesis(), nativeCustomCrypto())
  const database = await NodeDatabase.open(dir)
  const turns = turnEveryMs === undefined ? undefined : new EventLoopTurns(turnEveryMs)
  const chain = new ChainStore(database, common, { writeStateAhead: turns !== undefined })
  const stateDB = new StateDB(database.sublevel('state'), common)
  if (!(await chain.open())) {
    const genesis = await createGenesisBlock(common, devGenesis(), stateDB.headState(KECCAK256_RLP))
    await chain.initGenesis(genesis, stateDB.pendingBatch())
  }
  const executor = await BlockExecutor.create({
    common,
    state: stateDB.headState(chain.head().header.stateRoot, { turns }),
    blockHashes: chain,
    turns,
  })
  return { common, database, chain, stateDB, executor }
}

function transfers(
  common: ReturnType<typeof createChainCommon>,
  count: number,
  baseFee: bigint,
  call?: { to: `0x${string}`; data: `0x${string}` },
) {
  const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
  return Array.from({ length: count }, (_, nonce) =>
    createFeeMarket1559Tx(
      {
        nonce,
        to: call?.to ?? DEV_ACCOUNTS[1]!.address,
        data: call?.data,
        value: call === undefined ? 1000n : 0n,
        gasLimit: call === undefined ? 21000n : 100_000n,
        maxFeePerGas: baseFee * 2n,
        maxPriorityFeePerGas: 1n,
        chainId: common.chainId(),
      },
      { common },
    ).sign(key),
  )
}

describe('BlockExecutor', () => {
  it('builds a block, persists it with its state in one batch, and a second node re-imports it to the same header', async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'cairn-exec-a-'))
    const dirB = mkdtempSync(join(tmpdir(), 'cairn-exec-b-'))
    dirs.push(dirA, dirB)
    const a = await openNode(dirA)
    const parent = a.chain.head()
    const txs = transfers(a.common, 5, parent.header.calcNextBaseFee())
    const { executed, rejected } = await a.executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n },
      arraySource(txs),
    )
    expect(rejected).toEqual([])
    expect(executed.block.transactions).toHaveLength(5)
    expect(executed.block.header.gasUsed).toBe(5n * 21000n)
    await a.chain.appendBlock(
      { block: executed.block, receipts: executed.receipts, senders: executed.senders },
      a.stateDB.pendingBatch(),
    )
    await a.database.close()

    // Reopen A: the head and its state survive.
    const a2 = await openNode(dirA)
    expect(a2.chain.head().hash()).toEqual(executed.block.hash())
    const balance = (await a2.stateDB
      .stateAt(a2.chain.head().header.stateRoot)
      .getAccount(createAddressFromString(DEV_ACCOUNTS[1]!.address)))!.balance
    expect(balance).toBe(10_000n * 10n ** 18n + 5000n)
    const receipts = a2.chain.receiptsOf((await a2.chain.getBlockByNumber(1n))!)
    expect(receipts.map((r) => r.status)).toEqual([1, 1, 1, 1, 1])
    await a2.database.close()

    // B starts from genesis and imports A's block: same state root.
    const b = await openNode(dirB)
    const imported = await b.executor.import(b.chain.head(), executed.block)
    expect(imported.block.header.stateRoot).toEqual(executed.block.header.stateRoot)
    await b.database.close()
  })

  it('gives the event loop turns while a block executes, and builds the same block as in one go', async () => {
    const [yieldDir, wholeDir] = ['yield', 'whole'].map((name) => mkdtempSync(join(tmpdir(), `cairn-exec-${name}-`)))
    dirs.push(yieldDir!, wholeDir!)
    const yielding = await openNode(yieldDir!, 0)
    const whole = await openNode(wholeDir!)
    const parent = yielding.chain.head()
    const txs = transfers(yielding.common, 20, parent.header.calcNextBaseFee())
    const attributes = { timestamp: parent.header.timestamp + 2n }

    // Counts event-loop turns (check phase) until the build settles.
    const turnsDuring = async (build: Promise<unknown>) => {
      let turns = 0
      let settled = false
      const tick = () => {
        turns++
        if (!settled) setImmediate(tick)
      }
      setImmediate(tick)
      await build.finally(() => {
        settled = true
      })
      return turns
    }
    let built: Awaited<ReturnType<BlockExecutor['build']>> | undefined
    const turns = await turnsDuring(
      yielding.executor.build(parent, attributes, arraySource(txs)).then((result) => {
        built = result
      }),
    )
    // One turn per transaction at least (a 0 ms interval yields before every one after the first).
    expect(turns).toBeGreaterThanOrEqual(txs.length - 1)
    const reference = await whole.executor.build(whole.chain.head(), attributes, arraySource(txs))
    expect(built!.executed.block.transactions).toHaveLength(20)
    expect(built!.executed.block.hash()).toEqual(reference.executed.block.hash())
    await yielding.database.close()
    await whole.database.close()
  })

  it("does not keep each transaction's EVM run state (its memory, stack and interpreter) in the block's results", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-'))
    dirs.push(dir)
    const node = await openNode(dir)
    const parent = node.chain.head()
    // Multicall3's getBlockNumber(): contract code runs, with memory, for each transaction.
    const calls = transfers(node.common, 3, parent.header.calcNextBaseFee(), {
      to: MULTICALL3_ADDRESS,
      data: '0x42cbb15c',
    })
    const { executed } = await node.executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n },
      arraySource(calls),
    )
    expect(executed.block.transactions).toHaveLength(3)
    expect(executed.receipts.map((receipt) => receipt.status)).toEqual([1, 1, 1])
    expect(executed.results.map((result) => result.execResult.returnValue.length)).toEqual([32, 32, 32])
    expect(executed.results.map((result) => result.execResult.runState)).toEqual([undefined, undefined, undefined])
    await node.database.close()
  })

  it('leaves transactions that do not fit the block for the next one instead of rejecting them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-full-'))
    dirs.push(dir)
    const node = await openNode(dir)
    const parent = node.chain.head()
    const txs = transfers(node.common, 5, parent.header.calcNextBaseFee())
    // Room for three transfers: the other two are not invalid, and a pool must keep them.
    const { executed, rejected } = await node.executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n, gasLimit: 70_000n },
      arraySource(txs),
    )
    expect(executed.block.transactions.map((tx) => tx.nonce)).toEqual([0n, 1n, 2n])
    expect(rejected).toEqual([])
    await node.database.close()
  })

  it('takes in transactions that arrive while the block executes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-arrivals-'))
    dirs.push(dir)
    const node = await openNode(dir, 0)
    const parent = node.chain.head()
    const txs = transfers(node.common, 12, parent.header.calcNextBaseFee())
    // Two at first; each refresh (after every turn, and when the source runs out) lets one more arrive.
    let arrived = 2
    let refreshes = 0
    const source = {
      index: 0,
      peek: () => (source.index < arrived ? txs[source.index] : undefined),
      shift: () => void source.index++,
      pop: () => void source.index++,
      refresh: () => {
        refreshes++
        if (arrived === txs.length) return false
        arrived++
        return true
      },
    }
    const { executed, rejected } = await node.executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n },
      source,
    )
    expect(rejected).toEqual([])
    expect(executed.block.transactions.map((tx) => tx.nonce)).toEqual(txs.map((tx) => tx.nonce))
    expect(refreshes).toBeGreaterThan(txs.length - 2)
    await node.database.close()
  })

  it('waits up to lingerMs for arrivals once its source runs dry, and no longer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-linger-'))
    dirs.push(dir)
    const node = await openNode(dir, 0)
    const parent = node.chain.head()
    const txs = transfers(node.common, 3, parent.header.calcNextBaseFee())
    // Offers the first transaction at once; the second arrives 20 ms after the source runs dry, the
    // third 2 s after that.
    const gaps = [20, 2000]
    const source = () => {
      let index = 0
      let arrived = 1
      let offered = 1
      return {
        peek: () => (index < offered ? txs[index] : undefined),
        shift: () => void index++,
        pop: () => void index++,
        refresh: () => {
          if (offered === arrived) return false
          offered = arrived
          return true
        },
        arrival: (ms: number) => {
          const gap = gaps[arrived - 1]
          const comes = gap !== undefined && gap <= ms
          return new Promise<boolean>((resolve) =>
            setTimeout(
              () => {
                if (comes) arrived++
                resolve(comes)
              },
              comes ? gap : ms,
            ),
          )
        },
      }
    }
    const attributes = { timestamp: parent.header.timestamp + 2n, executionBudgetMs: 5_000 }
    const lingering = await node.executor.build(parent, { ...attributes, lingerMs: 200 }, source())
    expect(lingering.executed.block.transactions.map((tx) => tx.nonce)).toEqual([0n, 1n])
    const prompt = await node.executor.build(parent, attributes, source())
    expect(prompt.executed.block.transactions.map((tx) => tx.nonce)).toEqual([0n])
    await node.database.close()
  })

  it('stops taking transactions when its execution budget is spent, after at least one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-budget-'))
    dirs.push(dir)
    const node = await openNode(dir, 0)
    const parent = node.chain.head()
    const txs = transfers(node.common, 1000, parent.header.calcNextBaseFee())
    const attributes = { timestamp: parent.header.timestamp + 2n }
    const once = await node.executor.build(parent, { ...attributes, executionBudgetMs: 0 }, arraySource(txs))
    expect(once.executed.block.transactions).toHaveLength(1)
    expect(once.rejected).toEqual([])

    // A stream that never runs dry: the budget is what ends the block, and nothing is rejected.
    let index = 0
    const endless = {
      peek: () => txs[index],
      shift: () => void index++,
      pop: () => void index++,
      refresh: () => true,
    }
    const started = performance.now()
    const bounded = await node.executor.build(parent, { ...attributes, executionBudgetMs: 10 }, endless)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(bounded.rejected).toEqual([])
    expect(bounded.executed.block.transactions.length).toBeGreaterThan(0)
    expect(bounded.executed.block.transactions.length).toBeLessThan(txs.length)
    await node.database.close()
  })

  it("stores each block's parent hash in EIP-2935's history contract, and a re-import gives the same state", async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'cairn-exec-2935-a-'))
    const dirB = mkdtempSync(join(tmpdir(), 'cairn-exec-2935-b-'))
    dirs.push(dirA, dirB)
    const a = await openNode(dirA)
    const b = await openNode(dirB)
    const history = createAddressFromString(HISTORY_STORAGE_ADDRESS)
    const blocks = [a.chain.head()]
    for (let i = 0; i < 3; i++) {
      const parent = a.chain.head()
      const txs = i === 1 ? transfers(a.common, 2, parent.header.calcNextBaseFee()) : []
      const { executed } = await a.executor.build(parent, { timestamp: parent.header.timestamp + 2n }, arraySource(txs))
      await a.chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        a.stateDB.pendingBatch(),
      )
      const imported = await b.executor.import(b.chain.head(), executed.block)
      await b.chain.appendBlock(
        { block: imported.block, receipts: imported.receipts, senders: imported.senders },
        b.stateDB.pendingBatch(),
      )
      blocks.push(executed.block)
    }
    const head = a.stateDB.headState(a.chain.head().header.stateRoot)
    for (const block of blocks.slice(0, 3)) {
      const slot = await head.getStorage(history, setLengthLeft(bigIntToBytes(block.header.number), 32))
      expect(slot).toEqual(block.hash())
    }
    // The head block's own hash is stored only by its child.
    const unset = await head.getStorage(history, setLengthLeft(bigIntToBytes(3n), 32))
    expect(unset.every((byte) => byte === 0)).toBe(true)
    await a.database.close()
    await b.database.close()
  })

  it('rejects an imported block whose state root does not match execution', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-c-'))
    dirs.push(dir)
    const node = await openNode(dir)
    const parent = node.chain.head()
    const { executed } = await node.executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n },
      arraySource(transfers(node.common, 1, parent.header.calcNextBaseFee())),
    )
    const forged = executed.block.header.toJSON()
    const { createBlock } = await import('@ethereumjs/block')
    const bad = createBlock(
      {
        header: { ...forged, stateRoot: `0x${'11'.repeat(32)}` },
        transactions: executed.block.transactions,
        withdrawals: [],
      },
      { common: node.common },
    )
    await expect(node.executor.import(parent, bad)).rejects.toThrow(/stateRoot/)
    await node.database.close()
  })
})
