import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Block, createBlock } from '@ethereumjs/block'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { ChainStore, type BlockRecord, type HeadChange } from './chain-store.ts'
import { NodeDatabase } from './database.ts'
import type { StoredReceipt } from './receipt-codec.ts'

const common = createChainCommon(devGenesis())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
const sender = hexToBytes(DEV_ACCOUNTS[0]!.address)
const tokenA = hexToBytes('0x00000000000000000000000000000000000000aa')
const tokenB = hexToBytes('0x00000000000000000000000000000000000000bb')
const transferTopic = hexToBytes(`0x${'dd'.repeat(32)}`)
const otherTopic = hexToBytes(`0x${'ee'.repeat(32)}`)
const dirs: string[] = []

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openStore(dir = mkdtempSync(join(tmpdir(), 'cairn-chain-')), writeStateAhead = false) {
  dirs.push(dir)
  const database = await NodeDatabase.open(dir)
  const chain = new ChainStore(database, common, { writeStateAhead })
  return { database, chain, dir }
}

function genesis(): Block {
  return createBlock({ header: { number: 0n, gasLimit: 30_000_000n, baseFeePerGas: 1_000_000_000n } }, { common })
}

let nonce = 0n
/** A child block with one transaction whose receipt carries `logs`; `salt` makes siblings differ. */
function child(parent: Block, logs: StoredReceipt['logs'], salt = 0): BlockRecord {
  const tx = createFeeMarket1559Tx(
    { nonce: nonce++, to: tokenA, gasLimit: 50_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n },
    { common },
  ).sign(key)
  const block = createBlock(
    {
      header: {
        parentHash: parent.hash(),
        number: parent.header.number + 1n,
        gasLimit: 30_000_000n,
        timestamp: parent.header.timestamp + 1n + BigInt(salt),
        baseFeePerGas: 1_000_000_000n,
      },
      transactions: [tx],
    },
    { common },
  )
  return {
    block,
    senders: [sender],
    receipts: [
      {
        status: 1,
        cumulativeGasUsed: 30_000n,
        gasUsed: 30_000n,
        effectiveGasPrice: 1_000_000_001n,
        contractAddress: undefined,
        logs,
      },
    ],
  }
}

describe('ChainStore', () => {
  it('persists blocks, receipts, the tx index and heads across a reopen', async () => {
    const { database, chain, dir } = await openStore()
    await chain.initGenesis(genesis())
    const one = child(chain.head(), [[tokenA, [transferTopic], Uint8Array.of(1)]])
    await chain.appendBlock(one)
    await database.close()

    const reopened = await openStore(dir)
    expect(await reopened.chain.open()).toBe(true)
    expect(reopened.chain.head().hash()).toEqual(one.block.hash())
    const location = await reopened.chain.getTransactionLocation(one.block.transactions[0]!.hash())
    expect(location?.index).toBe(0)
    const [receipt] = reopened.chain.receiptsOf(location!.record)
    expect(bytesToHex(receipt!.logs[0]!.address)).toBe(bytesToHex(tokenA))
    expect(bytesToHex(receipt!.from)).toBe(bytesToHex(sender))
    await reopened.database.close()
  })

  it('writes a large state ahead of its block in chunks, the old head standing until the block batch', async () => {
    const { database, chain, dir } = await openStore(undefined, true)
    await chain.initGenesis(genesis())
    const stateStore = database.sublevel('state')
    const stateKey = (i: number) => Uint8Array.of(0x5e, i >> 8, i & 0xff)
    const ops = Array.from({ length: 2_000 }, (_, i) => ({
      type: 'put' as const,
      sublevel: stateStore,
      key: stateKey(i),
      value: Uint8Array.of(i & 0xff),
    }))
    // Each batch the store hands LevelDB: how many operations, how many of them are state, and how
    // many state batches were still being written when it was handed over (each takes 20 ms more).
    const batches: { size: number; state: number; stateInFlight: number }[] = []
    let stateInFlight = 0
    const batch = database.batch.bind(database)
    database.batch = async (written) => {
      const state = written.filter((op) => op.sublevel === stateStore).length
      batches.push({ size: written.length, state, stateInFlight })
      if (state === 0) return batch(written)
      stateInFlight++
      await batch(written)
      await new Promise((resolve) => setTimeout(resolve, 20))
      stateInFlight--
    }
    let released = false
    const one = child(chain.head(), [])
    const appended = chain.appendBlock(one, { ops, release: () => (released = true) })
    // The event loop runs while the chunks are written, and what it sees is the old head.
    let turnsSeen = 0
    let settled = false
    void appended.finally(() => (settled = true))
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve))
      if (settled || released) break
      turnsSeen++
      expect(chain.head().header.number).toBe(0n)
    }
    await appended
    expect(turnsSeen).toBeGreaterThan(1)
    // The state first, in chunks written side by side, then, once they are all written, the
    // block's own batch without it.
    expect(batches).toEqual([
      { size: 1_000, state: 1_000, stateInFlight: 0 },
      { size: 1_000, state: 1_000, stateInFlight: 1 },
      { size: expect.any(Number), state: 0, stateInFlight: 0 },
    ])
    expect(released).toBe(true)
    expect(chain.head().hash()).toEqual(one.block.hash())
    expect([...(await stateStore.get(stateKey(0)))!]).toEqual([0])
    expect([...(await stateStore.get(stateKey(1_999)))!]).toEqual([1_999 & 0xff])
    await database.close()

    const reopened = await openStore(dir)
    expect(await reopened.chain.open()).toBe(true)
    expect(reopened.chain.head().hash()).toEqual(one.block.hash())
    await reopened.database.close()
  })

  it('keeps the old head when the block fails after its state went ahead, and takes the block again', async () => {
    const { database, chain, dir } = await openStore(undefined, true)
    await chain.initGenesis(genesis())
    const stateStore = database.sublevel('state')
    const ops = Array.from({ length: 1_500 }, (_, i) => ({
      type: 'put' as const,
      sublevel: stateStore,
      key: Uint8Array.of(0x5e, i >> 8, i & 0xff),
      value: Uint8Array.of(1),
    }))
    // The block's own batch (the one without state) fails, as if the process died before it.
    const batch = database.batch.bind(database)
    database.batch = async (written) => {
      if (written.every((op) => op.sublevel !== stateStore)) throw new Error('disk gone')
      return batch(written)
    }
    const one = child(chain.head(), [])
    await expect(chain.appendBlock(one, { ops, release: () => {} })).rejects.toThrow('disk gone')
    expect(chain.head().header.number).toBe(0n)
    await database.close()

    const reopened = await openStore(dir, true)
    expect(await reopened.chain.open()).toBe(true)
    expect(reopened.chain.head().header.number).toBe(0n)
    expect(await reopened.chain.getTransactionLocation(one.block.transactions[0]!.hash())).toBeUndefined()
    await reopened.chain.appendBlock(one, { ops, release: () => {} })
    expect(reopened.chain.head().hash()).toEqual(one.block.hash())
    await reopened.database.close()
  })

  it('refuses a block that does not extend the latest head', async () => {
    const { database, chain } = await openStore()
    await chain.initGenesis(genesis())
    const g = chain.head()
    await chain.appendBlock(child(g, []))
    const sibling = child(g, [], 7)
    await expect(chain.appendBlock(sibling)).rejects.toThrow(/does not extend/)
    await database.close()
  })

  it('finds logs by address and topic through the index over a long range, and all logs without filters', async () => {
    const { database, chain } = await openStore()
    await chain.initGenesis(genesis())
    for (let i = 1; i <= 300; i++) {
      const logs: StoredReceipt['logs'] =
        i % 100 === 0
          ? [[tokenB, [transferTopic, otherTopic], new Uint8Array(0)]]
          : i % 2 === 0
            ? [[tokenA, [otherTopic], new Uint8Array(0)]]
            : []
      await chain.appendBlock(child(chain.head(), logs))
    }
    const limits = { maxResults: 1000 }
    const byAddress = await chain.getLogs({ fromBlock: 0n, toBlock: 300n, addresses: [tokenB] }, limits)
    expect(byAddress.map((l) => l.blockNumber)).toEqual([100n, 200n, 300n])
    const byTopic = await chain.getLogs({ fromBlock: 150n, toBlock: 300n, topics: [[transferTopic]] }, limits)
    expect(byTopic.map((l) => l.blockNumber)).toEqual([200n, 300n])
    const secondPosition = await chain.getLogs({ fromBlock: 0n, toBlock: 300n, topics: [null, [otherTopic]] }, limits)
    expect(secondPosition).toHaveLength(3)
    const all = await chain.getLogs({ fromBlock: 1n, toBlock: 10n }, limits)
    expect(all.map((l) => l.blockNumber)).toEqual([2n, 4n, 6n, 8n, 10n])
    await expect(
      chain.getLogs({ fromBlock: 0n, toBlock: 300n, addresses: [tokenA] }, { maxResults: 10 }),
    ).rejects.toThrow(/more than 10 results/)
    await database.close()
  })

  it('reorgs to a side chain: rewrites the canonical index, drops old txs and logs, and reports both sides', async () => {
    const { database, chain } = await openStore()
    await chain.initGenesis(genesis())
    const g = chain.head()
    const a1 = child(g, [[tokenA, [transferTopic], new Uint8Array(0)]])
    await chain.appendBlock(a1)
    const a2 = child(a1.block, [[tokenA, [transferTopic], new Uint8Array(0)]])
    await chain.appendBlock(a2)
    await chain.setHead('safe', a1.block.hash())

    const b1 = child(g, [[tokenB, [transferTopic], new Uint8Array(0)]], 5)
    const b2 = child(b1.block, [], 5)
    const b3 = child(b2.block, [], 5)
    for (const record of [b1, b2, b3]) await chain.putBlock(record)
    const branch = await chain.branchOf(b3)
    expect(branch.fork.block.hash()).toEqual(g.hash())
    expect(branch.added.map((r) => r.block.hash())).toEqual([b1, b2, b3].map((r) => r.block.hash()))
    expect((await chain.branchOf(a2)).added).toEqual([])
    const changes: HeadChange[] = []
    chain.onHeadChange((change) => changes.push(change))
    await chain.setLatest(b3.block.hash())

    expect(chain.head().hash()).toEqual(b3.block.hash())
    expect(bytesToHex((await chain.getCanonicalHash(1n))!)).toBe(bytesToHex(b1.block.hash()))
    expect(await chain.getTransactionLocation(a2.block.transactions[0]!.hash())).toBeUndefined()
    expect((await chain.getTransactionLocation(b1.block.transactions[0]!.hash()))?.record.block.hash()).toEqual(
      b1.block.hash(),
    )
    // The safe head pointed into the dropped branch: it falls back to the common ancestor.
    expect(chain.head('safe').hash()).toEqual(g.hash())
    const logs = await chain.getLogs({ fromBlock: 0n, toBlock: 3n, topics: [[transferTopic]] }, { maxResults: 100 })
    expect(logs.map((l) => bytesToHex(l.address))).toEqual([bytesToHex(tokenB)])
    expect(changes).toHaveLength(1)
    expect(changes[0]!.removed.map((r) => r.block.header.number)).toEqual([2n, 1n])
    expect(changes[0]!.added.map((r) => r.block.header.number)).toEqual([1n, 2n, 3n])
    await database.close()
  })
})
