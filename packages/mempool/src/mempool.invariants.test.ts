import { describe, expect, it } from 'vitest'
import { ACCOUNTS, ETH, GWEI, InMemoryState, dynamicFeeTx, testCommon } from '../test/fixtures.ts'
import { MempoolError } from './errors.ts'
import type { MempoolJournal } from './journal.ts'
import { Mempool } from './mempool.ts'

const common = testCommon()
const SENDERS = ACCOUNTS.slice(0, 5)
const LIMITS = { globalSlots: 12, globalQueue: 6, accountQueue: 3, accountSlots: 4 }

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below)
  }
}

/** What must hold after any sequence of operations, checked through the public API only. */
function checkInvariants(pool: Mempool, state: InMemoryState): void {
  const { pending, queued } = pool.status()
  expect(pool.pendingTransactions()).toHaveLength(pending)
  expect(pending + queued).toBe(pool.size)
  expect(pending).toBeLessThanOrEqual(LIMITS.globalSlots)
  expect(queued).toBeLessThanOrEqual(LIMITS.globalQueue)
  const content = pool.content()
  for (const account of SENDERS) {
    const key = account.address.toString()
    const stateNonce = state.accounts.get(key)?.nonce ?? 0n
    const pendingNonces = [...(content.pending.get(key)?.keys() ?? [])]
    const queuedNonces = [...(content.queued.get(key)?.keys() ?? [])]
    // Pending runs without a gap from the state nonce; queued sits past a gap.
    expect(pendingNonces).toEqual(pendingNonces.map((_, i) => stateNonce + BigInt(i)))
    const nextPending = stateNonce + BigInt(pendingNonces.length)
    for (const nonce of queuedNonces) expect(nonce > nextPending).toBe(true)
    expect(queuedNonces.length).toBeLessThanOrEqual(LIMITS.accountQueue)
  }
}

/** A journal whose writes fail now and then, as on a disk that fills up and frees again. */
function flakyJournal(next: (below: number) => number): MempoolJournal {
  return {
    recordCount: 0,
    append() {
      if (next(5) === 0) throw new Error('ENOSPC: no space left on device')
    },
    rotate() {},
    rotateInBackground: async () => {},
    close() {},
  } as unknown as MempoolJournal
}

describe('Mempool under a random mix of adds, blocks, state changes and failed journal writes', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps pending contiguous, totals consistent and limits respected (seed ${seed})`, async () => {
      const next = random(seed)
      const state = new InMemoryState(SENDERS, 10n * ETH)
      const journal = flakyJournal(next)
      const pool = new Mempool({ common, state, config: LIMITS, baseFee: GWEI, journal })
      let baseFee = GWEI
      let rejected = 0
      let unjournaled = 0
      for (let step = 0; step < 150; step++) {
        const action = next(10)
        if (action < 7) {
          // Up to three adds at once: they share one journal write, and a failed write refuses them all.
          const txs = Array.from({ length: 1 + next(3) }, () => {
            const account = SENDERS[next(SENDERS.length)]!
            const stateNonce = state.accounts.get(account.address.toString())!.nonce
            const tip = BigInt(1 + next(5)) * GWEI
            return dynamicFeeTx(
              account,
              {
                nonce: stateNonce + BigInt(next(6)),
                tip,
                feeCap: tip + BigInt(next(10)) * GWEI,
                value: BigInt(next(3)) * ETH,
              },
              common,
            )
          })
          const results = await Promise.allSettled(txs.map((tx) => pool.addRaw(tx.serialize())))
          results.forEach((result, i) => {
            if (result.status === 'fulfilled') return
            if (!(result.reason instanceof MempoolError)) throw result.reason
            rejected++
            if (result.reason.code !== 'MEMPOOL_JOURNAL_WRITE_FAILED') return
            unjournaled++
            expect(pool.has(txs[i]!.hash())).toBe(false)
          })
        } else if (action < 9) {
          // Build a block: take what the selection offers, as the executor would.
          const selection = pool.selectForBlock(baseFee)
          const included: Uint8Array[] = []
          for (let tx = selection.peek(); tx !== undefined && included.length < 5; tx = selection.peek()) {
            const sender = tx.getSenderAddress()
            const account = state.accounts.get(sender.toString())!
            expect(tx.nonce).toBe(account.nonce)
            state.set(sender, {
              nonce: account.nonce + 1n,
              balance: account.balance - tx.value - tx.gasLimit * baseFee,
            })
            included.push(tx.hash())
            selection.shift()
          }
          baseFee = BigInt(1 + next(4)) * GWEI
          await pool.onNewHead({ baseFee, includedTxHashes: included })
        } else {
          // A balance moves outside the pool's view (a transfer out, or a reorg); the node revalidates.
          const account = SENDERS[next(SENDERS.length)]!
          state.set(account.address, { balance: BigInt(next(12)) * ETH })
          await pool.revalidateAll()
        }
        checkInvariants(pool, state)
      }
      expect(rejected).toBeGreaterThan(unjournaled)
      expect(unjournaled).toBeGreaterThan(0)
      expect(pool.size).toBeGreaterThan(0)
    })
  }
})
