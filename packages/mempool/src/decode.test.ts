import { RLP } from '@ethereumjs/rlp'
import { bigIntToUnpaddedBytes, concatBytes, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { ACCOUNTS, GWEI, accessListTx, dynamicFeeTx, legacyTx, setCodeTx, testCommon } from '../test/fixtures.ts'
import { decodeTransaction } from './decode.ts'
import { MempoolError, type MempoolErrorCode } from './errors.ts'

const common = testCommon()
const rules = { chainId: 77077n, blockGasLimit: 60_000_000n, minTip: 0n, maxTxBytes: 128 * 1024 }
const alice = ACCOUNTS[0]!

function rejection(
  raw: Uint8Array,
  overrides: Partial<typeof rules> = {},
): { code: MempoolErrorCode; message: string } {
  try {
    decodeTransaction(raw, common, { ...rules, ...overrides })
  } catch (error) {
    if (error instanceof MempoolError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('expected the transaction to be rejected')
}

/** An EIP-1559 envelope built field by field, for encodings ethereumjs refuses to create. */
function rawDynamicFee(fields: { chainId?: bigint; tip: bigint; feeCap: bigint }): Uint8Array {
  const int = bigIntToUnpaddedBytes
  const body = RLP.encode([
    int(fields.chainId ?? 77077n),
    int(0n),
    int(fields.tip),
    int(fields.feeCap),
    int(21_000n),
    hexToBytes('0x000000000000000000000000000000000000beef'),
    int(1n),
    new Uint8Array(),
    [],
    int(1n),
    int(12345n),
    int(67890n),
  ])
  return concatBytes(new Uint8Array([2]), body)
}

describe('decodeTransaction', () => {
  it('accepts legacy (EIP-155), access-list, dynamic-fee and set-code transactions and recovers the sender', () => {
    for (const tx of [legacyTx(alice), accessListTx(alice), dynamicFeeTx(alice), setCodeTx(alice)]) {
      const decoded = decodeTransaction(tx.serialize(), common, rules)
      expect(decoded.tx.type).toBe(tx.type)
      expect(decoded.senderKey).toBe(alice.address.toString())
      expect(decoded.hash).toEqual(tx.hash())
      expect(decoded.tx.hash()).toEqual(tx.hash())
      // The pool hands its decoded bytes to the serialization cache: they must be what re-encoding gives.
      const reencoded = RLP.encode(decoded.tx.raw() as Uint8Array[])
      expect(tx.type === 0 ? reencoded : concatBytes(Uint8Array.of(tx.type), reencoded)).toEqual(tx.serialize())
      expect(decoded.tx.serialize()).toEqual(tx.serialize())
    }
  })

  it('hashes the same whether or not the Common carries its own keccak', () => {
    const t = dynamicFeeTx(alice)
    const plain = decodeTransaction(t.serialize(), testCommon(undefined, { keccak: false }), rules)
    const plugged = decodeTransaction(t.serialize(), common, rules)
    expect(plain.hash).toEqual(t.hash())
    expect(plugged.hash).toEqual(t.hash())
    expect(plugged.tx.hash()).toEqual(t.hash())
  })

  it('computes cost as gas limit × fee cap + value', () => {
    const decoded = decodeTransaction(dynamicFeeTx(alice, { feeCap: 7n * GWEI, value: 5n }).serialize(), common, rules)
    expect(decoded.cost).toBe(21_000n * 7n * GWEI + 5n)
    expect(decoded.tipCap).toBe(GWEI)
    expect(decoded.feeCap).toBe(7n * GWEI)
  })

  it('rejects an empty or one-byte input as a too-short typed transaction', () => {
    expect(rejection(new Uint8Array())).toEqual({ code: 'INVALID_ENCODING', message: 'typed transaction too short' })
    expect(rejection(new Uint8Array([2]))).toEqual({ code: 'INVALID_ENCODING', message: 'typed transaction too short' })
  })

  it('rejects bytes that are not RLP with an rlp: message', () => {
    const { code, message } = rejection(new Uint8Array([2, 0xf8, 0xff, 0x01]))
    expect(code).toBe('INVALID_ENCODING')
    expect(message).toMatch(/^rlp: .*types\.DynamicFeeTx/)
    expect(rejection(new Uint8Array([0x85, 1, 2, 3, 4, 5])).message).toBe('rlp: expected input list for types.LegacyTx')
  })

  it('rejects a list with too few fields', () => {
    const raw = concatBytes(new Uint8Array([2]), RLP.encode([new Uint8Array([1])]))
    expect(rejection(raw)).toEqual({
      code: 'INVALID_ENCODING',
      message: 'rlp: too few elements for types.DynamicFeeTx',
    })
  })

  it('rejects blob transactions, saying the L2 does not take them', () => {
    const { code, message } = rejection(new Uint8Array([3, 0xc0]))
    expect(code).toBe('TX_TYPE_NOT_SUPPORTED')
    expect(message).toMatch(/^transaction type not supported: blob transactions .* not accepted on this L2/)
  })

  it('rejects unknown transaction types', () => {
    expect(rejection(new Uint8Array([5, 0xc0]))).toEqual({
      code: 'TX_TYPE_NOT_SUPPORTED',
      message: 'transaction type not supported',
    })
  })

  it('rejects a transaction larger than maxTxBytes with oversized data', () => {
    const raw = dynamicFeeTx(alice, { data: new Uint8Array(2000).fill(1), gasLimit: 100_000n }).serialize()
    expect(rejection(raw, { maxTxBytes: 1000 })).toEqual({
      code: 'OVERSIZED_DATA',
      message: `oversized data: transaction size ${raw.length}, limit 1000`,
    })
  })

  it('rejects a legacy transaction without EIP-155 replay protection', () => {
    const unprotected = legacyTx(alice, {}, testCommon())
    // Re-sign without a chain id: v = 27/28.
    const fields = RLP.decode(unprotected.serialize()) as Uint8Array[]
    fields[6] = new Uint8Array([27])
    expect(rejection(RLP.encode(fields))).toEqual({
      code: 'UNPROTECTED_TX',
      message: 'only replay-protected (EIP-155) transactions allowed over RPC',
    })
  })

  it('rejects a typed transaction signed for another chain with geth’s chain id message', () => {
    const foreign = dynamicFeeTx(alice, {}, testCommon(1n))
    expect(rejection(foreign.serialize())).toEqual({
      code: 'INVALID_CHAIN_ID',
      message: 'invalid sender: invalid chain id for signer: have 1 want 77077',
    })
  })

  it('rejects a legacy transaction signed for another chain', () => {
    const foreign = legacyTx(alice, {}, testCommon(5n))
    expect(rejection(foreign.serialize()).message).toBe(
      'invalid sender: invalid chain id for signer: have 5 want 77077',
    )
  })

  it('rejects a chain id with leading zero bytes (non-canonical encoding)', () => {
    const fields = RLP.decode(dynamicFeeTx(alice).serialize().subarray(1)) as Uint8Array[]
    fields[0] = concatBytes(new Uint8Array([0]), fields[0] as Uint8Array)
    expect(rejection(concatBytes(new Uint8Array([2]), RLP.encode(fields))).code).toBe('INVALID_ENCODING')
  })

  it('rejects a bad signature as invalid sender', () => {
    const fields = RLP.decode(dynamicFeeTx(alice).serialize().subarray(1)) as Uint8Array[]
    // s above secp256k1n/2 is invalid since EIP-2.
    fields[11] = hexToBytes('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140')
    expect(rejection(concatBytes(new Uint8Array([2]), RLP.encode(fields)))).toEqual({
      code: 'INVALID_SENDER',
      message: 'invalid sender: invalid transaction v, r, s values',
    })
    fields[10] = new Uint8Array() // r = 0: no signature at all
    expect(rejection(concatBytes(new Uint8Array([2]), RLP.encode(fields))).code).toBe('INVALID_SENDER')
  })

  it('rejects a tip above the fee cap', () => {
    expect(rejection(rawDynamicFee({ tip: 2n * GWEI, feeCap: GWEI }))).toEqual({
      code: 'TIP_ABOVE_FEE_CAP',
      message: 'max priority fee per gas higher than max fee per gas',
    })
  })

  it('rejects a gas limit below the intrinsic gas', () => {
    expect(rejection(dynamicFeeTx(alice, { gasLimit: 20_999n }).serialize())).toEqual({
      code: 'INTRINSIC_GAS_TOO_LOW',
      message: 'intrinsic gas too low: gas 20999, minimum needed 21000',
    })
  })

  it('rejects calldata below the EIP-7623 floor', () => {
    // 100 non-zero bytes: intrinsic 21000 + 1600 = 22600, floor 21000 + 10 × 400 = 25000.
    const raw = dynamicFeeTx(alice, { gasLimit: 23_000n, data: new Uint8Array(100).fill(1) }).serialize()
    expect(rejection(raw)).toEqual({
      code: 'FLOOR_DATA_GAS_TOO_LOW',
      message: 'insufficient gas for floor data gas cost: gas 23000, minimum needed 25000',
    })
  })

  it('rejects a gas limit above the block gas limit', () => {
    expect(rejection(dynamicFeeTx(alice, { gasLimit: 30_000n }).serialize(), { blockGasLimit: 25_000n })).toEqual({
      code: 'GAS_LIMIT_EXCEEDED',
      message: 'exceeds block gas limit',
    })
  })

  it('rejects a tip below minTip as underpriced', () => {
    expect(rejection(dynamicFeeTx(alice, { tip: GWEI - 1n }).serialize(), { minTip: GWEI })).toEqual({
      code: 'UNDERPRICED',
      message: `transaction underpriced: gas tip cap ${GWEI - 1n}, minimum needed ${GWEI}`,
    })
  })

  it('rejects contract creation with init code over the EIP-3860 limit', () => {
    const raw = dynamicFeeTx(alice, {
      to: null,
      data: new Uint8Array(49_153).fill(1),
      gasLimit: 2_000_000n,
    }).serialize()
    expect(rejection(raw)).toEqual({
      code: 'MAX_INITCODE_SIZE_EXCEEDED',
      message: 'max initcode size exceeded: code size 49153, limit 49152',
    })
  })

  it('rejects a set-code transaction with an empty authorization list', () => {
    const fields = RLP.decode(setCodeTx(alice).serialize().subarray(1)) as (Uint8Array | Uint8Array[])[]
    fields[9] = []
    expect(rejection(concatBytes(new Uint8Array([4]), RLP.encode(fields)))).toEqual({
      code: 'EMPTY_AUTHORIZATION_LIST',
      message: 'set code tx must have at least one authorization tuple',
    })
  })
})
