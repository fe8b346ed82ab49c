import { createAccessList2930Tx, createFeeMarket1559Tx, createTxFromRLP } from '@ethereumjs/tx'
import { bytesToBigInt, bytesToHex, createAddressFromString, hexToBytes } from '@ethereumjs/util'
import { createVM } from '@ethereumjs/vm'
import { createRequire } from 'node:module'
import { isatty } from 'node:tty'
import { describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { jumpAnalysesRun } from './ethereumjs-fixes.ts'
import { nativeCustomCrypto, wasmKeccak256 } from './index.ts'

/** A contract that loops `times` times (JUMPI, JUMP) adding `step`, and returns the sum as a word. */
function loopCode(times: number, step: number): Uint8Array {
  // biome-ignore format: one instruction per line
  return Uint8Array.from([
    0x60, 0x00, // PUSH1 0: the sum
    0x60, times, // PUSH1 times: the counter
    0x5b, // 4: JUMPDEST (loop)
    0x80, 0x15, 0x60, 0x16, 0x57, // DUP1 ISZERO PUSH1 22 JUMPI: done when the counter is 0
    0x90, 0x60, step, 0x01, 0x90, // SWAP1 PUSH1 step ADD SWAP1: sum += step
    0x60, 0x01, 0x90, 0x03, // PUSH1 1 SWAP1 SUB: counter -= 1
    0x60, 0x04, 0x56, // PUSH1 4 JUMP
    0x5b, 0x50, // 22: JUMPDEST POP
    0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3, // MSTORE(0, sum) RETURN(0, 32)
  ])
}

// nativeCustomCrypto() installs the fixes.
const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)

describe('ethereumjs fixes', () => {
  it("settles the debug loggers' colours once, as debug would choose them, so making a logger asks the system nothing", () => {
    const fromEthereumjs = createRequire(createRequire(import.meta.url).resolve('@ethereumjs/mpt'))
    const debug = fromEthereumjs('debug') as ((namespace: string) => { useColors: boolean }) & {
      inspectOpts: Record<string, unknown>
    }
    expect(debug.inspectOpts.colors).toBe(isatty(process.stderr.fd))
    expect(debug('cairn:test').useColors).toBe(isatty(process.stderr.fd))
  })

  it('serializes a frozen transaction once, to the bytes ethereumjs encodes, and hashes those bytes', () => {
    const fields = { nonce: 3n, to: DEV_ACCOUNTS[1]!.address, value: 5n, gasLimit: 21_000n, maxFeePerGas: 7n }
    const frozen = createFeeMarket1559Tx(fields, { common }).sign(key)
    const unfrozen = createFeeMarket1559Tx(fields, { common, freeze: false }).sign(key)
    expect(Object.isFrozen(frozen)).toBe(true)
    expect(Object.isFrozen(unfrozen)).toBe(false)
    const first = frozen.serialize()
    expect(frozen.serialize()).toBe(first)
    expect(bytesToHex(first)).toBe(bytesToHex(unfrozen.serialize()))
    expect(unfrozen.serialize()).not.toBe(unfrozen.serialize())
    expect(bytesToHex(frozen.hash())).toBe(bytesToHex(wasmKeccak256(first)))
    // Decoding what it serialized gives the same transaction back.
    expect(bytesToHex(createTxFromRLP(first, { common }).hash())).toBe(bytesToHex(frozen.hash()))
    const accessList = createAccessList2930Tx({ ...fields, gasPrice: 7n }, { common }).sign(key)
    expect(accessList.serialize()).toBe(accessList.serialize())
    expect(accessList.serialize()[0]).toBe(1)
  })

  it('answers hardfork order as the list does, for the current hardfork and after it changes', () => {
    const copy = common.copy()
    const names = copy.hardforks().map((hardfork) => hardfork.name)
    const position = (name: string) => names.indexOf(name)
    for (const current of [names[3]!, names.at(-1)!, names[0]!]) {
      copy.setHardfork(current)
      for (const other of [...names, 'no-such-fork']) {
        const expected = position(other) !== -1 && position(current) >= position(other)
        expect(copy.gteHardfork(other), `${current} >= ${other}`).toBe(expected)
        expect(copy.hardforkGteHardfork(names[1]!, other)).toBe(position(other) !== -1 && 1 >= position(other))
      }
    }
  })

  it('analyses the jumps of a contract once per code, and gives each code its own analysis', async () => {
    const vm = await createVM({ common })
    const a = createAddressFromString(`0x${'aa'.repeat(20)}`)
    const b = createAddressFromString(`0x${'bb'.repeat(20)}`)
    // Same length, different PUSH values: an analysis keyed by anything but the code would mix them up.
    await vm.stateManager.putCode(a, loopCode(5, 3))
    await vm.stateManager.putCode(b, loopCode(5, 7))
    const call = async (to: typeof a) => {
      const { execResult } = await vm.evm.runCall({ to, gasLimit: 100_000n })
      expect(execResult.exceptionError).toBeUndefined()
      return bytesToBigInt(execResult.returnValue)
    }
    const before = jumpAnalysesRun
    expect(await call(a)).toBe(15n)
    expect(await call(b)).toBe(35n)
    expect(await call(a)).toBe(15n)
    expect(await call(b)).toBe(35n)
    expect(jumpAnalysesRun - before).toBe(2)
  })
})
