import { bytesToHex, createContractAddress } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import type { GenesisAccount, Hex } from '@cairn/primitives'
import { toQuantity } from '@cairn/primitives'
import { DEFAULT_TRACE_FILTER_LIMITS } from './parity-traces.ts'
import { type TestChain, rejection, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

/** Returns the word 42: PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN. */
const CALLEE: Hex = '0x00000000000000000000000000000000000c0de1'
/** Reverts with no data: PUSH1 0 PUSH1 0 REVERT. */
const REVERTER: Hex = '0x00000000000000000000000000000000000c0de2'
/** Writes 42 to slot 1: PUSH1 42 PUSH1 1 SSTORE STOP. */
const STORER: Hex = '0x00000000000000000000000000000000000c0de3'
/** CALLs the callee, the identity precompile, then the callee again (32 bytes back each), and stops. */
const CALLER: Hex = '0x00000000000000000000000000000000000ca11e'
const call = (to: Hex) => `6020600060006000600073${to.slice(2)}5af150`
const alloc: Record<string, GenesisAccount> = {
  [CALLEE]: { balance: '0x0', code: '0x602a60005260206000f3' },
  [REVERTER]: { balance: '0x0', code: '0x60006000fd' },
  [STORER]: { balance: '0x0', code: '0x602a60015500' },
  [CALLER]: { balance: '0x0', code: `0x${call(CALLEE)}6020600060006000600060045af150${call(CALLEE)}00` },
}
/** Init code deploying the one-byte runtime 0x00: MSTORE8 0 at 0, RETURN 1 byte. */
const INIT_CODE: Hex = '0x600060005360016000f3'
const word42 = `0x${'2a'.padStart(64, '0')}`

interface Trace {
  action: Record<string, string>
  blockHash?: Hex
  blockNumber?: number
  error?: string
  result?: Record<string, string>
  subtraces: number
  traceAddress: number[]
  transactionHash?: Hex
  transactionPosition?: number
  type: string
}

/** A chain with one block (1) of four transactions: a call with sub-calls, a revert, a creation, a transfer. */
async function tracedChain() {
  const t = await startTestChain({ alloc })
  chains.push(t)
  const txs = [
    t.transaction({ nonce: 0, to: CALLER }),
    t.transaction({ nonce: 1, to: REVERTER }),
    t.transaction({ nonce: 2, data: INIT_CODE }),
    t.transaction({ nonce: 3, to: CALLEE, value: 5n }),
  ]
  const record = await t.mine(txs)
  expect(record.receipts.map((receipt) => receipt.status)).toEqual([1, 0, 1, 1])
  const sender = txs[0]!.getSenderAddress()
  const created = bytesToHex(createContractAddress(sender, 2n).bytes)
  const hashes = txs.map((tx) => bytesToHex(tx.hash()))
  return { t, record, hashes, sender: sender.toString(), created }
}

describe('the trace_ namespace', () => {
  it('gives a transaction’s Parity traces depth first, with Parity’s errors, as flatCallTracer does', async () => {
    const { t, record, hashes, sender, created } = await tracedChain()
    const [callTx, revertTx, createTx] = hashes as [Hex, Hex, Hex]

    const traces = (await t.call('trace_transaction', callTx)) as Trace[]
    // The identity precompile's call is left out, as in Parity's traces.
    expect(traces.map((trace) => [trace.traceAddress, trace.subtraces, trace.action.from, trace.action.to])).toEqual([
      [[], 2, sender, CALLER],
      [[0], 0, CALLER, CALLEE],
      [[1], 0, CALLER, CALLEE],
    ])
    expect(traces[1]).toMatchObject({
      blockHash: bytesToHex(record.block.hash()),
      blockNumber: 1,
      result: { output: word42 },
      transactionHash: callTx,
      transactionPosition: 0,
      type: 'call',
    })
    const geth = (await t.call('debug_traceTransaction', callTx, {
      tracer: 'flatCallTracer',
      tracerConfig: { convertParityErrors: true },
    })) as Trace[]
    expect(traces.slice(1)).toEqual(geth.slice(1))
    // The top trace counts the code's gas only, as Parity's: no intrinsic gas (21,000 for a call
    // without data), where geth's flatCallTracer gives the gas limit and the receipt's gas.
    const [top] = traces as [Trace]
    expect(top.action.gas).toBe(toQuantity(200_000n - 21_000n))
    expect(top.result!.gasUsed).toBe(toQuantity(record.receipts[0]!.cumulativeGasUsed - 21_000n))
    expect(geth[0]!.result!.gasUsed).toBe(toQuantity(record.receipts[0]!.cumulativeGasUsed))
    const withoutGas = ({ action: { gas, ...action }, result: { gasUsed, ...result } = {}, ...rest }: Trace) => ({
      action,
      result,
      ...rest,
    })
    expect(withoutGas(top)).toEqual(withoutGas(geth[0]!))

    const [reverted] = (await t.call('trace_transaction', revertTx)) as Trace[]
    expect(reverted).toMatchObject({ error: 'Reverted', result: { output: '0x' }, transactionPosition: 1 })
    const [creation] = (await t.call('trace_transaction', createTx)) as Trace[]
    expect(creation).toMatchObject({
      action: { creationMethod: 'create', from: sender, init: INIT_CODE, value: '0x0' },
      result: { address: created, code: '0x00' },
      type: 'create',
    })

    // trace_get: one index into that list, as Erigon and Reth.
    expect(await t.call('trace_get', callTx, ['0x2'])).toEqual(traces[2])
    expect(await t.call('trace_get', callTx, [0])).toEqual(traces[0])
    expect(await t.call('trace_get', callTx, ['0x3'])).toBeNull()
    expect(await t.call('trace_get', callTx, ['0x0', '0x1'])).toBeNull()

    const unknown = bytesToHex(new Uint8Array(32).fill(0xab))
    expect(await t.call('trace_transaction', unknown)).toBeNull()
    expect(await t.call('trace_get', unknown, ['0x0'])).toBeNull()
    expect(await t.call('trace_replayTransaction', unknown, ['trace'])).toBeNull()
  })

  it('gives a block’s traces in transaction order, by number, tag and hash; null for a block it does not have', async () => {
    const { t, record, hashes } = await tracedChain()
    const expected: Trace[] = []
    for (const hash of hashes) expected.push(...((await t.call('trace_transaction', hash)) as Trace[]))
    const block = (await t.call('trace_block', '0x1')) as Trace[]
    expect(block).toEqual(expected)
    expect(block.map((trace) => trace.transactionPosition)).toEqual([0, 0, 0, 1, 2, 3])
    expect(await t.call('trace_block', 'latest')).toEqual(expected)
    expect(await t.call('trace_block', bytesToHex(record.block.hash()))).toEqual(expected)
    expect(await t.call('trace_block', '0x0')).toEqual([])
    expect(await t.call('trace_block', toQuantity(99n))).toBeNull()
    expect(await t.call('trace_replayBlockTransactions', toQuantity(99n), ['trace'])).toBeNull()
  })

  it('filters a range’s traces by caller and callee, in union or intersection, a page at a time', async () => {
    const { t, hashes, sender, created } = await tracedChain()
    await t.mine([t.transaction({ nonce: 4, to: CALLER })])
    const all = [
      ...((await t.call('trace_block', '0x1')) as Trace[]),
      ...((await t.call('trace_block', '0x2')) as Trace[]),
    ]
    const filter = async (criteria: Record<string, unknown>) =>
      (await t.call('trace_filter', { fromBlock: '0x0', ...criteria })) as Trace[]
    const where = (test: (trace: Trace) => boolean) => all.filter(test)

    expect(await filter({})).toEqual(all)
    expect(await filter({ fromBlock: '0x2', toBlock: 'latest' })).toEqual(where((trace) => trace.blockNumber === 2))
    expect(await filter({ fromAddress: [CALLER] })).toEqual(where((trace) => trace.action.from === CALLER))
    expect(await filter({ toAddress: [CALLEE.toUpperCase().replace('0X', '0x')] })).toEqual(
      where((trace) => trace.action.to === CALLEE),
    )
    // A creation goes to the contract it creates.
    expect(await filter({ toAddress: [created] })).toEqual(where((trace) => trace.transactionHash === hashes[2]))
    // Union (the default): either side; intersection: both.
    expect(await filter({ fromAddress: [sender], toAddress: [CALLEE] })).toEqual(
      where((trace) => trace.action.from === sender || trace.action.to === CALLEE),
    )
    expect(await filter({ fromAddress: [sender], toAddress: [CALLEE], mode: 'intersection' })).toEqual(
      where((trace) => trace.action.from === sender && trace.action.to === CALLEE),
    )
    expect(await filter({ toAddress: [CALLEE], mode: 'intersection' })).toEqual(
      where((trace) => trace.action.to === CALLEE),
    )
    // Pages: `after` skips, `count` caps.
    expect(await filter({ after: 2, count: 3 })).toEqual(all.slice(2, 5))
    expect(await filter({ after: '0x4' })).toEqual(all.slice(4))

    expect(await rejection(t.call('trace_filter', { fromBlock: '0x2', toBlock: '0x1' }))).toEqual({
      rpcCode: -32602,
      message: 'fromBlock (2) is after toBlock (1)',
    })
    const { blocks } = DEFAULT_TRACE_FILTER_LIMITS
    expect(
      (await rejection(t.call('trace_filter', { fromBlock: '0x0', toBlock: toQuantity(BigInt(blocks)) }))).message,
    ).toBe(
      `trace_filter covers ${blocks + 1} blocks, more than the ${blocks} it replays at once; ask for a narrower fromBlock–toBlock range`,
    )
    expect((await rejection(t.call('trace_filter', { fromAddress: ['0x12'] }))).rpcCode).toBe(-32602)
  })

  it('refuses a trace_filter range holding more transactions than it replays at once', async () => {
    const t = await startTestChain({ alloc, maxTraceFilter: { blocks: 100, transactions: 3 } })
    chains.push(t)
    await t.mine([t.transaction({ nonce: 0, to: CALLEE }), t.transaction({ nonce: 1, to: CALLEE })])
    await t.mine([t.transaction({ nonce: 2, to: CALLEE }), t.transaction({ nonce: 3, to: CALLEE })])
    expect(((await t.call('trace_filter', { fromBlock: '0x2', toBlock: '0x2' })) as unknown[]).length).toBe(2)
    expect(await rejection(t.call('trace_filter', { fromBlock: '0x1', toBlock: 'latest' }))).toEqual({
      rpcCode: -32602,
      message:
        'blocks 1–2 hold 4 transactions, more than the 3 trace_filter replays at once; ask for a narrower fromBlock–toBlock range',
    })
  })

  it('replays transactions and calls with their output, and refuses the trace types it does not serve', async () => {
    const { t, hashes } = await tracedChain()
    const [callTx, revertTx, createTx] = hashes as [Hex, Hex, Hex]
    const placed = (await t.call('trace_transaction', callTx)) as Trace[]
    const unplaced = placed.map(({ blockHash, blockNumber, transactionHash, transactionPosition, ...rest }) => rest)

    expect(await t.call('trace_replayTransaction', callTx, ['trace'])).toEqual({
      output: '0x',
      stateDiff: null,
      trace: unplaced,
      vmTrace: null,
    })
    expect(await t.call('trace_replayTransaction', callTx, [])).toEqual({
      output: '0x',
      stateDiff: null,
      trace: [],
      vmTrace: null,
    })
    expect(((await t.call('trace_replayTransaction', createTx, ['trace'])) as { output: Hex }).output).toBe('0x00')
    expect(((await t.call('trace_replayTransaction', revertTx, ['trace'])) as { output: Hex }).output).toBe('0x')

    const replayed = (await t.call('trace_replayBlockTransactions', '0x1', ['trace'])) as {
      transactionHash: Hex
      trace: unknown[]
    }[]
    expect(replayed.map((entry) => entry.transactionHash)).toEqual(hashes)
    expect(replayed[0]!.trace).toEqual(unplaced)

    const called = (await t.call('trace_call', { to: CALLER }, ['trace'], 'latest')) as { trace: Trace[] }
    expect(called.trace.map((trace) => trace.traceAddress)).toEqual([[], [0], [1]])
    expect(called.trace[0]).not.toHaveProperty('blockHash')
    expect(await t.call('trace_call', { to: CALLEE }, ['trace'])).toMatchObject({ output: word42 })

    expect(await rejection(t.call('trace_replayTransaction', callTx, ['vmTrace']))).toEqual({
      rpcCode: -32602,
      message: expect.stringContaining('trace type "vmTrace" is not supported'),
    })
    expect((await rejection(t.call('trace_call', { to: CALLEE }, ['traces']))).message).toContain(
      'unknown trace type "traces"',
    )
  })

  it('gives Parity’s stateDiff from prestateTracer’s diff: born accounts, changed fields and slots', async () => {
    const { t, record, hashes, sender, created } = await tracedChain()
    const createTx = hashes[2]!
    const balance = async (address: string, block: string) => (await t.call('eth_getBalance', address, block)) as Hex
    const coinbase = record.block.header.coinbase.toString()

    const replayed = (await t.call('trace_replayTransaction', createTx, ['stateDiff'])) as {
      stateDiff: Record<string, unknown>
      trace: unknown[]
    }
    expect(replayed.trace).toEqual([])
    // The contract is born: every field is new. The sender's nonce and balance change, as the coinbase's.
    expect(replayed.stateDiff[created]).toEqual({
      balance: { '+': '0x0' },
      code: { '+': '0x00' },
      nonce: { '+': '0x1' },
      storage: {},
    })
    expect(replayed.stateDiff[sender]).toMatchObject({
      code: '=',
      nonce: { '*': { from: '0x2', to: '0x3' } },
      storage: {},
    })
    expect(Object.keys(replayed.stateDiff)).toEqual([sender, coinbase, created].sort())

    // A slot written: changed from zero to 42. The last transaction's balances are the block's.
    const store = t.transaction({ nonce: 4, to: STORER })
    await t.mine([store])
    const [stored] = (await t.call('trace_replayBlockTransactions', '0x2', ['trace', 'stateDiff'])) as {
      stateDiff: Record<string, { balance: unknown; storage: unknown }>
      trace: unknown[]
      transactionHash: Hex
    }[]
    expect(stored!.transactionHash).toBe(bytesToHex(store.hash()))
    expect(stored!.trace).toHaveLength(1)
    expect(stored!.stateDiff[STORER]).toEqual({
      balance: '=',
      code: '=',
      nonce: '=',
      storage: { [`0x${'01'.padStart(64, '0')}`]: { '*': { from: `0x${'0'.repeat(64)}`, to: word42 } } },
    })
    expect(stored!.stateDiff[sender]!.balance).toEqual({
      '*': { from: await balance(sender, '0x1'), to: await balance(sender, '0x2') },
    })

    // A call's state changes, on a block's state, without a stored transaction: on block 1 the slot
    // was still zero; on the latest state it holds 42 already, and writing 42 changes nothing.
    const call = async (block: string) =>
      (
        (await t.call('trace_call', { from: sender, to: STORER }, ['stateDiff'], block)) as {
          stateDiff: Record<string, { storage: unknown }>
        }
      ).stateDiff
    expect((await call('0x1'))[STORER]!.storage).toEqual(stored!.stateDiff[STORER]!.storage)
    expect((await call('latest'))[STORER]).toBeUndefined()
  })
})
