import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { TestChain, calldata, compiledContracts, word } from '../test/harness.ts'
import { type FlatCallTrace, type TraceContext, createFlatCallTracer } from './index.ts'

const QUANTITY = expect.stringMatching(/^0x(0|[1-9a-f][0-9a-f]*)$/)
const contract = compiledContracts()

const BLOCK_HASH = new Uint8Array(32).fill(0xbb)
const TX_HASH = new Uint8Array(32).fill(0xcc)
const IN_BLOCK: TraceContext = {
  transaction: { blockHash: BLOCK_HASH, blockNumber: 9n, hash: TX_HASH, index: 3 },
}
/** The fields every trace of a transaction at IN_BLOCK carries. */
const PLACE = {
  blockHash: bytesToHex(BLOCK_HASH),
  blockNumber: 9,
  transactionHash: bytesToHex(TX_HASH),
  transactionPosition: 3,
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`
}

describe('flat call tracer', () => {
  it('lists a call and its reverted sub-call depth first, in geth’s field order, with the revert output kept', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const input = calldata(contract('Caller'), 'tryCheck(uint256)', 1n)
    const { run, result } = await chain.trace(chain.tx({ to: caller, data: input }), createFlatCallTracer(), IN_BLOCK)
    const traces = result as FlatCallTrace[]
    expect(traces).toStrictEqual([
      {
        action: {
          callType: 'call',
          from: chain.sender.toString(),
          gas: hex(1_000_000n),
          input: bytesToHex(input),
          to: caller.toString(),
          value: '0x0',
        },
        ...PLACE,
        result: { gasUsed: hex(run.totalGasSpent), output: `0x${'0'.repeat(64)}` },
        subtraces: 1,
        traceAddress: [],
        type: 'call',
      },
      {
        action: {
          callType: 'staticcall',
          from: caller.toString(),
          gas: QUANTITY,
          input: bytesToHex(calldata(contract('Callee'), 'check(uint256)', 1n)),
          to: callee.toString(),
          value: '0x0',
        },
        ...PLACE,
        error: 'execution reverted',
        result: { gasUsed: QUANTITY, output: expect.stringMatching(/^0x08c379a0/) },
        subtraces: 0,
        traceAddress: [0],
        type: 'call',
      },
    ])
    expect(Object.keys(traces[1]!)).toEqual([
      'action',
      'blockHash',
      'blockNumber',
      'error',
      'result',
      'subtraces',
      'traceAddress',
      'transactionHash',
      'transactionPosition',
      'type',
    ])

    const parity = await chain.trace(
      chain.tx({ to: caller, data: input }),
      createFlatCallTracer({ convertParityErrors: true }),
    )
    expect((parity.result as FlatCallTrace[])[1]?.error).toBe('Reverted')
  })

  it('reports creations with their method, init code, address and code', async () => {
    const chain = await TestChain.create()
    const factory = await chain.deploy(contract('Factory'))
    for (const [signature, method] of [
      ['make(uint256)', 'create'],
      ['make2(uint256)', 'create2'],
    ] as const) {
      const { run, result } = await chain.trace(
        chain.tx({ to: factory, data: calldata(contract('Factory'), signature, 7n) }),
        createFlatCallTracer(),
        IN_BLOCK,
      )
      const created = `0x${bytesToHex(run.execResult.returnValue).slice(-40)}`
      const code = (await chain.vm.stateManager.getCode(TestChain.address(created))) as Uint8Array
      expect((result as FlatCallTrace[])[1]).toStrictEqual({
        action: {
          creationMethod: method,
          from: factory.toString(),
          gas: QUANTITY,
          init: `${bytesToHex(contract('Child').bytecode)}${'7'.padStart(64, '0')}`,
          value: '0x0',
        },
        ...PLACE,
        result: { address: created, code: bytesToHex(code), gasUsed: QUANTITY },
        subtraces: 0,
        traceAddress: [0],
        type: 'create',
      })
    }
  })

  it('leaves out calls to precompiles unless includePrecompiles is set', async () => {
    const chain = await TestChain.create()
    const hasher = await chain.deploy(contract('Hasher'))
    const data = new Uint8Array([
      ...calldata(contract('Hasher'), 'hash(bytes)', 32n, 1n),
      ...new Uint8Array(32).fill(0xab),
    ])
    const plain = await chain.trace(chain.tx({ to: hasher, data }), createFlatCallTracer())
    expect(plain.result).toHaveLength(1)
    expect((plain.result as FlatCallTrace[])[0]?.subtraces).toBe(0)

    const all = await chain.trace(chain.tx({ to: hasher, data }), createFlatCallTracer({ includePrecompiles: true }))
    const traces = all.result as FlatCallTrace[]
    expect(traces.map((trace) => [trace.traceAddress, trace.subtraces])).toEqual([
      [[], 1],
      [[0], 0],
    ])
    expect(traces[1]?.action).toMatchObject({
      callType: 'staticcall',
      to: '0x0000000000000000000000000000000000000002',
      value: '0x0',
    })
  })

  it('reports SELFDESTRUCT as a suicide trace without a result', async () => {
    const chain = await TestChain.create()
    const bomb = await chain.deploy(contract('Bomb'), new Uint8Array(), 777n)
    const heir = TestChain.address('0x00000000000000000000000000000000000000bb')
    const { result } = await chain.trace(
      chain.tx({ to: bomb, data: calldata(contract('Bomb'), 'boom(address)', heir) }),
      createFlatCallTracer(),
      IN_BLOCK,
    )
    expect((result as FlatCallTrace[])[1]).toStrictEqual({
      action: { address: bomb.toString(), balance: hex(777n), refundAddress: heir.toString() },
      ...PLACE,
      subtraces: 0,
      traceAddress: [0],
      type: 'suicide',
    })
  })

  it('drops the result of a frame that failed other than by reverting, and names its place as null without a block', async () => {
    const chain = await TestChain.create()
    const spinner = await chain.deploy(contract('Spinner'))
    const payer = await chain.deploy(contract('Payer'))
    const { result } = await chain.trace(
      chain.tx({ to: payer, data: calldata(contract('Payer'), 'burn(address)', spinner) }),
      createFlatCallTracer({ convertParityErrors: true }),
    )
    const inner = (result as FlatCallTrace[])[1]!
    expect(inner.error).toBe('Out of gas')
    expect(inner).not.toHaveProperty('result')
    expect(inner).toMatchObject({ blockHash: null, blockNumber: 0, transactionHash: null, transactionPosition: 0 })
  })

  it('gives a refused precompile call geth’s error and no result, where ethereumjs reported a revert', async () => {
    const chain = await TestChain.create()
    const g1add = TestChain.address('0x000000000000000000000000000000000000000b')
    // A G1 point whose x is the BLS12-381 modulus: not a field element.
    const modulus = '1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab'
    const input = hexToBytes(`0x${modulus.padStart(128, '0')}${'00'.repeat(192)}`)
    const { result } = await chain.trace(chain.tx({ to: g1add, data: input }), createFlatCallTracer(), IN_BLOCK)
    const [trace] = result as FlatCallTrace[]
    expect(trace!.error).toBe('invalid fp.Element encoding')
    expect(trace).not.toHaveProperty('result')
    // An empty MSM input is geth's `invalid input length`, which Parity calls `Built-in failed`.
    const g1msm = TestChain.address('0x000000000000000000000000000000000000000c')
    const parity = await chain.trace(chain.tx({ to: g1msm }), createFlatCallTracer({ convertParityErrors: true }))
    expect((parity.result as FlatCallTrace[])[0]!.error).toBe('Built-in failed')
  })
})
