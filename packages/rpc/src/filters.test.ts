import { describe, expect, it } from 'vitest'
import { bytesToHex, type LogRecord } from '@cairn/primitives'
import { FILTER_TIMEOUT_MS, FilterManager, filterMethods } from './filters.ts'
import type { LogCriteria } from './params.ts'
import { bytes32, FakeSubscriptionSource, fakeLog, fakeTransaction } from './testing/fake-source.ts'
import { rejection } from './testing/rejection.ts'

const ctx = { transport: 'http' as const, connectionId: 'test' }

function setup(stored: LogRecord[] = []) {
  let now = 1_000_000
  const source = new FakeSubscriptionSource()
  const queries: LogCriteria[] = []
  const manager = new FilterManager({
    source,
    getLogs: async (criteria) => {
      queries.push(criteria)
      return stored
    },
    now: () => now,
    sweepIntervalMs: 0,
  })
  const methods = filterMethods(manager)
  const call = async (method: string, ...params: unknown[]) => methods[method]!(params, ctx)
  return {
    source,
    manager,
    queries,
    call,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('FilterManager', () => {
  it('returns new block hashes once per poll', async () => {
    const { source, call } = setup()
    const id = (await call('eth_newBlockFilter')) as string
    expect(id).toMatch(/^0x[0-9a-f]+$/)
    expect(await call('eth_getFilterChanges', id)).toEqual([])
    source.pushHead({ hash: bytesToHex(bytes32(1)) })
    source.pushHead({ hash: bytesToHex(bytes32(2)) })
    expect(await call('eth_getFilterChanges', id)).toEqual([bytesToHex(bytes32(1)), bytesToHex(bytes32(2))])
    expect(await call('eth_getFilterChanges', id)).toEqual([])
  })

  it('returns pending transaction hashes', async () => {
    const { source, call } = setup()
    const id = await call('eth_newPendingTransactionFilter')
    source.pushPending(bytesToHex(bytes32(7)))
    expect(await call('eth_getFilterChanges', id)).toEqual([bytesToHex(bytes32(7))])
  })

  it('returns full pending transactions to a filter made with true, hashes to one made with false', async () => {
    const { source, call } = setup()
    const full = await call('eth_newPendingTransactionFilter', true)
    const hashes = await call('eth_newPendingTransactionFilter', false)
    const tx = fakeTransaction()
    source.pushPendingFull(tx)
    source.pushPending(tx.hash)
    expect(await call('eth_getFilterChanges', full)).toEqual([tx])
    expect(await call('eth_getFilterChanges', hashes)).toEqual([tx.hash])
    expect(await call('eth_uninstallFilter', full)).toBe(true)
    expect(source.pendingFull.size).toBe(0)
    expect(await rejection(call('eth_newPendingTransactionFilter', 'yes'))).toEqual({
      rpcCode: -32602,
      message: 'invalid argument 0: cannot unmarshal non-bool into bool',
    })
  })

  it('refuses a full pending transaction filter when the source cannot send full transactions', async () => {
    const manager = new FilterManager({
      source: new FakeSubscriptionSource({ fullPending: false }),
      getLogs: async () => [],
      sweepIntervalMs: 0,
    })
    expect(() => filterMethods(manager).eth_newPendingTransactionFilter!([true], ctx)).toThrow(
      'invalid argument 0: full pending transactions are not supported by this node',
    )
    expect(manager.size).toBe(0)
  })

  it('collects matching logs, including removed ones, within the block range', async () => {
    const { source, call } = setup()
    const address = new Uint8Array(20).fill(0x11)
    const id = await call('eth_newFilter', {
      fromBlock: '0x5',
      toBlock: '0x14',
      address: bytesToHex(address),
      topics: [[bytesToHex(bytes32(1)), bytesToHex(bytes32(2))]],
    })
    source.pushLogs([
      fakeLog({ address, topics: [bytes32(1)], blockNumber: 4n, logIndex: 0 }),
      fakeLog({ address, topics: [bytes32(2)], blockNumber: 5n, logIndex: 1 }),
      fakeLog({ address, topics: [bytes32(3)], blockNumber: 6n, logIndex: 2 }),
      fakeLog({ topics: [bytes32(1)], blockNumber: 7n, logIndex: 3 }),
      fakeLog({ address, topics: [bytes32(1)], blockNumber: 20n, logIndex: 4, removed: true }),
      fakeLog({ address, topics: [bytes32(1)], blockNumber: 21n, logIndex: 5 }),
    ])
    const changes = (await call('eth_getFilterChanges', id)) as Array<{ logIndex: string; removed: boolean }>
    expect(changes.map((log) => [log.logIndex, log.removed])).toEqual([
      ['0x1', false],
      ['0x4', true],
    ])
  })

  it('keeps one formatted copy of a log however many filters match it', async () => {
    const { source, call } = setup()
    const ids = [await call('eth_newFilter', {}), await call('eth_newFilter', {})]
    source.pushLogs([fakeLog({ blockNumber: 1n })])
    const [a, b] = await Promise.all(ids.map((id) => call('eth_getFilterChanges', id) as Promise<unknown[]>))
    expect(a).toHaveLength(1)
    expect(a![0]).toBe(b![0])
  })

  it('keeps collecting for a range that starts in the future', async () => {
    const { source, call } = setup()
    const id = await call('eth_newFilter', { fromBlock: '0x64' })
    source.pushLogs([fakeLog({ blockNumber: 99n })])
    expect(await call('eth_getFilterChanges', id)).toEqual([])
    source.pushLogs([fakeLog({ blockNumber: 100n })])
    source.pushLogs([fakeLog({ blockNumber: 150n })])
    expect(((await call('eth_getFilterChanges', id)) as unknown[]).length).toBe(2)
  })

  it('answers eth_getFilterLogs from storage with the filter criteria', async () => {
    const stored = [fakeLog({ blockNumber: 3n })]
    const { call, queries } = setup(stored)
    const id = await call('eth_newFilter', { fromBlock: '0x1', toBlock: '0x3' })
    const logs = (await call('eth_getFilterLogs', id)) as Array<{ blockNumber: string }>
    expect(logs.map((log) => log.blockNumber)).toEqual(['0x3'])
    expect(queries[0]).toMatchObject({ fromBlock: 1n, toBlock: 3n, addresses: [], topics: [] })
    const blockFilter = await call('eth_newBlockFilter')
    expect(await rejection(call('eth_getFilterLogs', blockFilter))).toEqual({
      rpcCode: -32000,
      message: 'filter not found',
    })
  })

  it('expires a filter not polled for five minutes', async () => {
    const { call, advance, manager } = setup()
    const polled = await call('eth_newBlockFilter')
    const idle = await call('eth_newBlockFilter')
    advance(FILTER_TIMEOUT_MS - 1)
    await call('eth_getFilterChanges', polled)
    advance(1)
    expect(await rejection(call('eth_getFilterChanges', idle))).toEqual({
      rpcCode: -32000,
      message: 'filter not found',
    })
    expect(await call('eth_getFilterChanges', polled)).toEqual([])
    advance(FILTER_TIMEOUT_MS)
    manager.sweep()
    expect(manager.size).toBe(0)
  })

  it('uninstalls filters and stops listening', async () => {
    const { source, call } = setup()
    const id = await call('eth_newFilter', {})
    expect(source.logs.size).toBe(1)
    expect(await call('eth_uninstallFilter', id)).toBe(true)
    expect(await call('eth_uninstallFilter', id)).toBe(false)
    expect(source.logs.size).toBe(0)
    expect(await rejection(call('eth_getFilterChanges', id))).toEqual({ rpcCode: -32000, message: 'filter not found' })
  })

  it('refuses an inverted range and bad ids', async () => {
    const { call } = setup()
    expect((await rejection(call('eth_newFilter', { fromBlock: '0x5', toBlock: '0x4' }))).message).toBe(
      'invalid from and to block combination',
    )
    expect(await rejection(call('eth_getFilterChanges', 'nope'))).toEqual({
      rpcCode: -32000,
      message: 'filter not found',
    })
    expect((await rejection(call('eth_getFilterChanges', 7))).rpcCode).toBe(-32602)
  })
})
