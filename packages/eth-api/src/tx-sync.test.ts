import { type TypedTransaction, createTxFromRLP } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, type Hex } from '@cairn/primitives'
import { RpcError, serverError } from '@cairn/rpc'
import type { RpcMempool } from './eth-api.ts'
import { InclusionWatcher } from './inclusion-watcher.ts'
import { type TestChain, type TestChainOptions, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

const RECIPIENT = DEV_ACCOUNTS[1]!.address as Hex

/**
 * A test chain whose pool keeps what it is given; `next` is the sender's next executable nonce (as
 * the real pool's pendingNonce answers), `onAdd` runs on each admission (a sequencer that seals
 * at once, say).
 */
async function chainWithPool(
  options: TestChainOptions & { next?: bigint; onAdd?: (tx: TypedTransaction) => Promise<void> } = {},
) {
  const pooled = new Map<Hex, TypedTransaction>()
  let t: TestChain | undefined
  const mempool: Partial<RpcMempool> = {
    addRaw: async (raw) => {
      const tx = createTxFromRLP(raw, { common: t!.common })
      pooled.set(bytesToHex(tx.hash()), tx)
      await options.onAdd?.(tx)
      return tx.hash()
    },
    get: (hash) => pooled.get(bytesToHex(hash)),
    pendingNonce: async () => options.next ?? 1n,
  }
  t = await startTestChain({ ...options, mempool })
  chains.push(t)
  return t
}

/** The JSON-RPC error a call rejects with, data included. */
async function rpcError(promise: Promise<unknown>): Promise<{ code: number; message: string; data: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
  if (!(error instanceof RpcError)) throw error
  return { code: error.rpcCode, message: error.message, data: error.data }
}

const rawOf = (tx: TypedTransaction) => bytesToHex(tx.serialize())

describe('eth_sendRawTransactionSync (EIP-7966)', () => {
  it('answers with the receipt once a block includes the transaction, as eth_getTransactionReceipt has it', async () => {
    const t = await chainWithPool()
    const tx = t.transaction({ nonce: 0, to: RECIPIENT, value: 5n })
    let settled = false
    const call = t.call('eth_sendRawTransactionSync', rawOf(tx)).finally(() => {
      settled = true
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(settled).toBe(false)
    await t.mine([t.transaction({ nonce: 0, to: RECIPIENT, from: 2 })])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toBe(false)
    await t.mine([tx])
    const receipt = await call
    expect(receipt).toEqual(await t.call('eth_getTransactionReceipt', bytesToHex(tx.hash())))
    expect(receipt).toMatchObject({ status: '0x1', blockNumber: '0x2', transactionHash: bytesToHex(tx.hash()) })
  })

  it('answers at once for a transaction a block took in while it was being admitted', async () => {
    let t: TestChain | undefined
    t = await chainWithPool({
      onAdd: async (tx) => {
        await t!.mine([tx])
      },
    })
    const tx = t.transaction({ nonce: 0, to: RECIPIENT, value: 5n })
    const receipt = await t.call('eth_sendRawTransactionSync', rawOf(tx), 1)
    expect(receipt).toEqual(await t.call('eth_getTransactionReceipt', bytesToHex(tx.hash())))
  })

  it('gives up with code 4 and the hash as data after the timeout, cut to the node’s maximum', async () => {
    const t = await chainWithPool({ next: 100n, txSyncTimeoutMs: { default: 30, max: 80 } })
    const hashOf = (nonce: number) => bytesToHex(t.transaction({ nonce, to: RECIPIENT }).hash())
    const waited = (ms: string) => `The transaction was added to the transaction pool but wasn't processed in ${ms}`
    // no timeout: the node's default; a number, a hex quantity, 0 (the default) and one above the cap
    const cases: [unknown[], string][] = [
      [[], '30ms'],
      [[20], '20ms'],
      [['0x14'], '20ms'],
      [[0], '30ms'],
      [[60_000], '80ms'],
    ]
    for (const [nonce, [timeout, ms]] of cases.entries()) {
      const tx = t.transaction({ nonce, to: RECIPIENT })
      expect(await rpcError(t.call('eth_sendRawTransactionSync', rawOf(tx), ...timeout))).toEqual({
        code: 4,
        message: waited(ms),
        data: hashOf(nonce),
      })
    }
  })

  it('refuses a transaction parked behind a nonce gap at once, with code 5', async () => {
    const t = await chainWithPool({ next: 0n })
    const tx = t.transaction({ nonce: 3, to: RECIPIENT })
    expect(await rpcError(t.call('eth_sendRawTransactionSync', rawOf(tx)))).toEqual({
      code: 5,
      message:
        "The transaction was added to the transaction pool but wasn't processed due to a missing nonce: it has nonce 3, the sender's next is 0",
      data: bytesToHex(tx.hash()),
    })
  })

  it('answers a pool rejection as eth_sendRawTransaction does', async () => {
    const pool = await startTestChain({
      mempool: {
        addRaw: async () => {
          throw serverError('nonce too low')
        },
      },
    })
    chains.push(pool)
    const raw = rawOf(pool.transaction({ nonce: 0, to: RECIPIENT }))
    for (const method of ['eth_sendRawTransaction', 'eth_sendRawTransactionSync']) {
      expect(await rpcError(pool.call(method, raw))).toEqual({
        code: -32000,
        message: 'nonce too low',
        data: undefined,
      })
    }
    expect(await rpcError(pool.call('eth_sendRawTransactionSync', '0x1'))).toMatchObject({ code: -32602 })
    expect(await rpcError(pool.call('eth_sendRawTransactionSync', raw, 'soon'))).toMatchObject({ code: -32602 })
  })
})

describe('InclusionWatcher', () => {
  it('serves every wait for a hash from one block, and forgets waits that ended or stopped', async () => {
    const t = await chainWithPool()
    const watcher = new InclusionWatcher(t.chain)
    const [first, second] = [t.transaction({ nonce: 0, to: RECIPIENT }), t.transaction({ nonce: 1, to: RECIPIENT })]
    const [a, b] = [watcher.watch(bytesToHex(first.hash())), watcher.watch(bytesToHex(first.hash()))]
    const stopped = watcher.watch(bytesToHex(second.hash()))
    expect(watcher.size).toBe(2)
    stopped.stop()
    expect(watcher.size).toBe(1)
    await t.mine([first, second])
    const [ra, rb] = await Promise.all([a.receipt, b.receipt])
    expect(ra).toBe(rb)
    expect(bytesToHex(ra.transactionHash)).toBe(bytesToHex(first.hash()))
    expect(watcher.size).toBe(0)
    // stopping a wait that has ended changes nothing
    a.stop()
    expect(watcher.size).toBe(0)
  })
})
