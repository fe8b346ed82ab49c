import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { type Address, hexToBytes } from '@ethereumjs/util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openGenesisChain } from '@cairn/executor/testing'
import { Mempool } from '@cairn/mempool'
import { DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import { createLogger } from '@cairn/telemetry'
import { Sequencer } from './sequencer.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A sequencer over a real chain on level and a real pool reading the head's state. */
async function startSequencer(blockTime: number, options: { start?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-sequencer-'))
  const { common, database, chain, state, executor } = await openGenesisChain(dir, devGenesis())
  const mempool = new Mempool({
    common,
    baseFee: chain.head().header.calcNextBaseFee(),
    state: {
      async getAccount(address: Address) {
        const account = await state.view(chain.head().header.stateRoot).getAccount(address)
        return { nonce: account?.nonce ?? 0n, balance: account?.balance ?? 0n }
      },
    },
  })
  /** A sequencer over this chain and pool; a second one stands for the node restarted on the same datadir. */
  const newSequencer = () => {
    const sequencer = new Sequencer({
      chain,
      state,
      executor,
      mempool,
      logger: createLogger({ level: 'silent' }),
      blockTime,
    })
    cleanups.push(() => sequencer.stop())
    return sequencer
  }
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => database.close(),
  )
  const sequencer = newSequencer()
  if (options.start !== false) sequencer.start()
  /** A transfer from dev account 0, priced well above the next base fee. */
  const transfer = (nonce: number) =>
    createFeeMarket1559Tx(
      {
        nonce,
        to: DEV_ACCOUNTS[1]!.address,
        value: 1n,
        gasLimit: 21_000n,
        maxFeePerGas: chain.head().header.calcNextBaseFee() * 4n + 1_000_000_000n,
        maxPriorityFeePerGas: 1n,
        chainId: common.chainId(),
      },
      { common },
    ).sign(hexToBytes(DEV_ACCOUNTS[0]!.privateKey))
  return { chain, mempool, transfer, sequencer, newSequencer }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once `predicate` holds, polling every 5 ms; fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(5)
  }
}

/** Sleeps until `offsetMs` into the next slot of `slotMs` (slots start at multiples of it since the epoch). */
async function intoNextSlot(slotMs: number, offsetMs: number): Promise<number> {
  const slotStart = (Math.floor(Date.now() / slotMs) + 1) * slotMs
  await sleep(slotStart + offsetMs - Date.now())
  return slotStart
}

describe('Sequencer', () => {
  it('builds an idle slot’s block when its first transaction arrives, not a slot later', async () => {
    const { chain, mempool, transfer } = await startSequencer(4)
    const slotStart = await intoNextSlot(4000, 200)
    const before = chain.head().header
    // Nothing waited when the slot began, so it has no block yet.
    expect(before.timestamp).toBeLessThan(BigInt(slotStart / 1000))

    const tx = transfer(0)
    const sent = Date.now()
    await mempool.addRaw(tx.serialize())
    await until(() => chain.head().header.number > before.number, 4000)
    const included = Date.now() - sent
    const block = chain.head()
    expect(block.transactions.map((t) => t.hash())).toEqual([tx.hash()])
    expect(block.header.timestamp).toBe(BigInt(slotStart / 1000))
    // Built on arrival: the slot's empty-block time (3.6 s in) and the next slot (4 s) are seconds away.
    expect(included).toBeLessThan(2000)
  })

  it('opens the slot it starts in, unless the head was stamped in it', async () => {
    const { chain, mempool, transfer, sequencer, newSequencer } = await startSequencer(4, { start: false })
    const slotStart = await intoNextSlot(4000, 200)
    const genesis = chain.head().header
    sequencer.start()
    // Started in a slot without a block: the first arrival is built at once, not at the next slot (3.8 s away).
    const first = transfer(0)
    const sent = Date.now()
    await mempool.addRaw(first.serialize())
    await until(() => chain.head().header.number > genesis.number, 4000)
    expect(Date.now() - sent).toBeLessThan(2000)
    expect(chain.head().transactions.map((t) => t.hash())).toEqual([first.hash()])
    expect(chain.head().header.timestamp).toBe(BigInt(slotStart / 1000))

    // Restarted within that slot, which has its block now: the next arrival waits for the next slot,
    // also when the timer that opens it fires early by the wall clock (timers run on a monotonic
    // clock): here the wall clock is set 300 ms back once the timer is armed.
    await sequencer.stop()
    newSequencer().start()
    const realNow = Date.now
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 300)
    const built = chain.head().header.number
    const second = transfer(1)
    await mempool.addRaw(second.serialize())
    await until(() => chain.head().header.number > built, 6000)
    expect(Date.now()).toBeGreaterThanOrEqual(slotStart + 4000)
    expect(chain.head().transactions.map((t) => t.hash())).toEqual([second.hash()])
    expect(chain.head().header.timestamp).toBe(BigInt(slotStart / 1000 + 4))
  })

  it('under a steady stream keeps one block per slot, taking every transaction in order', async () => {
    const { chain, mempool, transfer } = await startSequencer(1)
    await intoNextSlot(1000, 100)
    const first = chain.head().header.number
    // A transfer every 25 ms or so for 3.5 slots (a loaded machine sends fewer, not later).
    const sent: Uint8Array[] = []
    const streamEnd = Date.now() + 3500
    for (let nonce = 0; Date.now() < streamEnd; nonce++) {
      const tx = transfer(nonce)
      sent.push(tx.hash())
      await mempool.addRaw(tx.serialize())
      await sleep(25)
    }
    await until(() => chain.head().header.number > first && mempool.status().pending === 0, 3000)
    const blocks = []
    for (let n = first + 1n; n <= chain.head().header.number; n++) blocks.push((await chain.getBlockByNumber(n))!.block)
    // Every slot of the stream has its block, stamped with its second: none skipped, none doubled.
    expect(blocks.length).toBeGreaterThanOrEqual(4)
    expect(blocks.at(-1)!.header.timestamp).toBeLessThanOrEqual(BigInt(Math.floor(Date.now() / 1000)))
    for (const [i, block] of blocks.entries()) {
      if (i > 0) expect(block.header.timestamp).toBe(blocks[i - 1]!.header.timestamp + 1n)
    }
    expect(blocks.flatMap((block) => block.transactions.map((tx) => tx.hash()))).toEqual(sent)
  })

  it('gives an idle slot one empty block near its end, and never runs ahead of the clock', async () => {
    const { chain } = await startSequencer(1)
    await intoNextSlot(1000, 0)
    const first = chain.head().header.number
    await sleep(3000)
    const blocks = await Promise.all(
      Array.from({ length: Number(chain.head().header.number - first) }, (_, i) =>
        chain.getBlockByNumber(first + 1n + BigInt(i)),
      ),
    )
    expect(blocks.length).toBeGreaterThanOrEqual(2)
    expect(blocks.length).toBeLessThanOrEqual(4)
    const timestamps = blocks.map((record) => record!.block.header.timestamp)
    for (const [i, timestamp] of timestamps.entries()) {
      expect(blocks[i]!.block.transactions).toHaveLength(0)
      if (i > 0) expect(timestamp).toBe(timestamps[i - 1]! + 1n)
    }
    expect(timestamps.at(-1)!).toBeLessThanOrEqual(BigInt(Math.floor(Date.now() / 1000)))
  })
})
