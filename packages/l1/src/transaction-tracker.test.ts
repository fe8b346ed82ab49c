import { BaseError, encodeErrorResult, type Hex, type PublicClient, type TransactionReceipt } from 'viem'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type InFlightTransaction, TransactionTracker, type TransactionTrackerOptions } from './transaction-tracker.ts'

const SENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const errorAbi = [{ type: 'error', name: 'ParentMetaHashMismatch', inputs: [] }] as const
const TX_A: Hex = `0x${'a'.repeat(64)}`
const TX_B: Hex = `0x${'b'.repeat(64)}`

/** An L1 node as the tracker reads it: canonical block hashes, receipts it serves, its mempool and the sender's nonce. */
class FakeL1 {
  readonly blocks = new Map<bigint, Hex>()
  readonly receipts = new Map<Hex, TransactionReceipt>()
  readonly mempool = new Set<Hex>()
  nonce = 0
  revertData: Hex | undefined
  readonly calls: unknown[][] = []

  mine(hash: Hex, blockNumber: bigint, status: 'success' | 'reverted' = 'success'): void {
    const blockHash = blockHashOf(blockNumber, this.receipts.size)
    this.blocks.set(blockNumber, blockHash)
    this.receipts.set(hash, { transactionHash: hash, blockNumber, blockHash, status } as TransactionReceipt)
    this.mempool.delete(hash)
    this.nonce++
  }

  /** Replaces block `blockNumber` with one without the transaction; the node still serves the old receipt. */
  reorgOut(hash: Hex, blockNumber: bigint): void {
    this.blocks.set(blockNumber, blockHashOf(blockNumber, 99))
    this.mempool.add(hash)
    this.nonce--
  }

  client(): PublicClient {
    const known = (hash: Hex) => this.mempool.has(hash) || this.receipts.has(hash)
    return {
      getTransactionReceipt: async ({ hash }: { hash: Hex }) => {
        const receipt = this.receipts.get(hash)
        if (receipt === undefined) throw new Error(`receipt of ${hash} not found`)
        return receipt
      },
      getBlock: async ({ blockNumber }: { blockNumber: bigint }) => ({
        number: blockNumber,
        hash: this.blocks.get(blockNumber),
      }),
      getTransactionCount: async () => this.nonce,
      getTransaction: async ({ hash }: { hash: Hex }) => {
        if (!known(hash)) throw new Error(`transaction ${hash} not found`)
        return { hash, from: SENDER, to: SENDER, input: '0x1234', blobVersionedHashes: [`0x01${'c'.repeat(62)}`] }
      },
      request: async ({ params }: { params: unknown[] }) => {
        this.calls.push(params)
        if (this.revertData !== undefined)
          throw Object.assign(new BaseError('execution reverted'), { data: this.revertData })
        return '0x'
      },
    } as unknown as PublicClient
  }
}

function blockHashOf(blockNumber: bigint, fork: number): Hex {
  return `0x${blockNumber.toString(16).padStart(32, '0')}${fork.toString(16).padStart(32, '0')}`
}

function makeTracker(l1: FakeL1, options: Partial<TransactionTrackerOptions> = {}) {
  const logs: { level: string; message: string; context: object }[] = []
  const log = (level: string) => (context: object, message: string) => logs.push({ level, message, context })
  const reorgs = { count: 0, inc: () => reorgs.count++ }
  const tracker = new TransactionTracker({
    l1: l1.client(),
    address: SENDER,
    confirmations: 1,
    resubmitAfterBlocks: 3,
    errorAbi,
    whenDropped: 'resend',
    fillNonceGap: true,
    logger: { info: log('info'), warn: log('warn') },
    reorgs,
    messages: { mined: 'tx mined', reorged: 'tx reorged out' },
    ...options,
  })
  return { tracker, logs, reorgs }
}

const sentAt10: InFlightTransaction = { nonce: 0, attempts: [{ hash: TX_A, sentAtL1Block: 10n }] }

describe('TransactionTracker', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('waits for the confirmations of a mined transaction, then reports it confirmed', async () => {
    const l1 = new FakeL1()
    const { tracker, logs } = makeTracker(l1, { confirmations: 3 })
    l1.mine(TX_A, 11n)
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    const status = await tracker.follow(sentAt10, 13n)
    expect(status).toMatchObject({ kind: 'confirmed', receipt: { transactionHash: TX_A, blockNumber: 11n } })
    expect(logs.filter((l) => l.message === 'tx mined')).toHaveLength(1)
  })

  it('confirms the attempt that was mined even when a later replacement was not', async () => {
    const l1 = new FakeL1()
    const { tracker } = makeTracker(l1)
    const replaced = { nonce: 0, attempts: [...sentAt10.attempts, { hash: TX_B, sentAtL1Block: 13n }] }
    l1.mempool.add(TX_B)
    l1.mine(TX_A, 14n)
    expect(await tracker.follow(replaced, 14n)).toMatchObject({ kind: 'confirmed', receipt: { transactionHash: TX_A } })
  })

  it('names the error a reverted transaction reverts with when replayed on the block before it', async () => {
    const l1 = new FakeL1()
    const { tracker } = makeTracker(l1, { confirmations: 5 })
    l1.revertData = encodeErrorResult({ abi: errorAbi, errorName: 'ParentMetaHashMismatch' })
    l1.mine(TX_A, 11n, 'reverted')
    const status = await tracker.follow(sentAt10, 11n)
    expect(status).toMatchObject({ kind: 'reverted', reason: 'ParentMetaHashMismatch' })
    // The replay carries the blob hashes (so `blobhash` answers as on chain) and runs on block 10.
    expect(l1.calls[0]).toEqual([expect.objectContaining({ blobVersionedHashes: [expect.any(String)] }), '0xa'])

    l1.revertData = undefined
    expect(await tracker.follow(sentAt10, 12n)).toMatchObject({ kind: 'reverted', reason: 'reverted' })
  })

  it('counts a reorg that takes a mined transaction off the canonical chain and follows it again', async () => {
    const l1 = new FakeL1()
    const { tracker, logs, reorgs } = makeTracker(l1, { confirmations: 3 })
    l1.mine(TX_A, 11n)
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' })

    l1.reorgOut(TX_A, 11n) // the node still serves the receipt of the orphaned block
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    expect(reorgs.count).toBe(1)
    expect(logs.find((l) => l.message === 'tx reorged out')?.context).toEqual({ txHash: TX_A, l1Block: 11n })

    l1.mine(TX_A, 13n)
    expect(await tracker.follow(sentAt10, 15n)).toMatchObject({ kind: 'confirmed', receipt: { blockNumber: 13n } })
    expect(logs.filter((l) => l.message === 'tx mined')).toHaveLength(2)
  })

  it('sends a reorged-out transaction again once it is stuck for resubmitAfterBlocks, at the same nonce', async () => {
    const l1 = new FakeL1()
    const { tracker } = makeTracker(l1, { resubmitAfterBlocks: 3, confirmations: 2 })
    l1.mine(TX_A, 11n)
    await tracker.follow(sentAt10, 11n)
    l1.reorgOut(TX_A, 11n)
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 13n)).toEqual({ kind: 'resend', why: 'stuck', nonce: 0, latestNonce: 0 })
  })

  it('treats a used nonce without a receipt as lost only after it lasts 3 rounds and 2 seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const l1 = new FakeL1()
    const { tracker } = makeTracker(l1)
    l1.nonce = 1 // another transaction of the key took nonce 0
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' }) // 3 rounds, but within 2 s
    vi.advanceTimersByTime(2_000)
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'lost', reason: 'nonce_taken', latestNonce: 1 })

    // Time alone is not enough either: the count starts again for the next observation.
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    vi.advanceTimersByTime(10_000)
    expect(await tracker.follow(sentAt10, 12n)).toEqual({ kind: 'pending' })
    expect(await tracker.follow(sentAt10, 12n)).toMatchObject({ kind: 'lost' })
  })

  it('confirms a transaction whose receipt shows up after its nonce, instead of counting it lost', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const l1 = new FakeL1()
    const { tracker } = makeTracker(l1)
    l1.nonce = 1 // the node shows the new nonce a moment before the receipt
    expect(await tracker.follow(sentAt10, 11n)).toEqual({ kind: 'pending' })
    vi.advanceTimersByTime(5_000)
    l1.nonce = 0
    l1.mine(TX_A, 11n)
    expect(await tracker.follow(sentAt10, 11n)).toMatchObject({ kind: 'confirmed' })
  })

  it('sends a transaction no node knows again, or forgets it, as the sender chooses', async () => {
    const l1 = new FakeL1()
    const resend = makeTracker(l1, { whenDropped: 'resend' }).tracker
    expect(await resend.follow(sentAt10, 11n)).toEqual({ kind: 'resend', why: 'dropped', nonce: 0, latestNonce: 0 })
    const forget = makeTracker(l1, { whenDropped: 'forget' }).tracker
    expect(await forget.follow(sentAt10, 11n)).toEqual({ kind: 'lost', reason: 'dropped', latestNonce: 0 })
  })

  it('sends again at the L1 nonce behind a nonce gap only when the sender fills gaps', async () => {
    const l1 = new FakeL1()
    l1.nonce = 1
    l1.mempool.add(TX_A)
    const behindGap = { nonce: 2, attempts: sentAt10.attempts }
    const filling = makeTracker(l1, { fillNonceGap: true }).tracker
    expect(await filling.follow(behindGap, 11n)).toEqual({ kind: 'resend', why: 'nonce_gap', nonce: 1, latestNonce: 1 })
    const waiting = makeTracker(l1, { fillNonceGap: false }).tracker
    expect(await waiting.follow(behindGap, 11n)).toEqual({ kind: 'pending' })
  })
})
