import type { TypedTransaction } from '@ethereumjs/tx'
import { RLP } from '@ethereumjs/rlp'
import { bytesToHex, concatBytes, hexToBytes } from '@ethereumjs/util'
import { createSenderRecovery } from '@cairn/executor'
import { describe, expect, it } from 'vitest'
import {
  ACCOUNTS,
  ETH,
  GWEI,
  InMemoryState,
  type TxParams,
  accessListTx,
  dynamicFeeTx,
  legacyTx,
  signedSetCodeTx,
  testCommon,
} from '../test/fixtures.ts'
import type { MempoolJournal } from './journal.ts'
import type { MempoolConfig } from './config.ts'
import { MempoolError } from './errors.ts'
import { Mempool } from './mempool.ts'

const common = testCommon()
const [alice, bob, carol, dave, erin] = ACCOUNTS as [
  (typeof ACCOUNTS)[0],
  (typeof ACCOUNTS)[0],
  (typeof ACCOUNTS)[0],
  (typeof ACCOUNTS)[0],
  (typeof ACCOUNTS)[0],
]

function setup(config: Partial<MempoolConfig> = {}, options: { now?: () => number } = {}) {
  const state = new InMemoryState()
  const pool = new Mempool({ common, state, config, baseFee: GWEI, ...options })
  return { pool, state }
}

function tx(from: typeof alice, params: TxParams = {}): TypedTransaction {
  return dynamicFeeTx(from, params, common)
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise
  } catch (error) {
    if (error instanceof MempoolError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('expected a rejection')
}

function hex(t: TypedTransaction): string {
  return bytesToHex(t.hash())
}

function drain(pool: Mempool, baseFee: bigint): string[] {
  const selection = pool.selectForBlock(baseFee)
  const order: string[] = []
  for (let next = selection.peek(); next !== undefined; next = selection.peek()) {
    order.push(hex(next))
    selection.shift()
  }
  return order
}

describe('Mempool admission', () => {
  it('returns the transaction hash and serves the transaction back', async () => {
    const { pool } = setup()
    const t = tx(alice)
    expect(await pool.addRaw(t.serialize())).toEqual(t.hash())
    expect(pool.has(t.hash())).toBe(true)
    expect(pool.has(hex(t) as `0x${string}`)).toBe(true)
    expect(pool.get(t.hash())?.serialize()).toEqual(t.serialize())
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
  })

  it('accepts a built transaction through add', async () => {
    const { pool } = setup()
    const t = tx(alice)
    expect(await pool.add(t)).toEqual(t.hash())
  })

  it('refuses a fee above the caller’s cap with geth’s text, and caps nothing unless asked', async () => {
    const { pool } = setup()
    // 21,000 gas × 50,000 gwei = 1.05 ether.
    const costly = tx(alice, { feeCap: 50_000n * GWEI })
    expect(await rejection(pool.addRaw(costly.serialize(), { maxTxFee: ETH }))).toEqual({
      code: 'TX_FEE_CAP_EXCEEDED',
      message: 'tx fee (1.05 ether) exceeds the configured cap (1.00 ether)',
    })
    expect(pool.has(costly.hash())).toBe(false)
    const legacy = legacyTx(bob, { gasPrice: 50_000n * GWEI }, common)
    expect((await rejection(pool.addRaw(legacy.serialize(), { maxTxFee: ETH }))).code).toBe('TX_FEE_CAP_EXCEEDED')
    // Just under the cap, with no cap (0), and for a caller that sets none (a transaction from a peer): admitted.
    const atCap = tx(alice, { feeCap: ETH / 21_000n })
    expect(await pool.addRaw(atCap.serialize(), { maxTxFee: ETH })).toEqual(atCap.hash())
    expect(await pool.addRaw(legacy.serialize(), { maxTxFee: 0n })).toEqual(legacy.hash())
    expect(await pool.addRaw(tx(alice, { nonce: 1n, feeCap: 50_000n * GWEI }).serialize())).toBeDefined()
  })

  it('rejects a transaction it already holds with already known', async () => {
    const { pool } = setup()
    const t = tx(alice)
    await pool.addRaw(t.serialize())
    expect(await rejection(pool.addRaw(t.serialize()))).toEqual({ code: 'ALREADY_KNOWN', message: 'already known' })
  })

  it('rejects a nonce below the account nonce with nonce too low', async () => {
    const { pool, state } = setup()
    state.set(alice.address, { nonce: 5n })
    expect(await rejection(pool.addRaw(tx(alice, { nonce: 3n }).serialize()))).toEqual({
      code: 'NONCE_TOO_LOW',
      message: 'nonce too low: next nonce 5, tx nonce 3',
    })
  })

  it('rejects a transaction costing more than the balance, with geth’s figures', async () => {
    const { pool, state } = setup()
    state.set(alice.address, { balance: 1000n })
    const cost = 21_000n * 10n * GWEI + 1n
    expect(await rejection(pool.addRaw(tx(alice).serialize()))).toEqual({
      code: 'INSUFFICIENT_FUNDS',
      message: `insufficient funds for gas * price + value: balance 1000, tx cost ${cost}, overshot ${cost - 1000n}`,
    })
  })

  it('counts the pending transactions’ cost against the balance', async () => {
    const { pool, state } = setup()
    const cost = 21_000n * 10n * GWEI + 1n
    const balance = cost + cost / 2n
    state.set(alice.address, { balance })
    await pool.addRaw(tx(alice, { nonce: 0n }).serialize())
    expect(await rejection(pool.addRaw(tx(alice, { nonce: 1n }).serialize()))).toEqual({
      code: 'INSUFFICIENT_FUNDS',
      message: `insufficient funds for gas * price + value: balance ${balance}, queued cost ${cost}, tx cost ${cost}, overshot ${2n * cost - balance}`,
    })
  })

  it('reads the balance again before refusing for funds (a transfer may have arrived)', async () => {
    const { pool, state } = setup()
    await pool.addRaw(tx(alice, { nonce: 0n }).serialize())
    state.set(bob.address, { balance: 0n })
    await pool.addRaw(tx(alice, { nonce: 1n }).serialize()).catch(() => undefined)
    expect(await rejection(pool.addRaw(tx(bob).serialize()))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' })
    state.set(bob.address, { balance: ETH })
    await expect(pool.addRaw(tx(bob).serialize())).resolves.toBeInstanceOf(Uint8Array)
  })

  it('reads a sender’s state once per head, not once per transaction', async () => {
    const { pool, state } = setup()
    for (let nonce = 0n; nonce < 3n; nonce++) await pool.addRaw(tx(alice, { nonce }).serialize())
    expect(state.reads).toBe(1)
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [] })
    await pool.addRaw(tx(alice, { nonce: 3n }).serialize())
    expect(state.reads).toBe(2)
  })

  it('shares one state read among concurrent adds from a new sender', async () => {
    const { pool, state } = setup()
    const raws = [0n, 1n, 2n, 3n].map((nonce) => tx(alice, { nonce }).serialize())
    await Promise.all(raws.map((raw) => pool.addRaw(raw)))
    expect(state.reads).toBe(1)
    expect(pool.status()).toEqual({ pending: 4, queued: 0 })
  })
})

describe('Mempool with senders recovered on worker threads', () => {
  it('admits transactions from many senders and refuses a bad signature with geth text', async () => {
    const recovery = createSenderRecovery(2)
    try {
      const pool = new Mempool({
        common,
        state: new InMemoryState(),
        baseFee: GWEI,
        recoverSenders: (txs) => recovery.prime(txs),
      })
      const txs = [alice, bob, carol, dave, erin].flatMap((from) => [0n, 1n, 2n].map((nonce) => tx(from, { nonce })))
      // Sent concurrently, as an RPC batch would: the pool settles each sender's nonces whatever the order.
      const hashes = await Promise.all(txs.map((t) => pool.addRaw(t.serialize())))
      expect(hashes.map((h) => bytesToHex(h))).toEqual(txs.map(hex))
      expect(pool.status()).toEqual({ pending: 15, queued: 0 })
      for (const t of txs)
        expect(pool.get(t.hash())?.getSenderAddress().toString()).toBe(t.getSenderAddress().toString())

      const fields = RLP.decode(tx(alice, { nonce: 3n }).serialize().subarray(1)) as Uint8Array[]
      fields[10] = hexToBytes('0x05') // r is no curve point: no key recovers
      expect(await rejection(pool.addRaw(concatBytes(new Uint8Array([2]), RLP.encode(fields))))).toEqual({
        code: 'INVALID_SENDER',
        message: 'invalid sender: invalid transaction v, r, s values',
      })
    } finally {
      await recovery.close()
    }
  })
})

describe('Mempool stats', () => {
  it('counts admissions, replacements, inclusions, evictions and refusals by code', async () => {
    const { pool, state } = setup({ globalQueue: 1 })
    const a0 = tx(alice, { nonce: 0n, tip: GWEI, feeCap: 10n * GWEI })
    await pool.addRaw(a0.serialize())
    await pool.addRaw(a0.serialize()).catch(() => undefined)
    const a0bumped = tx(alice, { nonce: 0n, tip: 2n * GWEI, feeCap: 20n * GWEI })
    await pool.addRaw(a0bumped.serialize())
    await pool.addRaw(tx(bob, { nonce: 4n, tip: GWEI }).serialize())
    await pool.addRaw(tx(carol, { nonce: 4n, tip: 2n * GWEI }).serialize())
    state.set(alice.address, { nonce: 1n })
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [a0bumped.hash()] })
    expect(pool.stats()).toEqual({
      pending: 0,
      queued: 1,
      senders: 2,
      accepted: 4,
      replaced: 1,
      evicted: 1,
      invalidated: 0,
      expired: 0,
      included: 1,
      rejected: { ALREADY_KNOWN: 1 },
    })
  })
})

describe('Mempool journaling', () => {
  it('refuses a transaction it could not journal and leaves the pool unchanged', async () => {
    const failing = {
      append() {
        throw new Error('ENOSPC: no space left on device')
      },
    } as unknown as MempoolJournal
    const pool = new Mempool({ common, state: new InMemoryState(), journal: failing, baseFee: GWEI })
    const error = await rejection(pool.addRaw(tx(alice).serialize()))
    expect(error.code).toBe('MEMPOOL_JOURNAL_WRITE_FAILED')
    expect(error.message).toMatch(/ENOSPC/)
    expect(pool.size).toBe(0)
  })
})

describe('Mempool replacement', () => {
  const original = { nonce: 0n, tip: 10n * GWEI, feeCap: 100n * GWEI }

  it('rejects a 9% bump as replacement transaction underpriced', async () => {
    const { pool } = setup()
    await pool.addRaw(tx(alice, original).serialize())
    const bumped = tx(alice, { nonce: 0n, tip: 10_900_000_000n, feeCap: 109n * GWEI })
    expect(await rejection(pool.addRaw(bumped.serialize()))).toEqual({
      code: 'REPLACEMENT_UNDERPRICED',
      message: 'replacement transaction underpriced',
    })
  })

  it('accepts a 10% bump of tip and fee cap and drops the replaced transaction', async () => {
    const { pool } = setup()
    const first = tx(alice, original)
    await pool.addRaw(first.serialize())
    const bumped = tx(alice, { nonce: 0n, tip: 11n * GWEI, feeCap: 110n * GWEI })
    await pool.addRaw(bumped.serialize())
    expect(pool.has(first.hash())).toBe(false)
    expect(pool.has(bumped.hash())).toBe(true)
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
    expect(drain(pool, GWEI)).toEqual([hex(bumped)])
  })

  it('requires the fee cap to rise too, not only the tip', async () => {
    const { pool } = setup()
    await pool.addRaw(tx(alice, original).serialize())
    const tipOnly = tx(alice, { nonce: 0n, tip: 20n * GWEI, feeCap: 100n * GWEI })
    expect((await rejection(pool.addRaw(tipOnly.serialize()))).code).toBe('REPLACEMENT_UNDERPRICED')
    const feeCapOnly = tx(alice, { nonce: 0n, tip: 10n * GWEI, feeCap: 200n * GWEI })
    expect((await rejection(pool.addRaw(feeCapOnly.serialize()))).code).toBe('REPLACEMENT_UNDERPRICED')
  })

  it('honours a configured price bump', async () => {
    const { pool } = setup({ priceBumpPercent: 25 })
    await pool.addRaw(tx(alice, original).serialize())
    const bumped = tx(alice, { nonce: 0n, tip: 12n * GWEI, feeCap: 120n * GWEI })
    expect((await rejection(pool.addRaw(bumped.serialize()))).code).toBe('REPLACEMENT_UNDERPRICED')
    await pool.addRaw(tx(alice, { nonce: 0n, tip: 13n * GWEI, feeCap: 125n * GWEI }).serialize())
  })

  it('replaces a queued transaction in place, still queued', async () => {
    const { pool } = setup()
    await pool.addRaw(tx(alice, { ...original, nonce: 3n }).serialize())
    const bumped = tx(alice, { nonce: 3n, tip: 11n * GWEI, feeCap: 110n * GWEI })
    await pool.addRaw(bumped.serialize())
    expect(pool.status()).toEqual({ pending: 0, queued: 1 })
    expect(pool.statusOf(bumped.hash())).toBe('queued')
  })
})

describe('Mempool pending and queued', () => {
  it('queues a transaction behind a nonce gap and promotes it when the gap fills', async () => {
    const { pool } = setup()
    const announced: string[] = []
    pool.onPending((t) => announced.push(hex(t)))
    const [t0, t1, t2] = [0n, 1n, 2n].map((nonce) => tx(alice, { nonce })) as [
      TypedTransaction,
      TypedTransaction,
      TypedTransaction,
    ]
    await pool.addRaw(t0.serialize())
    await pool.addRaw(t2.serialize())
    expect(pool.status()).toEqual({ pending: 1, queued: 1 })
    expect(pool.statusOf(t2.hash())).toBe('queued')
    expect(await pool.pendingNonce(alice.address)).toBe(1n)

    await pool.addRaw(t1.serialize())
    expect(pool.status()).toEqual({ pending: 3, queued: 0 })
    expect(pool.statusOf(t2.hash())).toBe('pending')
    expect(announced).toEqual([hex(t0), hex(t1), hex(t2)])
    expect(await pool.pendingNonce(alice.address)).toBe(3n)
  })

  it('answers pendingNonce from state for a sender with nothing pooled', async () => {
    const { pool, state } = setup()
    state.set(bob.address, { nonce: 7n })
    expect(await pool.pendingNonce(bob.address)).toBe(7n)
  })

  it('lists content by sender and nonce, split into pending and queued', async () => {
    let clock = 1_000_000
    const { pool } = setup({}, { now: () => clock })
    const a0 = tx(alice, { nonce: 0n })
    const a5 = tx(alice, { nonce: 5n })
    const b0 = tx(bob, { nonce: 0n })
    for (const t of [a0, a5, b0]) {
      await pool.addRaw(t.serialize())
      clock += 1_000
    }
    const content = pool.content()
    expect([...content.pending.keys()].sort()).toEqual([alice.address.toString(), bob.address.toString()].sort())
    expect(content.pending.get(alice.address.toString())?.get(0n)?.hash()).toEqual(a0.hash())
    expect(content.queued.get(alice.address.toString())?.get(5n)?.hash()).toEqual(a5.hash())
    expect(content.queued.has(bob.address.toString())).toBe(false)
    const fromAlice = pool.contentFrom(alice.address)
    expect([...fromAlice.pending.keys()]).toEqual([0n])
    expect([...fromAlice.queued.keys()]).toEqual([5n])
    expect(pool.contentFrom(carol.address).pending.size).toBe(0)
    expect(pool.pendingTransactions().map(hex).sort()).toEqual([hex(a0), hex(b0)].sort())
    const hashes = pool.pendingHashes()
    expect(hashes.map((h) => h.hashHex).sort()).toEqual([hex(a0), hex(b0)].sort())
    expect(hashes.map((h) => bytesToHex(h.hash)).sort()).toEqual([hex(a0), hex(b0)].sort())
    // When each entered the pool, on the pool's clock: re-announcements count from it.
    expect(hashes.find((h) => h.hashHex === hex(a0))?.addedAt).toBe(1_000_000)
    expect(hashes.find((h) => h.hashHex === hex(b0))?.addedAt).toBe(1_002_000)
    expect(pool.rawTransaction(a5.hash())).toEqual(a5.serialize())
    expect(pool.rawTransaction(bytesToHex(b0.hash()))).toEqual(b0.serialize())
    expect(pool.rawTransaction(tx(carol, { nonce: 0n }).hash())).toBeUndefined()
  })

  it('keeps working when a pending listener throws, and stops calling an unsubscribed one', async () => {
    const { pool } = setup()
    const unsubscribe = pool.onPending(() => {
      throw new Error('subscriber bug')
    })
    const seen: string[] = []
    const stop = pool.onPending((t) => seen.push(hex(t)))
    await pool.addRaw(tx(alice, { nonce: 0n }).serialize())
    unsubscribe()
    stop()
    await pool.addRaw(tx(alice, { nonce: 1n }).serialize())
    expect(seen).toHaveLength(1)
    expect(pool.status().pending).toBe(2)
  })
})

describe('Mempool limits and eviction', () => {
  it('refuses more queued transactions per sender than accountQueue', async () => {
    const { pool } = setup({ accountQueue: 2 })
    await pool.addRaw(tx(alice, { nonce: 2n }).serialize())
    await pool.addRaw(tx(alice, { nonce: 3n }).serialize())
    expect(await rejection(pool.addRaw(tx(alice, { nonce: 4n }).serialize()))).toEqual({
      code: 'ACCOUNT_LIMIT_EXCEEDED',
      message: 'account limit exceeded: pooled 2 txs',
    })
  })

  it('evicts the cheapest queued transaction of another sender when the queue is full', async () => {
    const { pool } = setup({ globalQueue: 2 })
    const a5 = tx(alice, { nonce: 5n, tip: GWEI })
    const a6 = tx(alice, { nonce: 6n, tip: GWEI })
    await pool.addRaw(a5.serialize())
    await pool.addRaw(a6.serialize())
    const b5 = tx(bob, { nonce: 5n, tip: 2n * GWEI })
    await pool.addRaw(b5.serialize())
    // Equal tips: the newest goes first, and taking a6 opens no gap under anything.
    expect(pool.has(a6.hash())).toBe(false)
    expect(pool.has(a5.hash())).toBe(true)
    expect(pool.has(b5.hash())).toBe(true)
    expect(pool.status()).toEqual({ pending: 0, queued: 2 })
  })

  it('rejects with txpool is full when the newcomer is no better than the cheapest', async () => {
    const { pool } = setup({ globalQueue: 2 })
    await pool.addRaw(tx(alice, { nonce: 5n, tip: 2n * GWEI }).serialize())
    await pool.addRaw(tx(bob, { nonce: 5n, tip: 2n * GWEI }).serialize())
    expect(await rejection(pool.addRaw(tx(carol, { nonce: 5n, tip: 2n * GWEI }).serialize()))).toEqual({
      code: 'TXPOOL_FULL',
      message: 'txpool is full',
    })
    expect(pool.status()).toEqual({ pending: 0, queued: 2 })
  })

  it('evicts the cheapest pending transaction of another sender when pending is full', async () => {
    const { pool } = setup({ globalSlots: 3 })
    const a0 = tx(alice, { nonce: 0n, tip: GWEI })
    const a1 = tx(alice, { nonce: 1n, tip: 3n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: 2n * GWEI })
    for (const t of [a0, a1, b0]) await pool.addRaw(t.serialize())
    const c0 = tx(carol, { nonce: 0n, tip: 5n * GWEI })
    await pool.addRaw(c0.serialize())
    // a0 is the cheapest: it goes, and a1 with it, since a1 cannot run without a0.
    expect(pool.has(a0.hash())).toBe(false)
    expect(pool.has(a1.hash())).toBe(false)
    expect(pool.has(b0.hash())).toBe(true)
    expect(pool.has(c0.hash())).toBe(true)
    expect(pool.status()).toEqual({ pending: 2, queued: 0 })
  })

  it('evicts only the top of a sender’s nonces when that is the cheapest', async () => {
    const { pool } = setup({ globalSlots: 3 })
    const a0 = tx(alice, { nonce: 0n, tip: 3n * GWEI })
    const a1 = tx(alice, { nonce: 1n, tip: GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: 2n * GWEI })
    for (const t of [a0, a1, b0]) await pool.addRaw(t.serialize())
    await pool.addRaw(tx(carol, { nonce: 0n, tip: 5n * GWEI }).serialize())
    expect(pool.has(a0.hash())).toBe(true)
    expect(pool.has(a1.hash())).toBe(false)
    expect(pool.has(b0.hash())).toBe(true)
  })

  it('never evicts the newcomer’s own transactions and refuses when only those are cheaper', async () => {
    const { pool } = setup({ globalSlots: 2 })
    await pool.addRaw(tx(alice, { nonce: 0n, tip: GWEI }).serialize())
    await pool.addRaw(tx(bob, { nonce: 0n, tip: 9n * GWEI }).serialize())
    // alice's own nonce 0 is the cheapest, but evicting it would strand the newcomer; bob pays as much.
    expect((await rejection(pool.addRaw(tx(alice, { nonce: 1n, tip: 9n * GWEI }).serialize()))).code).toBe(
      'TXPOOL_FULL',
    )
    expect(pool.status()).toEqual({ pending: 2, queued: 0 })
  })

  it('makes no room for a sender already past its accountSlots share of a full pool', async () => {
    const { pool } = setup({ globalSlots: 3, accountSlots: 2 })
    await pool.addRaw(tx(alice, { nonce: 0n, tip: 5n * GWEI }).serialize())
    await pool.addRaw(tx(alice, { nonce: 1n, tip: 5n * GWEI }).serialize())
    await pool.addRaw(tx(bob, { nonce: 0n, tip: GWEI }).serialize())
    expect((await rejection(pool.addRaw(tx(alice, { nonce: 2n, tip: 9n * GWEI }).serialize()))).code).toBe(
      'TXPOOL_FULL',
    )
    // A sender within its share gets room made.
    await pool.addRaw(tx(carol, { nonce: 0n, tip: 9n * GWEI }).serialize())
    expect(pool.status()).toEqual({ pending: 3, queued: 0 })
  })

  it('counts the transactions a gap-filler promotes against globalSlots', async () => {
    const { pool } = setup({ globalSlots: 3 })
    await pool.addRaw(tx(bob, { nonce: 0n, tip: GWEI }).serialize())
    await pool.addRaw(tx(alice, { nonce: 1n, tip: 5n * GWEI }).serialize())
    await pool.addRaw(tx(alice, { nonce: 2n, tip: 5n * GWEI }).serialize())
    await pool.addRaw(tx(alice, { nonce: 0n, tip: 5n * GWEI }).serialize())
    // alice's 0 promotes 1 and 2: four pending would exceed three, so bob's goes.
    expect(pool.status()).toEqual({ pending: 3, queued: 0 })
    expect(pool.contentFrom(bob.address).pending.size).toBe(0)
  })
})

describe('Mempool block selection', () => {
  it('offers the best tip across senders, each sender in nonce order', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, tip: GWEI })
    const a1 = tx(alice, { nonce: 1n, tip: 5n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: 3n * GWEI })
    const c0 = tx(carol, { nonce: 0n, tip: 2n * GWEI })
    for (const t of [a1, a0, b0, c0]) await pool.addRaw(t.serialize())
    expect(drain(pool, GWEI)).toEqual([hex(b0), hex(c0), hex(a0), hex(a1)])
  })

  it('ranks by effective tip at the base fee, capped by the fee cap', async () => {
    const { pool } = setup()
    // At base fee 8 gwei: alice pays min(5, 10 - 8) = 2 gwei, bob min(3, 20 - 8) = 3 gwei.
    const a0 = tx(alice, { tip: 5n * GWEI, feeCap: 10n * GWEI })
    const b0 = tx(bob, { tip: 3n * GWEI, feeCap: 20n * GWEI })
    for (const t of [a0, b0]) await pool.addRaw(t.serialize())
    expect(drain(pool, 8n * GWEI)).toEqual([hex(b0), hex(a0)])
    expect(drain(pool, GWEI)).toEqual([hex(a0), hex(b0)])
  })

  it('pop skips the rest of that sender', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, tip: 5n * GWEI })
    const a1 = tx(alice, { nonce: 1n, tip: 5n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: GWEI })
    for (const t of [a0, a1, b0]) await pool.addRaw(t.serialize())
    const selection = pool.selectForBlock(GWEI)
    expect(selection.peek()?.hash()).toEqual(a0.hash())
    selection.pop()
    expect(selection.peek()?.hash()).toEqual(b0.hash())
    selection.shift()
    expect(selection.peek()).toBeUndefined()
  })

  it('does not offer transactions whose fee cap is below the base fee, nor the nonces after them', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, feeCap: 10n * GWEI })
    const a1 = tx(alice, { nonce: 1n, feeCap: 2n * GWEI })
    const a2 = tx(alice, { nonce: 2n, feeCap: 10n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: GWEI, feeCap: 2n * GWEI })
    for (const t of [a0, a1, a2, b0]) await pool.addRaw(t.serialize())
    expect(drain(pool, 3n * GWEI)).toEqual([hex(a0)])
  })

  it('ranks legacy and access-list transactions by gas price above the base fee', async () => {
    const { pool } = setup()
    const legacy = legacyTx(alice, { gasPrice: 4n * GWEI }, common)
    const accessList = accessListTx(bob, { gasPrice: 6n * GWEI })
    const dynamic = tx(carol, { tip: 4n * GWEI, feeCap: 100n * GWEI })
    for (const t of [legacy, accessList, dynamic]) await pool.addRaw(t.serialize())
    // At base fee 1 gwei: the access-list transaction pays 5 gwei, the dynamic-fee one 4, the legacy one 3.
    expect(drain(pool, GWEI)).toEqual([hex(accessList), hex(dynamic), hex(legacy)])
  })

  it('does not offer queued transactions', async () => {
    const { pool } = setup()
    await pool.addRaw(tx(alice, { nonce: 1n }).serialize())
    expect(pool.selectForBlock(GWEI).peek()).toBeUndefined()
  })

  it('takes in on refresh what became pending after it was made, in price order', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, tip: GWEI })
    await pool.addRaw(a0.serialize())
    const selection = pool.selectForBlock(GWEI)
    expect(selection.peek()?.hash()).toEqual(a0.hash())
    selection.shift()
    expect(selection.peek()).toBeUndefined()
    expect(selection.refresh()).toBe(false)

    const a1 = tx(alice, { nonce: 1n, tip: GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: 3n * GWEI })
    const c1 = tx(carol, { nonce: 1n, tip: 9n * GWEI }) // queued behind a gap: not offered
    for (const t of [a1, b0, c1]) await pool.addRaw(t.serialize())
    expect(selection.peek()).toBeUndefined() // nothing changes until it refreshes
    expect(selection.refresh()).toBe(true)
    const order: string[] = []
    for (let next = selection.peek(); next !== undefined; next = selection.peek()) {
      order.push(hex(next))
      selection.shift()
    }
    expect(order).toEqual([hex(b0), hex(a1)])
  })

  it('never offers again on refresh a nonce it passed, nor a sender it skipped', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, tip: 2n * GWEI, feeCap: 10n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: GWEI })
    for (const t of [a0, b0]) await pool.addRaw(t.serialize())
    const selection = pool.selectForBlock(GWEI)
    selection.shift() // a0 included
    selection.pop() // bob skipped
    // A replacement of the included nonce, and bob's next nonce.
    await pool.addRaw(tx(alice, { nonce: 0n, tip: 5n * GWEI, feeCap: 20n * GWEI }).serialize())
    await pool.addRaw(tx(bob, { nonce: 1n, tip: GWEI }).serialize())
    expect(selection.refresh()).toBe(false)
    expect(selection.peek()).toBeUndefined()

    const a1 = tx(alice, { nonce: 1n, tip: GWEI })
    await pool.addRaw(a1.serialize())
    expect(selection.refresh()).toBe(true)
    expect(selection.peek()?.hash()).toEqual(a1.hash())
  })

  it('offers on refresh the replacement of the nonce it offers next, ranked by its new tip', async () => {
    const { pool } = setup()
    const a0 = tx(alice, { nonce: 0n, tip: GWEI, feeCap: 10n * GWEI })
    const b0 = tx(bob, { nonce: 0n, tip: 2n * GWEI })
    for (const t of [a0, b0]) await pool.addRaw(t.serialize())
    const selection = pool.selectForBlock(GWEI)
    expect(selection.peek()?.hash()).toEqual(b0.hash())
    const replacement = tx(alice, { nonce: 0n, tip: 3n * GWEI, feeCap: 20n * GWEI })
    await pool.addRaw(replacement.serialize())
    expect(selection.refresh()).toBe(true)
    expect(selection.peek()?.hash()).toEqual(replacement.hash())
    selection.shift()
    expect(selection.peek()?.hash()).toEqual(b0.hash())
  })

  it('tells when a transaction arrives, or that none did within the wait', async () => {
    const { pool } = setup()
    const selection = pool.selectForBlock(GWEI)
    expect(await selection.arrival(5)).toBe(false)
    const arrived = selection.arrival(60_000)
    await pool.addRaw(tx(alice).serialize())
    expect(await arrived).toBe(true)
    expect(selection.refresh()).toBe(true)
  })

  it('takes in nothing more once the pool has a new head', async () => {
    const { pool } = setup()
    const selection = pool.selectForBlock(GWEI)
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [] })
    await pool.addRaw(tx(alice).serialize())
    expect(selection.refresh()).toBe(false)
    expect(selection.peek()).toBeUndefined()
  })
})

describe('Mempool new heads', () => {
  it('takes post-block account state from the caller instead of reading it', async () => {
    const { pool, state } = setup()
    const txs = [0n, 1n, 2n].map((nonce) => tx(alice, { nonce }))
    for (const t of txs) await pool.addRaw(t.serialize())
    // The reader still answers the old state: only the handed-over values can move the nonce to 2.
    state.set(alice.address, { nonce: 0n })
    const accounts = new Map([[alice.address.toString(), { nonce: 2n, balance: 100n * ETH }]])
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [txs[0]!.hash(), txs[1]!.hash()], accounts })
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
    expect(await pool.pendingNonce(alice.address)).toBe(3n)
  })

  it('drops transactions the builder rejected and queues the sender’s later nonces behind the gap', async () => {
    const { pool } = setup()
    const [t0, t1, t2] = [0n, 1n, 2n].map((nonce) => tx(alice, { nonce })) as [
      TypedTransaction,
      TypedTransaction,
      TypedTransaction,
    ]
    for (const t of [t0, t1, t2]) await pool.addRaw(t.serialize())
    pool.removeRejected([{ tx: t1 }])
    expect(pool.has(t1.hash())).toBe(false)
    expect(pool.statusOf(t0.hash())).toBe('pending')
    expect(pool.statusOf(t2.hash())).toBe('queued')
  })

  it('removes included transactions and keeps the rest pending', async () => {
    const { pool, state } = setup()
    const txs = [0n, 1n, 2n].map((nonce) => tx(alice, { nonce }))
    for (const t of txs) await pool.addRaw(t.serialize())
    state.set(alice.address, { nonce: 2n })
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [txs[0]!.hash(), txs[1]!.hash()] })
    expect(pool.has(txs[0]!.hash())).toBe(false)
    expect(pool.has(txs[1]!.hash())).toBe(false)
    expect(pool.statusOf(txs[2]!.hash())).toBe('pending')
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
    expect(await pool.pendingNonce(alice.address)).toBe(3n)
  })

  it('drops transactions the balance no longer covers and demotes the nonces behind them', async () => {
    const { pool, state } = setup()
    const t0 = tx(alice, { nonce: 0n })
    const t1 = tx(alice, { nonce: 1n, value: 5n * ETH })
    const t2 = tx(alice, { nonce: 2n })
    for (const t of [t0, t1, t2]) await pool.addRaw(t.serialize())
    state.set(alice.address, { nonce: 1n, balance: ETH })
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [t0.hash()] })
    expect(pool.has(t1.hash())).toBe(false)
    expect(pool.statusOf(t2.hash())).toBe('queued')
    expect(pool.status()).toEqual({ pending: 0, queued: 1 })
  })

  it('re-promotes a demoted transaction when its gap is filled again', async () => {
    const { pool, state } = setup()
    const t0 = tx(alice, { nonce: 0n, value: 5n * ETH })
    const t1 = tx(alice, { nonce: 1n })
    for (const t of [t0, t1]) await pool.addRaw(t.serialize())
    state.set(alice.address, { balance: ETH })
    await pool.revalidateAll()
    expect(pool.status()).toEqual({ pending: 0, queued: 1 })
    await pool.addRaw(tx(alice, { nonce: 0n, value: 1n, tip: 2n * GWEI }).serialize())
    expect(pool.status()).toEqual({ pending: 2, queued: 0 })
  })

  it('re-reads the touched accounts of a block whose transactions it never saw', async () => {
    const { pool, state } = setup()
    const t0 = tx(alice, { nonce: 0n })
    const t1 = tx(alice, { nonce: 1n })
    for (const t of [t0, t1]) await pool.addRaw(t.serialize())
    const elsewhere = tx(alice, { nonce: 0n, tip: 7n * GWEI, feeCap: 70n * GWEI })
    state.set(alice.address, { nonce: 1n })
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [elsewhere.hash()], touchedAccounts: [alice.address] })
    expect(pool.has(t0.hash())).toBe(false)
    expect(pool.statusOf(t1.hash())).toBe('pending')
  })

  it('re-reads EIP-7702 authorities of an included set-code transaction', async () => {
    const { pool, state } = setup()
    const bobsTx = tx(bob, { nonce: 0n })
    await pool.addRaw(bobsTx.serialize())
    // alice's set-code transaction carries bob's authorization: executing it bumps bob's nonce.
    const setCode = signedSetCodeTx(alice, bob, 0n)
    await pool.addRaw(setCode.serialize())
    state.set(alice.address, { nonce: 1n })
    state.set(bob.address, { nonce: 1n })
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [setCode.hash()] })
    expect(pool.has(bobsTx.hash())).toBe(false)
    expect(pool.size).toBe(0)
  })

  it('drops transactions whose nonce the chain passed, after revalidateAll', async () => {
    const { pool, state } = setup()
    const txs = [0n, 1n, 2n].map((nonce) => tx(alice, { nonce }))
    for (const t of txs) await pool.addRaw(t.serialize())
    // Included through a path the pool did not see (another node's block, a forced inclusion).
    state.set(alice.address, { nonce: 2n })
    await pool.revalidateAll()
    expect(pool.size).toBe(1)
    expect(pool.statusOf(txs[2]!.hash())).toBe('pending')
  })

  it('demotes pending transactions when a reorg moves the nonce back', async () => {
    const { pool, state } = setup()
    state.set(alice.address, { nonce: 3n })
    const t3 = tx(alice, { nonce: 3n })
    await pool.addRaw(t3.serialize())
    state.set(alice.address, { nonce: 1n })
    await pool.revalidateAll()
    expect(pool.statusOf(t3.hash())).toBe('queued')
    expect(await pool.pendingNonce(alice.address)).toBe(1n)
  })

  it('expires queued transactions of senders idle past the lifetime, not pending ones', async () => {
    let clock = 1_000_000
    const { pool } = setup({ lifetimeMs: 60_000 }, { now: () => clock })
    const pending = tx(alice, { nonce: 0n })
    const queued = tx(alice, { nonce: 5n })
    await pool.addRaw(pending.serialize())
    await pool.addRaw(queued.serialize())
    clock += 59_000
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [] })
    expect(pool.has(queued.hash())).toBe(true)
    clock += 2_000
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [] })
    expect(pool.has(queued.hash())).toBe(false)
    expect(pool.has(pending.hash())).toBe(true)
  })

  it('orders eviction by effective tip at the new base fee', async () => {
    const { pool } = setup({ globalSlots: 2 })
    // At base fee 1 gwei alice pays 5 and bob 3; at 9 gwei alice pays 1 (fee cap 10) and bob 3.
    const a0 = tx(alice, { tip: 5n * GWEI, feeCap: 10n * GWEI })
    const b0 = tx(bob, { tip: 3n * GWEI, feeCap: 50n * GWEI })
    for (const t of [a0, b0]) await pool.addRaw(t.serialize())
    await pool.onNewHead({ baseFee: 9n * GWEI, includedTxHashes: [] })
    await pool.addRaw(tx(dave, { tip: 2n * GWEI, feeCap: 50n * GWEI }).serialize())
    expect(pool.has(a0.hash())).toBe(false)
    expect(pool.has(b0.hash())).toBe(true)
    expect(pool.contentFrom(erin.address).pending.size).toBe(0)
  })
})
