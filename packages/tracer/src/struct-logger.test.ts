import { describe, expect, it } from 'vitest'
import { TestChain, calldata, word, compiledContracts } from '../test/harness.ts'
import { type StructLog, type StructLoggerResult, createStructLogger } from './index.ts'

const HEX_QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/
const HEX_WORD = /^0x[0-9a-f]{64}$/

const contract = compiledContracts()

function slot(value: bigint): string {
  return `0x${value.toString(16).padStart(64, '0')}`
}

describe('struct logger', () => {
  it('reports a plain transfer as 21000 gas and no steps', async () => {
    const chain = await TestChain.create()
    const recipient = TestChain.address('0x00000000000000000000000000000000000000aa')
    const { result } = await chain.trace(
      chain.tx({ to: recipient, value: 1000n, gasLimit: 21_000n }),
      createStructLogger(),
    )
    expect(result).toStrictEqual({ gas: 21000, failed: false, returnValue: '0x', structLogs: [] })
  })

  it('shows the written slot on SSTORE and the read slot on SLOAD, geth-formatted', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    const set = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n) }),
      createStructLogger(),
    )
    const setResult = set.result as StructLoggerResult
    expect(setResult.gas).toBe(Number(set.run.totalGasSpent))
    expect(setResult.failed).toBe(false)
    expect(setResult.returnValue).toBe('0x')

    const sstore = setResult.structLogs.find((log) => log.op === 'SSTORE') as StructLog
    // Cold zero-to-nonzero write under Berlin+ pricing: 20000 + 2100 cold access.
    expect(sstore).toStrictEqual({
      pc: expect.any(Number),
      op: 'SSTORE',
      gas: expect.any(Number),
      gasCost: 22100,
      depth: 1,
      stack: expect.arrayContaining(['0x5', '0x0']),
      storage: { [slot(0n)]: slot(5n) },
    })
    expect(sstore.stack?.slice(-2)).toEqual(['0x5', '0x0'])
    for (const item of sstore.stack ?? []) expect(item).toMatch(HEX_QUANTITY)
    expect(setResult.structLogs.filter((log) => log.storage !== undefined).map((log) => log.op)).toEqual(['SSTORE'])

    const bump = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'bump()') }),
      createStructLogger(),
    )
    const logs = (bump.result as StructLoggerResult).structLogs
    const sload = logs.find((log) => log.op === 'SLOAD') as StructLog
    expect(sload.gasCost).toBe(2100)
    expect(sload.storage).toStrictEqual({ [slot(0n)]: slot(5n) })
    const secondWrite = logs.find((log) => log.op === 'SSTORE') as StructLog
    // Warm nonzero-to-nonzero write: 2900.
    expect(secondWrite.gasCost).toBe(2900)
    expect(secondWrite.storage).toStrictEqual({ [slot(0n)]: slot(6n) })
  })

  it('numbers steps like geth: pc, depth from 1, and gas falling by gasCost within a frame', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const { result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'tryCheck(uint256)', 1n) }),
      createStructLogger({ enableReturnData: true }),
    )
    const logs = (result as StructLoggerResult).structLogs
    expect(logs[0]).toStrictEqual({ pc: 0, op: 'PUSH1', gas: expect.any(Number), gasCost: 3, depth: 1, stack: [] })
    expect(new Set(logs.map((log) => log.depth))).toEqual(new Set([1, 2]))
    for (let i = 0; i + 1 < logs.length; i++) {
      const step = logs[i] as StructLog
      const next = logs[i + 1] as StructLog
      if (next.depth === step.depth) expect(next.gas).toBe(step.gas - step.gasCost)
    }
    // geth counts the gas handed to the callee in the CALL's gasCost: 2600 cold access + forwarded gas.
    const callIndex = logs.findIndex((log) => log.op === 'STATICCALL')
    const call = logs[callIndex] as StructLog
    const calleeFirst = logs[callIndex + 1] as StructLog
    expect(calleeFirst.depth).toBe(2)
    expect(call.gasCost).toBe(2600 + calleeFirst.gas)
    // After the callee reverts, RETURNDATA holds its Error(string) payload.
    const afterCall = logs.slice(callIndex + 1).find((log) => log.depth === 1) as StructLog
    expect(afterCall.returnData).toMatch(/^0x08c379a0/)
    expect(logs.find((log) => log.op === 'REVERT')?.depth).toBe(2)
  })

  it('shows the refund counter once clearing a slot earns a refund', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    await chain.run(chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n) }))
    const { result } = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 0n) }),
      createStructLogger(),
    )
    const logs = (result as StructLoggerResult).structLogs
    const clearIndex = logs.findIndex((log) => log.op === 'SSTORE')
    expect(logs.slice(0, clearIndex).every((log) => log.refund === undefined)).toBe(true)
    // EIP-3529: clearing a slot refunds 4800. Both geth and ethereumjs add it while pricing the SSTORE,
    // before the step is reported, so the SSTORE step itself already shows it.
    expect(logs.slice(clearIndex).every((log) => log.refund === 4800)).toBe(true)
    expect(logs[clearIndex]?.gasCost).toBe(5000)
    expect(Object.keys(logs.at(-1) as StructLog)).toEqual(['pc', 'op', 'gas', 'gasCost', 'depth', 'stack', 'refund'])
  })

  it('captures memory as 0x-prefixed 32-byte words only when enabled, and stack/storage can be disabled', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    const { result } = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n) }),
      createStructLogger({ enableMemory: true, disableStack: true, disableStorage: true }),
    )
    const logs = (result as StructLoggerResult).structLogs
    expect(logs[0]?.memory).toBeUndefined()
    const log2 = logs.find((log) => log.op === 'LOG2') as StructLog
    expect(log2.memory?.length).toBeGreaterThanOrEqual(3)
    for (const memoryWord of log2.memory ?? []) expect(memoryWord).toMatch(HEX_WORD)
    // Solidity's free memory pointer lives in word 2.
    expect(log2.memory?.[2]).toBe(slot(0x80n))
    for (const log of logs) {
      expect(log.stack).toBeUndefined()
      expect(log.storage).toBeUndefined()
    }
  })

  it('reports a top-level Error(string) revert with the revert data as returnValue', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(contract('Caller'), word(callee))
    const { run, result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'fail()') }),
      createStructLogger(),
    )
    const traced = result as StructLoggerResult
    expect(traced.failed).toBe(true)
    expect(traced.gas).toBe(Number(run.totalGasSpent))
    expect(traced.returnValue).toBe(`0x${Buffer.from(run.execResult.returnValue).toString('hex')}`)
    expect(traced.returnValue).toMatch(/^0x08c379a0/)
    const last = traced.structLogs.at(-1) as StructLog
    expect(last.op).toBe('REVERT')
    expect(last.error).toBeUndefined()
  })

  it('marks the step that runs out of gas and returns no value', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    // Enough for intrinsic gas and the dispatcher, not for the 22100-gas SSTORE.
    const { result } = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n), gasLimit: 30_000n }),
      createStructLogger(),
    )
    const traced = result as StructLoggerResult
    expect(traced.failed).toBe(true)
    expect(traced.gas).toBe(30_000)
    expect(traced.returnValue).toBe('0x')
    const last = traced.structLogs.at(-1) as StructLog
    expect(Object.keys(last)).toEqual(['pc', 'op', 'gas', 'gasCost', 'depth', 'error', 'stack', 'storage'])
    expect(last).toMatchObject({ op: 'SSTORE', gasCost: 22100, error: 'out of gas' })
    expect(last.gas).toBeLessThan(22100)
  })

  it('stops recording once the output passes `limit` bytes', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    const tx = () => chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n) })
    const full = (await chain.trace(tx(), createStructLogger())).result as StructLoggerResult
    const limited = (await chain.trace(tx(), createStructLogger({ limit: 500 }))).result as StructLoggerResult
    expect(limited.structLogs.length).toBeLessThan(full.structLogs.length)
    const sizes = limited.structLogs.map((log) => JSON.stringify(log).length)
    const total = sizes.reduce((a, b) => a + b, 0)
    // geth checks the size before each step, so the last kept step is the one that crossed the limit.
    expect(total - (sizes.at(-1) ?? 0)).toBeLessThanOrEqual(500)
    expect(total).toBeGreaterThan(500)
  })
})

describe('struct logger opcode names', () => {
  it('uses geth names: DIFFICULTY for 0x44 and "opcode 0x.. not defined" for unassigned bytes', async () => {
    const chain = await TestChain.create()
    const target = TestChain.address('0x00000000000000000000000000000000000000dd')
    // PREVRANDAO, POP, then the unassigned byte 0x0c.
    await chain.vm.stateManager.putCode(target, new Uint8Array([0x44, 0x50, 0x0c]))
    const { result } = await chain.trace(
      chain.tx({ to: target, gasLimit: 50_000n }),
      createStructLogger({ disableStack: true }),
    )
    expect(result).toStrictEqual({
      gas: 50_000,
      failed: true,
      returnValue: '0x',
      structLogs: [
        { pc: 0, op: 'DIFFICULTY', gas: 29_000, gasCost: 2, depth: 1 },
        { pc: 1, op: 'POP', gas: 28_998, gasCost: 2, depth: 1 },
        // geth logs the invalid opcode before failing on it, without an error on the step.
        { pc: 2, op: 'opcode 0xc not defined', gas: 28_996, gasCost: 0, depth: 1 },
      ],
    })
  })
})

describe('tracer lifecycle', () => {
  it('stops listening on detach and refuses to trace a second transaction', async () => {
    const chain = await TestChain.create()
    const store = await chain.deploy(contract('Store'))
    const tracer = createStructLogger()
    const { run } = await chain.trace(
      chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 5n) }),
      tracer,
    )
    const steps = (tracer.result(run) as StructLoggerResult).structLogs.length
    await chain.run(chain.tx({ to: store, data: calldata(contract('Store'), 'set(uint256)', 6n) }))
    expect((tracer.result(run) as StructLoggerResult).structLogs).toHaveLength(steps)
    expect(chain.vm.evm.events?.listenerCount('step')).toBe(0)
    expect(() => tracer.attach(chain.vm.evm)).toThrow(/create a new one per trace/)
  })
})
