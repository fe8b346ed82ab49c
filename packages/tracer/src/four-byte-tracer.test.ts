import { Account, type Address, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { TestChain, calldata, compiledContracts } from '../test/harness.ts'
import { createFourByteTracer, createTracer } from './index.ts'

const contract = compiledContracts()

const addr = (suffix: string): Address => TestChain.address(`0x${suffix.padStart(40, '0')}`)

/**
 * Puts selector 0xdeadbeef at memory 0, then makes four calls:
 * STATICCALL sha256 (0x02) with 8 bytes (a precompile: not counted),
 * CALL 0x…aa with value 1 and 4 bytes (refused, the contract has no balance: geth still enters it),
 * DELEGATECALL 0x…bb with 36 bytes (an account without code: counted),
 * CALL 0x…aa with 3 bytes (no selector: not counted).
 */
const CALLER_CODE = [
  '63deadbeef60e01b600052', // PUSH4 deadbeef PUSH1 e0 SHL PUSH1 0 MSTORE
  '600060006008600060025afa50', // STATICCALL(gas, 0x02, 0, 8, 0, 0) POP
  '60006000600460006001' + '60aa5af150', // CALL(gas, 0xaa, 1, 0, 4, 0, 0) POP
  '600060006024600060bb5af450', // DELEGATECALL(gas, 0xbb, 0, 36, 0, 0) POP
  '60006000600360006000' + '60aa5af150', // CALL(gas, 0xaa, 0, 0, 3, 0, 0) POP
  '00', // STOP
].join('')

describe('4byte tracer', () => {
  it('counts the top call and the inner call by selector and argument size', async () => {
    const chain = await TestChain.create()
    const callee = await chain.deploy(contract('Callee'))
    const caller = await chain.deploy(
      contract('Caller'),
      hexToBytes(`0x${callee.toString().slice(2).padStart(64, '0')}`),
    )
    const tryCheck = contract('Caller').selectors['tryCheck(uint256)']
    const check = contract('Callee').selectors['check(uint256)']
    const { result } = await chain.trace(
      chain.tx({ to: caller, data: calldata(contract('Caller'), 'tryCheck(uint256)', 1n) }),
      createTracer({ tracer: '4byteTracer' }),
    )
    expect(result).toStrictEqual({ [`${check}-32`]: 1, [`${tryCheck}-32`]: 1 })
  })

  it('skips precompiles and short inputs, counts a call refused for balance, keys sorted', async () => {
    const chain = await TestChain.create()
    const caller = addr('ca11')
    await chain.vm.stateManager.putAccount(caller, new Account(1n, 0n))
    await chain.vm.stateManager.putCode(caller, hexToBytes(`0x${CALLER_CODE}`))
    const input = hexToBytes('0x12345678aabbccdd')
    const { result } = await chain.trace(chain.tx({ to: caller, data: input }), createFourByteTracer())
    expect(JSON.stringify(result)).toBe('{"0x12345678-4":1,"0xdeadbeef-0":1,"0xdeadbeef-32":1}')
  })

  it('counts nothing for a creation or a transaction straight to a precompile', async () => {
    const chain = await TestChain.create()
    const initCode = new Uint8Array([...contract('Child').bytecode, ...new Uint8Array(32)])
    const created = await chain.trace(chain.tx({ data: initCode, gasLimit: 500_000n }), createFourByteTracer())
    expect(created.result).toStrictEqual({})
    const precompile = await chain.trace(
      chain.tx({ to: addr('2'), data: hexToBytes('0x0102030405') }),
      createFourByteTracer(),
    )
    expect(precompile.result).toStrictEqual({})
  })

  it('does not count a call whose opcode fails before entering it (value in a static context)', async () => {
    const chain = await TestChain.create()
    const inner = addr('1111')
    const outer = addr('2222')
    // inner: MSTORE a selector, CALL 0x…aa with value 1 and 4 bytes; static, so the CALL itself fails.
    const innerCode = '63cafebabe60e01b600052' + '60006000600460006001' + '60aa5af100'
    // outer: STATICCALL(gas, 0x…1111, 0, 0, 0, 0) STOP, no input.
    const outerCode = '60006000600060006111115afa00'
    for (const [address, code] of [
      [inner, innerCode],
      [outer, outerCode],
    ] as const) {
      await chain.vm.stateManager.putAccount(address, new Account(1n, 10n))
      await chain.vm.stateManager.putCode(address, hexToBytes(`0x${code}`))
    }
    const { result } = await chain.trace(chain.tx({ to: outer }), createFourByteTracer())
    expect(result).toStrictEqual({})
  })
})
