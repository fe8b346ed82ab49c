import { bytesToHex, setLengthLeft } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { wasmKeccak256 } from '@cairn/executor'
import { ANCHOR_ADDRESS, type GenesisAccount, type Hex, toQuantity } from '@cairn/primitives'
import { type TestChain, l1Block, rejection, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

async function testChain(options: Parameters<typeof startTestChain>[0]) {
  const chain = await startTestChain(options)
  chains.push(chain)
  return chain
}

const selector = (signature: string): Hex =>
  bytesToHex(wasmKeccak256(new TextEncoder().encode(signature)).subarray(0, 4))
const word = (value: bigint | Uint8Array): Hex =>
  bytesToHex(setLengthLeft(typeof value === 'bigint' ? Uint8Array.of(Number(value)) : value, 32))
/** Returns BLOCKHASH(1): PUSH1 1 BLOCKHASH PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN. */
const BLOCKHASH_READER: Hex = '0x000000000000000000000000000000000000b10c'
const alloc: Record<string, GenesisAccount> = {
  [BLOCKHASH_READER]: { balance: '0x0', code: '0x60014060005260206000f3' },
}
const CALL_TRACER = { tracer: 'callTracer' }

describe('trace replays', () => {
  it('run the anchor system call before the block’s transactions, as execution did', async () => {
    const t = await testChain({ anchor: true })
    // Block 1 is anchored to L1 block 5; its transaction reads what the anchor call just recorded.
    const readAnchor = t.transaction({ nonce: 0, to: ANCHOR_ADDRESS, data: selector('lastL1BlockNumber()') })
    const record = await t.mine([readAnchor], l1Block(5))
    expect(record.receipts[0]!.status).toBe(1)

    const traced = (await t.call('debug_traceTransaction', bytesToHex(readAnchor.hash()), CALL_TRACER)) as {
      output: Hex
    }
    expect(traced.output).toBe(word(5n))
    const [inBlock] = (await t.call('debug_traceBlockByNumber', '0x1', CALL_TRACER)) as { result: { output: Hex } }[]
    expect(inBlock!.result.output).toBe(word(5n))
  })

  it('traces every transaction of a block in order, by number and by hash, as traceTransaction does', async () => {
    const t = await testChain({ anchor: true, alloc })
    await t.mine([], l1Block(1))
    const txs = [
      t.transaction({ nonce: 0, to: bytesToHex(new Uint8Array(20).fill(0x77)), value: 10n }),
      t.transaction({ nonce: 1, to: ANCHOR_ADDRESS, data: selector('lastL1BlockNumber()') }),
      t.transaction({ nonce: 2, to: BLOCKHASH_READER }),
    ]
    const record = await t.mine(txs, l1Block(2))
    const hashes = txs.map((tx) => bytesToHex(tx.hash()))

    for (const options of [CALL_TRACER, {}, { disableStack: true, enableMemory: true }]) {
      const byNumber = (await t.call('debug_traceBlockByNumber', '0x2', options)) as { txHash: Hex; result: unknown }[]
      expect(byNumber.map((entry) => entry.txHash)).toEqual(hashes)
      for (const [i, hash] of hashes.entries()) {
        expect(byNumber[i]!.result).toEqual(await t.call('debug_traceTransaction', hash, options))
      }
      expect(await t.call('debug_traceBlockByHash', bytesToHex(record.block.hash()), options)).toEqual(byNumber)
      expect(await t.call('debug_traceBlockByNumber', 'latest', options)).toEqual(byNumber)
    }
    const calls = (await t.call('debug_traceBlockByNumber', '0x2', CALL_TRACER)) as { result: { output?: Hex } }[]
    expect(calls.map((entry) => entry.result.output)).toEqual([
      undefined,
      word(2n),
      word((await t.chain.getBlockByNumber(1n))!.block.hash()),
    ])
    expect(await t.call('debug_traceBlockByNumber', '0x1', CALL_TRACER)).toEqual([])
  })

  it('trace a side-branch block on its own ancestry and leave the shared VMs on the canonical chain', async () => {
    const t = await testChain({ anchor: true, alloc })
    const genesis = t.chain.head()
    const canonicalOne = await t.mine([], l1Block(1))
    await t.mine([], l1Block(2))
    // A branch from genesis that is not canonical: its block 1 differs from the canonical one.
    const sideOne = await t.putSideBlock(genesis, [], l1Block(1), genesis.header.timestamp + 3n)
    const read = t.transaction({ nonce: 0, to: BLOCKHASH_READER })
    const sideTwo = await t.putSideBlock(sideOne.block, [read], l1Block(2), genesis.header.timestamp + 5n)
    expect(bytesToHex((await t.chain.getBlockByNumber(1n))!.block.hash())).toBe(bytesToHex(canonicalOne.block.hash()))

    // The anchor call checks BLOCKHASH(number - 1) against the parent hash: on the canonical
    // chain's hashes the replay of this block would fail.
    const [traced] = (await t.call('debug_traceBlockByHash', bytesToHex(sideTwo.block.hash()), CALL_TRACER)) as {
      result: { output: Hex }
    }[]
    expect(traced!.result.output).toBe(word(sideOne.block.hash()))

    // Calls afterwards see the canonical chain again.
    const blockOne = await t.call('eth_call', { to: BLOCKHASH_READER }, 'latest')
    expect(blockOne).toBe(word(canonicalOne.block.hash()))
  })

  it('serve prestateTracer (diffMode too) and 4byteTracer through debug_traceTransaction and debug_traceCall', async () => {
    const t = await testChain({})
    const recipient = bytesToHex(new Uint8Array(20).fill(0x77))
    const transfer = t.transaction({ nonce: 0, to: recipient, value: 10n, data: '0xaabbccdd00' })
    const record = await t.mine([transfer])
    const sender = transfer.getSenderAddress().toString()
    const coinbase = record.block.header.coinbase.toString()
    const balance = async (address: string, block: string) => (await t.call('eth_getBalance', address, block)) as Hex
    const hash = bytesToHex(transfer.hash())

    const pre = await t.call('debug_traceTransaction', hash, { tracer: 'prestateTracer' })
    // The recipient and the coinbase (the dev chain's zero address) were empty before: geth omits them.
    expect(await balance(coinbase, '0x0')).toBe('0x0')
    expect(pre).toEqual({ [sender]: { balance: await balance(sender, '0x0') } })
    const diff = (await t.call('debug_traceTransaction', hash, {
      tracer: 'prestateTracer',
      tracerConfig: { diffMode: true },
    })) as { pre: Record<string, unknown>; post: Record<string, unknown> }
    expect(diff.pre).toEqual(pre)
    expect(diff.post).toEqual({
      [sender]: { balance: await balance(sender, '0x1'), nonce: 1 },
      [recipient]: { balance: '0xa' },
      [coinbase]: { balance: await balance(coinbase, '0x1') },
    })

    expect(await t.call('debug_traceTransaction', hash, { tracer: '4byteTracer' })).toEqual({ '0xaabbccdd-1': 1 })
    const request = { from: sender, to: recipient, data: '0x0102030405060708' }
    expect(await t.call('debug_traceCall', request, 'latest', { tracer: '4byteTracer' })).toEqual({ '0x01020304-4': 1 })
    // An unpriced call pays the coinbase nothing, but geth still records its state.
    expect(await t.call('debug_traceCall', request, 'latest', { tracer: 'prestateTracer' })).toEqual({
      [coinbase]: { balance: await balance(coinbase, 'latest') },
      [recipient]: { balance: '0xa' },
      [sender]: { balance: await balance(sender, 'latest'), nonce: 1 },
    })
    // Options that are not an object are refused, not read as the default struct logger's.
    for (const options of ['x', 5, []]) {
      expect(await rejection(t.call('debug_traceCall', request, 'latest', options))).toEqual({
        rpcCode: -32000,
        message: 'trace options must be an object',
      })
      expect(await rejection(t.call('debug_traceTransaction', hash, options))).toEqual({
        rpcCode: -32000,
        message: 'trace options must be an object',
      })
    }
  })

  it('refuses muxTracers nested thousands deep as a bad argument (they overflowed the stack: -32603)', async () => {
    const t = await testChain({})
    const recipient = bytesToHex(new Uint8Array(20).fill(0x77))
    const transfer = t.transaction({ nonce: 0, to: recipient, value: 1n })
    await t.mine([transfer])
    let nested: unknown = {}
    for (let i = 0; i < 3_000; i++) nested = { muxTracer: nested }
    const deep = { tracer: 'muxTracer', tracerConfig: nested }
    const tooDeep = { rpcCode: -32602, message: 'muxTracers nest at most 16 deep' }
    expect(await rejection(t.call('debug_traceCall', { to: recipient }, 'latest', deep))).toEqual(tooDeep)
    expect(await rejection(t.call('debug_traceTransaction', bytesToHex(transfer.hash()), deep))).toEqual(tooDeep)
  })

  it('serves flatCallTracer with each trace placed in its block and transaction, and none for debug_traceCall', async () => {
    const t = await testChain({})
    const recipient = bytesToHex(new Uint8Array(20).fill(0x77))
    await t.mine([t.transaction({ nonce: 0, to: recipient, value: 1n })])
    const second = t.transaction({ nonce: 1, to: recipient, value: 10n, data: '0xaabbccdd00' })
    const record = await t.mine([second, t.transaction({ nonce: 2, to: recipient, value: 1n })])
    const sender = second.getSenderAddress().toString()
    const flat = { tracer: 'flatCallTracer' }

    const [trace] = (await t.call('debug_traceTransaction', bytesToHex(second.hash()), flat)) as unknown[]
    expect(trace).toEqual({
      action: {
        callType: 'call',
        from: sender,
        gas: toQuantity(second.gasLimit),
        input: '0xaabbccdd00',
        to: recipient,
        value: '0xa',
      },
      blockHash: bytesToHex(record.block.hash()),
      blockNumber: 2,
      result: { gasUsed: toQuantity(record.receipts[0]!.cumulativeGasUsed), output: '0x' },
      subtraces: 0,
      traceAddress: [],
      transactionHash: bytesToHex(second.hash()),
      transactionPosition: 0,
      type: 'call',
    })
    const inBlock = (await t.call('debug_traceBlockByNumber', '0x2', flat)) as {
      result: { transactionPosition: number }[]
    }[]
    expect(inBlock.map((entry) => entry.result[0]!.transactionPosition)).toEqual([0, 1])

    const [called] = (await t.call('debug_traceCall', { from: sender, to: recipient }, 'latest', flat)) as unknown[]
    expect(called).toMatchObject({ blockHash: null, blockNumber: 0, transactionHash: null, transactionPosition: 0 })
  })

  it('answers geth’s errors for blocks it cannot trace', async () => {
    const t = await testChain({ anchor: true })
    await t.mine([], l1Block(1))
    expect(await rejection(t.call('debug_traceBlockByNumber', '0x0'))).toEqual({
      rpcCode: -32000,
      message: 'genesis is not traceable',
    })
    expect(await rejection(t.call('debug_traceBlockByNumber', toQuantity(99n)))).toEqual({
      rpcCode: -32000,
      message: 'block #99 not found',
    })
    const unknown = bytesToHex(new Uint8Array(32).fill(0xab))
    expect(await rejection(t.call('debug_traceBlockByHash', unknown))).toEqual({
      rpcCode: -32000,
      message: `block ${unknown} not found`,
    })
    expect((await rejection(t.call('debug_traceBlockByNumber', '0x1', { tracer: 'nope' }))).message).toBe(
      'tracer not found: nope',
    )
  })
})
