import { createAccessList2930Tx, createFeeMarket1559Tx, createTxFromRLP } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { nativeCustomCrypto, wasmKeccak256 } from './index.ts'

// nativeCustomCrypto() installs the fixes.
const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)

describe('ethereumjs fixes', () => {
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
})
