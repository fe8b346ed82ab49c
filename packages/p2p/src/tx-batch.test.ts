import { RLP } from '@ethereumjs/rlp'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isCairnError } from '@cairn/primitives'
import { TxBatcher, decodeTxBatch, encodeTxBatch, maxTxBatchBytes } from './tx-batch.ts'

const limits = { maxTxBytes: 100, maxCount: 4 }
const raw = (tag: number, length = 4) => new Uint8Array(length).fill(tag)

function decodeError(data: Uint8Array): string {
  try {
    decodeTxBatch(data, limits)
  } catch (error) {
    if (isCairnError(error, 'P2P_BAD_TX_BATCH')) return error.message
    throw error
  }
  throw new Error('expected P2P_BAD_TX_BATCH')
}

describe('transaction batches', () => {
  it('round-trips raw transactions, as copies of their own', () => {
    const raws = [raw(1), raw(2, 100), new Uint8Array([0x7f])]
    const data = encodeTxBatch(raws)
    const decoded = decodeTxBatch(data, limits)
    expect(decoded).toEqual(raws)
    // A pooled transaction keeps only its own bytes, not the whole message.
    expect(decoded.every((item) => item.buffer.byteLength === item.length)).toBe(true)
  })

  it('refuses what an honest node never sends', () => {
    expect(decodeError(new Uint8Array([0xc5, 0x01]))).toMatch(/not valid RLP/)
    expect(decodeError(RLP.encode(raw(1)))).toMatch(/not an RLP list/)
    expect(decodeError(RLP.encode([]))).toMatch(/holds 0 items, expected 1\.\.4/)
    expect(decodeError(encodeTxBatch([1, 2, 3, 4, 5].map((t) => raw(t))))).toMatch(/holds 5 items/)
    expect(decodeError(RLP.encode([raw(1), [raw(2)]]))).toMatch(/item 1 is not a non-empty byte string/)
    expect(decodeError(RLP.encode([new Uint8Array(0)]))).toMatch(/item 0 is not a non-empty byte string/)
    expect(decodeError(encodeTxBatch([raw(1), raw(2, 101)]))).toMatch(/item 1 has 101 bytes, over the 100-byte limit/)
  })

  it('bounds the largest batch a sender makes', () => {
    const config = { delayMs: 10, maxBytes: 300, maxCount: 4 }
    const full = encodeTxBatch([raw(1, 100), raw(2, 100), raw(3, 100)])
    expect(full.length).toBeLessThanOrEqual(maxTxBatchBytes(config, 100))
    const alone = encodeTxBatch([raw(1, 1000)])
    expect(alone.length).toBeLessThanOrEqual(maxTxBatchBytes(config, 1000))
  })
})

describe('TxBatcher', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  function batcher(config = { delayMs: 20, maxBytes: 10, maxCount: 3 }) {
    const sent: Uint8Array[][] = []
    const batches = new TxBatcher(config, async (batch) => {
      sent.push(decodeTxBatch(batch, { maxTxBytes: 1000, maxCount: 3 }))
      return 2
    })
    return { sent, batches }
  }

  it('sends a batch when its first transaction has waited the delay', async () => {
    vi.useFakeTimers()
    const { sent, batches } = batcher()
    const first = batches.add(raw(1))
    vi.advanceTimersByTime(15)
    const second = batches.add(raw(2))
    expect(sent).toEqual([])
    vi.advanceTimersByTime(5)
    expect(sent).toEqual([[raw(1), raw(2)]])
    expect(await first).toBe(2)
    expect(await second).toBe(2)
  })

  it('sends at once when the batch is full by count or by bytes, and never splits a transaction', async () => {
    vi.useFakeTimers()
    const { sent, batches } = batcher()
    void batches.add(raw(1, 2))
    void batches.add(raw(2, 2))
    void batches.add(raw(3, 2))
    expect(sent).toEqual([[raw(1, 2), raw(2, 2), raw(3, 2)]])
    // 6 bytes queued; a 5-byte transaction would pass 10, so the 6 leave first and it starts the next batch.
    void batches.add(raw(4, 6))
    void batches.add(raw(5, 5))
    expect(sent).toHaveLength(2)
    expect(sent[1]).toEqual([raw(4, 6)])
    // A transaction larger than the byte target travels alone.
    void batches.add(raw(6, 50))
    expect(sent.slice(2)).toEqual([[raw(5, 5)], [raw(6, 50)]])
    vi.advanceTimersByTime(20)
    expect(sent).toHaveLength(4)
  })
})
