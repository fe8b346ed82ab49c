import { createLegacyTx, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { RLP } from '@ethereumjs/rlp'
import { hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { splitTxList } from './forced-inclusions.ts'

const common = createChainCommon(devGenesis())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)

describe('splitTxList', () => {
  it('takes an RLP list of raw transactions, a legacy one as bytes or as its list', () => {
    const typed = createFeeMarket1559Tx(
      { nonce: 0, to: DEV_ACCOUNTS[1]!.address, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n },
      { common },
    ).sign(key)
    const legacy = createLegacyTx(
      { nonce: 1, to: DEV_ACCOUNTS[1]!.address, gasLimit: 21_000n, gasPrice: 10n ** 10n },
      { common },
    ).sign(key)
    const asBytes = splitTxList(RLP.encode([typed.serialize(), legacy.serialize()]))
    expect(asBytes).toEqual([typed.serialize(), legacy.serialize()])
    const asList = splitTxList(RLP.encode([typed.serialize(), legacy.raw()]))
    expect(asList).toEqual([typed.serialize(), legacy.serialize()])
  })

  it('gives no transactions for bytes that are not an RLP list', () => {
    expect(splitTxList(undefined)).toEqual([])
    expect(splitTxList(Uint8Array.of(0x02, 0xff, 0x01))).toEqual([])
    expect(splitTxList(RLP.encode(Uint8Array.of(1, 2, 3)))).toEqual([])
  })
})
