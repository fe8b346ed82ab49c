import { RLP } from '@ethereumjs/rlp'
import { type FeeMarket1559Tx, create1559FeeMarketTxFromBytesArray, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { SECP256K1_ORDER, bigIntToUnpaddedBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { ACCOUNTS, GWEI, testCommon } from '../test/fixtures.ts'
import { buildPlainFeeMarketTx } from './fee-market-tx.ts'

const common = testCommon()
const options = { common, allowUnlimitedInitCodeSize: true }

type Fields = (Uint8Array | Uint8Array[])[]

/** The decoded fields of a signed EIP-1559 transaction, as the pool's decoder hands them over. */
function signedFields(params: Parameters<typeof createFeeMarket1559Tx>[0], key = ACCOUNTS[0]!.privateKey): Fields {
  const raw = createFeeMarket1559Tx({ chainId: common.chainId(), ...params }, { common })
    .sign(key)
    .serialize()
  return RLP.decode(raw.subarray(1)) as Fields
}

/** Everything about a transaction object a caller can see: class, frozenness, own properties in order, behaviour. */
function observable(tx: FeeMarket1559Tx) {
  return {
    prototype: Object.getPrototypeOf(tx),
    frozen: Object.isFrozen(tx),
    keys: Object.keys(tx),
    values: Object.entries(tx).filter(([key]) => key !== 'cache'),
    hash: tx.hash(),
    serialized: tx.serialize(),
    sender: tx.getSenderAddress().toString(),
    json: tx.toJSON(),
    intrinsicGas: tx.getIntrinsicGas(),
    upfront: tx.getUpfrontCost(7n),
    supports: [1559, 2718, 2930, 155].map((capability) => tx.supports(capability)),
  }
}

describe('buildPlainFeeMarketTx', () => {
  it('builds the same transaction object as ethereumjs for plain EIP-1559 transactions', () => {
    const cases: Parameters<typeof createFeeMarket1559Tx>[0][] = [
      { nonce: 0n, maxPriorityFeePerGas: 0n, maxFeePerGas: 0n, gasLimit: 21_000n, to: ACCOUNTS[1]!.address, value: 0n },
      {
        nonce: 1n,
        maxPriorityFeePerGas: GWEI,
        maxFeePerGas: 30n * GWEI,
        gasLimit: 21_000n,
        to: ACCOUNTS[1]!.address,
        value: 10n ** 18n,
      },
      {
        nonce: 2n ** 64n - 2n,
        maxPriorityFeePerGas: 2n ** 255n,
        maxFeePerGas: 2n ** 255n,
        gasLimit: 1n,
        value: 2n ** 256n - 1n,
        data: new Uint8Array(300).fill(7),
      },
      {
        nonce: 300n,
        maxPriorityFeePerGas: 1n,
        maxFeePerGas: 2n,
        gasLimit: 2n ** 64n - 1n,
        to: ACCOUNTS[2]!.address,
        data: Uint8Array.of(0xa9, 0x05, 0x9c, 0xbb),
      },
    ]
    // Several keys and nonces, so both y-parities and short r and s values turn up.
    for (const params of cases) {
      for (const account of ACCOUNTS.slice(0, 4)) {
        const fields = signedFields(params, account.privateKey)
        const fast = buildPlainFeeMarketTx(fields, options)
        expect(fast).toBeDefined()
        expect(observable(fast!)).toEqual(observable(create1559FeeMarketTxFromBytesArray(fields as never, options)))
      }
    }
  })

  it('leaves every other case to ethereumjs (which accepts or refuses it with its own error)', () => {
    const base = signedFields({
      nonce: 5n,
      maxPriorityFeePerGas: 1n,
      maxFeePerGas: GWEI,
      gasLimit: 21_000n,
      to: ACCOUNTS[1]!.address,
    })
    const withField = (index: number, value: Uint8Array | Uint8Array[]): Fields =>
      base.map((f, i) => (i === index ? value : f))
    const unusual: [string, Fields][] = [
      ['an access list', withField(8, [[ACCOUNTS[1]!.address.bytes, []]] as never)],
      ['a 19-byte to', withField(5, new Uint8Array(19))],
      ['a nonce with a leading zero', withField(1, Uint8Array.of(0, 5))],
      ['a 9-byte gas limit', withField(4, new Uint8Array(9).fill(1))],
      ['the maximum nonce', withField(1, bigIntToUnpaddedBytes(2n ** 64n - 1n))],
      ['y-parity 2', withField(9, Uint8Array.of(2))],
      ['a high s', withField(11, bigIntToUnpaddedBytes(SECP256K1_ORDER - 1n))],
      ['a tip above the fee cap', withField(2, bigIntToUnpaddedBytes(2n * GWEI))],
      ['gas × fee cap over 2^256', withField(3, new Uint8Array(32).fill(0xff))],
    ]
    for (const [what, fields] of unusual) expect(buildPlainFeeMarketTx(fields, options), what).toBeUndefined()
  })
})
