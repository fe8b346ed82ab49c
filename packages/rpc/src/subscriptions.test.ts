import { describe, expect, it } from 'vitest'
import { matchesLogCriteria, newSubscriptionId, startSubscription } from './subscriptions.ts'
import { formatReceipt } from './format.ts'
import { bytes32, FakeSubscriptionSource, fakeLog, fakeReceipt, fakeTransaction } from './testing/fake-source.ts'

const address = new Uint8Array(20).fill(0x11)
const other = new Uint8Array(20).fill(0x22)
const log = fakeLog({ address, topics: [bytes32(1), bytes32(2), bytes32(3)] })

describe('matchesLogCriteria', () => {
  it('matches everything with empty criteria', () => {
    expect(matchesLogCriteria(log, { addresses: [], topics: [] })).toBe(true)
  })

  it('matches any of several addresses', () => {
    expect(matchesLogCriteria(log, { addresses: [other, address], topics: [] })).toBe(true)
    expect(matchesLogCriteria(log, { addresses: [other], topics: [] })).toBe(false)
  })

  it('treats null positions as wildcards and lists as alternatives', () => {
    expect(matchesLogCriteria(log, { addresses: [], topics: [null, [bytes32(9), bytes32(2)]] })).toBe(true)
    expect(matchesLogCriteria(log, { addresses: [], topics: [null, [bytes32(9)]] })).toBe(false)
    expect(matchesLogCriteria(log, { addresses: [], topics: [[bytes32(1)], null, [bytes32(3)]] })).toBe(true)
  })

  it('never matches a log with fewer topics than positions', () => {
    expect(matchesLogCriteria(log, { addresses: [], topics: [null, null, null, null] })).toBe(false)
  })
})

describe('startSubscription', () => {
  it('sends one notification per matching log', () => {
    const source = new FakeSubscriptionSource()
    const results: unknown[] = []
    const cancel = startSubscription(source, ['logs', { topics: [null, `0x${'02'.repeat(32)}`] }], (r) =>
      results.push(r),
    )
    source.pushLogs([log, fakeLog({ topics: [bytes32(1)] }), { ...log, logIndex: 5 }])
    expect(results).toHaveLength(2)
    cancel()
    expect(source.listenerCount).toBe(0)
  })

  it('sends full pending transactions with true and hashes otherwise', () => {
    const source = new FakeSubscriptionSource()
    const full: unknown[] = []
    const hashes: unknown[] = []
    const cancelFull = startSubscription(source, ['newPendingTransactions', true], (tx) => full.push(tx))
    startSubscription(source, ['newPendingTransactions', false], (hash) => hashes.push(hash))
    const tx = fakeTransaction()
    source.pushPendingFull(tx)
    source.pushPending(tx.hash)
    expect(full).toEqual([tx])
    expect(hashes).toEqual([tx.hash])
    cancelFull()
    expect(source.pendingFull.size).toBe(0)
    expect(() => startSubscription(source, ['newPendingTransactions', 'yes'], () => {})).toThrow(
      'invalid argument 1: cannot unmarshal non-bool into bool',
    )
  })

  it('refuses full pending transactions when the source cannot send them', () => {
    const source = new FakeSubscriptionSource({ fullPending: false })
    expect(() => startSubscription(source, ['newPendingTransactions', true], () => {})).toThrow(/not supported/)
  })

  it("sends each block's receipts in one notification, or only the named transactions'", () => {
    const source = new FakeSubscriptionSource()
    const all: unknown[] = []
    const named: unknown[] = []
    const [first, second, third] = [1, 2, 3].map((byte, transactionIndex) =>
      fakeReceipt({ transactionHash: bytes32(byte), transactionIndex }),
    )
    startSubscription(source, ['transactionReceipts'], (receipts) => all.push(receipts))
    const cancel = startSubscription(
      source,
      ['transactionReceipts', { transactionHashes: [`0x${'03'.repeat(32)}`, `0x${'02'.repeat(32)}`] }],
      (receipts) => named.push(receipts),
    )
    source.pushReceipts([first!, second!, third!])
    source.pushReceipts([first!])
    source.pushReceipts([])
    expect(all).toEqual([[first, second, third].map((r) => formatReceipt(r!)), [formatReceipt(first!)]])
    // In block order; a block without any of them sends nothing.
    expect(named).toEqual([[formatReceipt(second!), formatReceipt(third!)]])
    cancel()
    expect(source.receipts.size).toBe(1)
  })

  it('refuses transactionReceipts arguments geth refuses', () => {
    const source = new FakeSubscriptionSource()
    const hashes = Array.from({ length: 201 }, () => `0x${'01'.repeat(32)}`)
    expect(() => startSubscription(source, ['transactionReceipts', { transactionHashes: hashes }], () => {})).toThrow(
      /exceed max number of transaction hashes allowed per transactionReceipts subscription \(200\)/,
    )
    expect(() => startSubscription(source, ['transactionReceipts', { transactionHashes: ['0x01'] }], () => {})).toThrow(
      /invalid argument 1/,
    )
    expect(() => startSubscription(source, ['transactionReceipts', {}, 1], () => {})).toThrow(/too many arguments/)
    expect(source.listenerCount).toBe(0)
  })

  it('takes a syncing subscription, silent as geth is while not syncing, and refuses arguments to it', () => {
    const source = new FakeSubscriptionSource()
    const notified: unknown[] = []
    const cancel = startSubscription(source, ['syncing'], (result) => notified.push(result))
    source.pushHead({ number: '0x1' })
    source.pushPending(`0x${'01'.repeat(32)}`)
    expect(notified).toEqual([])
    cancel()
    expect(() => startSubscription(source, ['syncing', {}], () => {})).toThrow(/too many arguments/)
  })

  it('makes geth-shaped ids', () => {
    for (let i = 0; i < 50; i++) expect(newSubscriptionId()).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$|^0x0$/)
  })
})
