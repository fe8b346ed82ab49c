import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { TestChain, calldata, word, compiledContracts } from '../test/harness.ts'
import { type CallFrame, type StructLoggerResult, createCallTracer, createStructLogger } from './index.ts'

const QUANTITY = expect.stringMatching(/^0x(0|[1-9a-f][0-9a-f]*)$/)

const contract = compiledContracts()

function hex(value: bigint): string {
  return `0x${value.toString(16)}`
}

/** ABI encoding of Error(string) for short messages (< 32 bytes). */
function errorData(message: string): string {
  const bytes = Buffer.from(message, 'utf8')
  return `0x08c379a0${(32).toString(16).padStart(64, '0')}${bytes.length.toString(16).padStart(64, '0')}${bytes.toString('hex').padEnd(64, '0')}`
}

describe('call tracer', () => {
  it('reports a plain transfer as one CALL frame', async () => {
    const chain = await TestChain.create()
    const recipient = TestChain.address('0x00000000000000000000000000000000000000aa')
    const { result } = await chain.trace(
      chain.tx({ to: recipient, value: 1000n, gasLimit: 50_000n }),
      createCallTracer(),
    )
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: '0xc350',
      gasUsed: '0x5208',
      to: '0x00000000000000000000000000000000000000aa',
      input: '0x',
      value: '0x3e8',
      type: 'CALL',
    })
    expect(Object.keys(result as object)).toEqual(['from', 'gas', 'gasUsed', 'to', 'input', 'value', 'type'])
  })

  it('nests a reverted STATICCALL caught by the caller, with error and revertReason', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const input = calldata(contract('Caller'), 'tryCheck(uint256)', 1n)
    const calleeInput = calldata(contract('Callee'), 'check(uint256)', 1n)
    const tracer = createCallTracer()
    const structLogger = createStructLogger()
    structLogger.attach(chain.vm.evm)
    const { run, result } = await chain.trace(chain.tx({ to: caller, data: input }), tracer)
    structLogger.detach()

    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(1_000_000n),
      gasUsed: hex(run.totalGasSpent),
      to: caller.toString(),
      input: bytesToHex(input),
      output: `0x${'0'.repeat(64)}`,
      calls: [
        {
          from: caller.toString(),
          gas: QUANTITY,
          gasUsed: QUANTITY,
          to: callee.toString(),
          input: bytesToHex(calleeInput),
          output: errorData('B says no'),
          error: 'execution reverted',
          revertReason: 'B says no',
          type: 'STATICCALL',
        },
      ],
      value: '0x0',
      type: 'CALL',
    })
    // The callee frame's gas is what its first opcode saw, as in geth.
    const inner = (result as CallFrame).calls?.[0] as CallFrame
    const steps = (structLogger.result(run) as StructLoggerResult).structLogs
    const calleeSteps = steps.filter((step) => step.depth === 2)
    expect(inner.gas).toBe(hex(BigInt(calleeSteps[0]?.gas ?? 0)))
    const lastCalleeStep = calleeSteps.at(-1)
    expect(lastCalleeStep?.op).toBe('REVERT')
    expect(BigInt(inner.gasUsed)).toBe(
      BigInt((calleeSteps[0]?.gas ?? 0) - (lastCalleeStep?.gas ?? 0) + (lastCalleeStep?.gasCost ?? 0)),
    )
  })

  it('reports a CREATE with the new address, init code as input and runtime code as output', async () => {
    const chain = await TestChain.create()
    const factory = await chain.deploy(contract('Factory'))
    const { run, result } = await chain.trace(
      chain.tx({ to: factory, data: calldata(contract('Factory'), 'make(uint256)', 7n) }),
      createCallTracer(),
    )
    const frame = result as CallFrame
    const created = `0x${bytesToHex(run.execResult.returnValue).slice(-40)}`
    const child = frame.calls?.[0] as CallFrame
    expect(child).toStrictEqual({
      from: factory.toString(),
      gas: QUANTITY,
      gasUsed: QUANTITY,
      to: created,
      input: `${bytesToHex(contract('Child').bytecode)}${'7'.padStart(64, '0')}`,
      output: bytesToHex((await chain.vm.stateManager.getCode(TestChain.address(created))) as Uint8Array),
      value: '0x0',
      type: 'CREATE',
    })
    expect(frame.calls).toHaveLength(1)
  })

  it('reports a contract-creation transaction as a top-level CREATE', async () => {
    const chain = await TestChain.create()
    const initCode = new Uint8Array([...contract('Child').bytecode, ...word(3n)])
    const { run, result } = await chain.trace(chain.tx({ data: initCode, gasLimit: 500_000n }), createCallTracer())
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(500_000n),
      gasUsed: hex(run.totalGasSpent),
      to: run.createdAddress?.toString(),
      input: bytesToHex(initCode),
      output: expect.stringMatching(/^0x6080/),
      value: '0x0',
      type: 'CREATE',
    })
  })

  it('reports a DELEGATECALL from the delegating contract to the implementation, with its log', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    const proxy = await chain.deploy(contract('Proxy'))
    const { result } = await chain.trace(
      chain.tx({ to: proxy, data: calldata(contract('Proxy'), 'delegate(address,uint256)', store, 9n) }),
      createCallTracer({ withLog: true }),
      { logIndexOffset: 4 },
    )
    const frame = result as CallFrame
    expect(frame.logs).toBeUndefined()
    expect(frame.calls).toStrictEqual([
      {
        from: proxy.toString(),
        gas: QUANTITY,
        gasUsed: QUANTITY,
        to: store.toString(),
        input: bytesToHex(calldata(contract('Store'), 'set(uint256)', 9n)),
        logs: [
          {
            // Storage context of a delegatecall is the proxy, so the log is the proxy's.
            address: proxy.toString(),
            topics: [expect.stringMatching(/^0x[0-9a-f]{64}$/), `0x${'0'.repeat(64)}`],
            data: `0x${'9'.padStart(64, '0')}`,
            index: '0x4',
            position: '0x0',
          },
        ],
        value: '0x0',
        type: 'DELEGATECALL',
      },
    ])
    // The implementation's code ran against the proxy's storage.
    expect(await chain.vm.stateManager.getStorage(proxy, new Uint8Array(32))).toEqual(new Uint8Array([9]))
  })

  it('reports a top-level Error(string) revert', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const input = calldata(contract('Caller'), 'fail()')
    const { run, result } = await chain.trace(chain.tx({ to: caller, data: input }), createCallTracer())
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(1_000_000n),
      gasUsed: hex(run.totalGasSpent),
      to: caller.toString(),
      input: bytesToHex(input),
      output: errorData('top level says no'),
      error: 'execution reverted',
      revertReason: 'top level says no',
      value: '0x0',
      type: 'CALL',
    })
  })

  it('decodes a Panic(uint256) revert the way geth words it', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const { result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'overflow(uint256)', 1n) }),
      createCallTracer(),
    )
    expect(result).toMatchObject({
      error: 'execution reverted',
      revertReason: 'arithmetic underflow or overflow',
      output: `0x4e487b71${'11'.padStart(64, '0')}`,
    })
  })

  it('keeps logs only of frames that did not fail, positioned among sub-calls', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const { result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'tryCheck(uint256)', 1n) }),
      createCallTracer({ withLog: true }),
    )
    const frame = result as CallFrame
    // Caught(reason) is emitted after the failed sub-call: position 1.
    expect(frame.logs).toStrictEqual([
      {
        address: caller.toString(),
        topics: [expect.stringMatching(/^0x[0-9a-f]{64}$/)],
        data: `0x${errorData('B says no').slice(10)}`,
        index: '0x0',
        position: '0x1',
      },
    ])
    expect(frame.calls?.[0]?.logs).toBeUndefined()
  })

  it('drops sub-calls with onlyTopCall', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const { result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'tryCheck(uint256)', 1n) }),
      createCallTracer({ onlyTopCall: true }),
    )
    expect(result).toMatchObject({ type: 'CALL', to: caller.toString() })
    expect((result as CallFrame).calls).toBeUndefined()
  })
})

describe('call tracer, less common frames', () => {
  it('types a CREATE2 sub-call by its opcode', async () => {
    const chain = await TestChain.create()
    const factory = await chain.deploy(contract('Factory'))
    const { run, result } = await chain.trace(
      chain.tx({ to: factory, data: calldata(contract('Factory'), 'make2(uint256)', 7n) }),
      createCallTracer(),
    )
    expect((result as CallFrame).calls?.[0]).toMatchObject({
      from: factory.toString(),
      to: `0x${bytesToHex(run.execResult.returnValue).slice(-40)}`,
      type: 'CREATE2',
      value: '0x0',
    })
  })

  it('reports SELFDESTRUCT as a zero-gas frame carrying the balance', async () => {
    const chain = await TestChain.create()
    const bomb = await chain.deploy(contract('Bomb'), new Uint8Array(), 777n)
    const heir = TestChain.address('0x00000000000000000000000000000000000000bb')
    const { result } = await chain.trace(
      chain.tx({ to: bomb, data: calldata(contract('Bomb'), 'boom(address)', heir) }),
      createCallTracer(),
    )
    expect((result as CallFrame).calls).toStrictEqual([
      {
        from: bomb.toString(),
        gas: '0x0',
        gasUsed: '0x0',
        to: heir.toString(),
        input: '0x',
        value: hex(777n),
        type: 'SELFDESTRUCT',
      },
    ])
  })

  it('counts the 2300 stipend in the gas of a value-bearing CALL', async () => {
    const chain = await TestChain.create()
    const payer = await chain.deploy(contract('Payer'), new Uint8Array(), 100n)
    const payee = TestChain.address('0x00000000000000000000000000000000000000cc')
    const structLogger = createStructLogger()
    structLogger.attach(chain.vm.evm)
    const { run, result } = await chain.trace(
      chain.tx({ to: payer, data: calldata(contract('Payer'), 'pay(address)', payee) }),
      createCallTracer(),
    )
    structLogger.detach()
    const call = (result as CallFrame).calls?.[0] as CallFrame
    expect(call).toStrictEqual({
      from: payer.toString(),
      gas: QUANTITY,
      gasUsed: '0x0',
      to: payee.toString(),
      input: '0x',
      value: '0x5',
      type: 'CALL',
    })
    // The CALL step's gasCost is its fee (2600 cold + 9000 value + 25000 new account) plus the forwarded gas;
    // the callee frame gets the forwarded gas plus the 2300 stipend.
    const callStep = (structLogger.result(run) as StructLoggerResult).structLogs.find((step) => step.op === 'CALL')
    expect(BigInt(call.gas)).toBe(BigInt((callStep?.gasCost ?? 0) - 36_600 + 2300))
  })

  it('reports a sub-call that runs out of gas as "out of gas" using all of its gas', async () => {
    const chain = await TestChain.create()
    const spinner = await chain.deploy(contract('Spinner'))
    const payer = await chain.deploy(contract('Payer'))
    const { result } = await chain.trace(
      chain.tx({ to: payer, data: calldata(contract('Payer'), 'burn(address)', spinner) }),
      createCallTracer(),
    )
    const call = (result as CallFrame).calls?.[0] as CallFrame
    expect(call).toStrictEqual({
      from: payer.toString(),
      gas: hex(30_000n),
      gasUsed: hex(30_000n),
      to: spinner.toString(),
      input: bytesToHex(calldata(contract('Spinner'), 'spin()')),
      error: 'out of gas',
      value: '0x0',
      type: 'CALL',
    })
    expect((result as CallFrame).error).toBeUndefined()
  })

  it('names the failing opcode in "invalid opcode" errors', async () => {
    const chain = await TestChain.create()
    const target = TestChain.address('0x00000000000000000000000000000000000000dd')
    await chain.vm.stateManager.putCode(target, new Uint8Array([0x60, 0x00, 0xfe]))
    const { result } = await chain.trace(chain.tx({ to: target, gasLimit: 50_000n }), createCallTracer())
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(50_000n),
      gasUsed: hex(50_000n),
      to: target.toString(),
      input: '0x',
      error: 'invalid opcode: INVALID',
      value: '0x0',
      type: 'CALL',
    })
  })

  it('traces a LOG whose memory could never be paid for as the out-of-gas failure it is', async () => {
    const chain = await TestChain.create()
    const target = TestChain.address('0x00000000000000000000000000000000000000de')
    // LOG0 of 2^256 - 1 bytes at offset 0: the step is seen before the opcode's gas check fails.
    await chain.vm.stateManager.putCode(target, new Uint8Array([0x7f, ...new Array(32).fill(0xff), 0x60, 0x00, 0xa0]))
    const { result } = await chain.trace(
      chain.tx({ to: target, gasLimit: 50_000n }),
      createCallTracer({ withLog: true }),
    )
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(50_000n),
      gasUsed: hex(50_000n),
      to: target.toString(),
      input: '0x',
      error: 'out of gas',
      value: '0x0',
      type: 'CALL',
    })
  })

  it('records a call refused for insufficient balance as geth does, with no gas used', async () => {
    const chain = await TestChain.create()
    // Payer holds no ether, so its 5-wei call is refused before any callee frame starts.
    const payer = await chain.deploy(contract('Payer'))
    const payee = TestChain.address('0x00000000000000000000000000000000000000cc')
    const { result } = await chain.trace(
      chain.tx({ to: payer, data: calldata(contract('Payer'), 'pay(address)', payee) }),
      createCallTracer(),
    )
    expect(result).toMatchObject({ error: 'execution reverted', to: payer.toString() })
    expect((result as CallFrame).calls).toStrictEqual([
      {
        from: payer.toString(),
        gas: QUANTITY,
        gasUsed: '0x0',
        to: payee.toString(),
        input: '0x',
        error: 'insufficient balance for transfer',
        value: '0x5',
        type: 'CALL',
      },
    ])
  })

  it('reports a create that cannot pay for its code deposit as geth does', async () => {
    const chain = await TestChain.create()
    // Init code returning 200 zero bytes: cheap to run, 40000 gas to deposit.
    const initCode = new Uint8Array([0x60, 0xc8, 0x60, 0x00, 0xf3])
    const tracer = createCallTracer()
    const structLogger = createStructLogger()
    structLogger.attach(chain.vm.evm)
    const { run, result } = await chain.trace(chain.tx({ data: initCode, gasLimit: 80_000n }), tracer)
    structLogger.detach()
    expect(result).toStrictEqual({
      from: chain.sender.toString(),
      gas: hex(80_000n),
      gasUsed: hex(80_000n),
      input: '0x60c86000f3',
      error: 'contract creation code storage out of gas',
      value: '0x0',
      type: 'CREATE',
    })
    const traced = structLogger.result(run) as StructLoggerResult
    expect(traced).toMatchObject({ gas: 80_000, failed: true, returnValue: '0x' })
    expect(traced.structLogs.map((step) => step.op)).toEqual(['PUSH1', 'PUSH1', 'RETURN'])
    expect(traced.structLogs.every((step) => step.error === undefined)).toBe(true)
  })
})

describe('call tracer, a frame of a precompile that refuses its input', () => {
  /** The BLS12-381 base field's modulus, as a 64-byte EIP-2537 field element. */
  const BLS_P =
    '1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab'.padStart(
      128,
      '0',
    )
  const precompileAddress = (n: number) => TestChain.address(`0x${n.toString(16).padStart(40, '0')}`)
  const words = (...values: bigint[]) => values.map((v) => v.toString(16).padStart(64, '0')).join('')

  /** Code that CALLs precompile `n` with all of its own calldata and all its gas, then stops whatever the call did. */
  const forwarder = (n: number) =>
    Uint8Array.from([
      ...[0x36, 0x60, 0x00, 0x60, 0x00, 0x37], // CALLDATACOPY(0, 0, CALLDATASIZE)
      ...[0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x60, 0x00, 0x60, n, 0x5a, 0xf1], // CALL(GAS, n, 0, 0, CALLDATASIZE, 0, 0)
      ...[0x50, 0x00], // POP, STOP
    ])

  // geth's callTracer takes the error the precompile returned; ethereumjs reported these as the
  // revert, return-data and empty-input errors in the comments.
  it.each<[string, number, string, string]>([
    ['BN254 add, a point off the curve', 0x06, words(1n, 3n, 0n, 0n), 'point is not on curve'], // execution reverted
    ['BLAKE2F, 212 bytes', 0x09, '00'.repeat(212), 'invalid input length'], // return data out of bounds
    ['BLS12 G1ADD, x not below p', 0x0b, BLS_P + '00'.repeat(192), 'invalid fp.Element encoding'], // execution reverted
    ['BLS12 G1MSM, an empty input', 0x0c, '', 'invalid input length'], // input is empty
    ['BLS12 MAP_FP_TO_G1, nonzero top bytes', 0x10, `01${'00'.repeat(63)}`, 'invalid field element top bytes'], // point not on curve
  ])('%s: %s', async (_name, n, data, message) => {
    const chain = await TestChain.create()
    const caller = TestChain.address('0x00000000000000000000000000000000000000f0')
    await chain.vm.stateManager.putCode(caller, forwarder(n))
    const input = hexToBytes(`0x${data}`)
    const { result } = await chain.trace(chain.tx({ to: caller, data: input }), createCallTracer())
    const top = result as CallFrame
    expect(top.error).toBeUndefined()
    const inner = top.calls?.[0] as CallFrame
    // A failed precompile uses all of its gas and returns nothing, as in geth.
    expect(inner).toStrictEqual({
      from: caller.toString(),
      gas: inner.gas,
      gasUsed: inner.gas,
      to: `0x${n.toString(16).padStart(40, '0')}`,
      input: bytesToHex(input),
      error: message,
      value: '0x0',
      type: 'CALL',
    })

    // The same error on the transaction's own frame when the transaction calls the precompile.
    const direct = await chain.trace(chain.tx({ to: precompileAddress(n), data: input }), createCallTracer())
    expect(direct.result).toMatchObject({ error: message })
    expect(direct.result).not.toHaveProperty('output')
  })
})
