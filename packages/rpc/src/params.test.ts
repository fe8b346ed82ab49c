import { describe, expect, it } from 'vitest'
import { RpcError } from './errors.ts'
import {
  addressSchema,
  blockNumberOrTagSchema,
  blockOverridesSchema,
  blockSelectorSchema,
  callRequestSchema,
  dataSchema,
  hashSchema,
  hexOrDecimal64Schema,
  logCriteriaSchema,
  parseParam,
  parseParams,
  quantitySchema,
  stateOverridesSchema,
  uint64Schema,
} from './params.ts'

const ADDRESS = '0x00000000000000000000000000000000000000aa'
const HASH = `0x${'11'.repeat(32)}`

function failure(run: () => unknown): { rpcCode: number; message: string } {
  try {
    run()
  } catch (error) {
    if (error instanceof RpcError) return { rpcCode: error.rpcCode, message: error.message }
    throw error
  }
  throw new Error('expected a failure')
}

describe('quantities', () => {
  it('accepts canonical quantities', () => {
    expect(parseParam(quantitySchema, '0x0', 0)).toBe(0n)
    expect(parseParam(quantitySchema, '0x1F', 0)).toBe(31n)
    expect(parseParam(quantitySchema, `0x${'f'.repeat(64)}`, 0)).toBe(2n ** 256n - 1n)
  })

  it('rejects what geth rejects, naming the argument', () => {
    expect(failure(() => parseParam(quantitySchema, '0x01', 2))).toEqual({
      rpcCode: -32602,
      message: 'invalid argument 2: hex number with leading zero digits',
    })
    expect(failure(() => parseParam(quantitySchema, '12', 0)).message).toBe(
      'invalid argument 0: hex string without 0x prefix',
    )
    expect(failure(() => parseParam(quantitySchema, '0x', 0)).message).toBe('invalid argument 0: hex string "0x"')
    expect(failure(() => parseParam(quantitySchema, '0xzz', 0)).message).toBe('invalid argument 0: invalid hex string')
    expect(failure(() => parseParam(quantitySchema, `0x1${'0'.repeat(64)}`, 0)).message).toBe(
      'invalid argument 0: hex number > 256 bits',
    )
    expect(failure(() => parseParam(uint64Schema, `0x1${'0'.repeat(16)}`, 0)).message).toBe(
      'invalid argument 0: hex number > 64 bits',
    )
    expect(failure(() => parseParam(quantitySchema, 5, 0)).message).toContain('non-string')
  })
})

describe('hex or decimal integers (math.HexOrDecimal64)', () => {
  it('accepts a JSON number, a decimal string and hex with or without leading zeros', () => {
    expect(parseParam(hexOrDecimal64Schema, 4, 0)).toBe(4n)
    expect(parseParam(hexOrDecimal64Schema, '4', 0)).toBe(4n)
    expect(parseParam(hexOrDecimal64Schema, '004', 0)).toBe(4n)
    expect(parseParam(hexOrDecimal64Schema, '0x4', 0)).toBe(4n)
    expect(parseParam(hexOrDecimal64Schema, '0x04', 0)).toBe(4n)
    expect(parseParam(hexOrDecimal64Schema, '0X1f', 0)).toBe(31n)
    expect(parseParam(hexOrDecimal64Schema, '', 0)).toBe(0n)
    expect(parseParam(hexOrDecimal64Schema, '18446744073709551615', 0)).toBe(2n ** 64n - 1n)
    expect(parseParam(hexOrDecimal64Schema, `0x${'f'.repeat(16)}`, 0)).toBe(2n ** 64n - 1n)
  })

  it('rejects what geth rejects, quoting the input', () => {
    expect(failure(() => parseParam(hexOrDecimal64Schema, '0x', 0))).toEqual({
      rpcCode: -32602,
      message: 'invalid argument 0: invalid hex or decimal integer "0x"',
    })
    for (const bad of ['-4', '+4', '4.0', '0xg', ' 4', '1e3', '18446744073709551616', `0x1${'0'.repeat(16)}`]) {
      expect(failure(() => parseParam(hexOrDecimal64Schema, bad, 0)).message, bad).toBe(
        `invalid argument 0: invalid hex or decimal integer ${JSON.stringify(bad)}`,
      )
    }
    expect(failure(() => parseParam(hexOrDecimal64Schema, -1, 0)).message).toBe(
      'invalid argument 0: invalid hex or decimal integer "-1"',
    )
    expect(failure(() => parseParam(hexOrDecimal64Schema, 4.5, 0)).message).toBe(
      'invalid argument 0: invalid hex or decimal integer "4.5"',
    )
    expect(failure(() => parseParam(hexOrDecimal64Schema, true, 0)).message).toBe(
      'invalid argument 0: invalid hex or decimal integer "true"',
    )
  })
})

describe('bytes', () => {
  it('parses data of even length, empty included', () => {
    expect(parseParam(dataSchema, '0x', 0)).toEqual(new Uint8Array())
    expect(parseParam(dataSchema, '0xABcd', 0)).toEqual(new Uint8Array([0xab, 0xcd]))
    expect(failure(() => parseParam(dataSchema, '0xabc', 0)).message).toBe(
      'invalid argument 0: hex string of odd length',
    )
  })

  it('refuses a non-hex digit anywhere, and gives each result bytes of its own', () => {
    for (const bad of ['0xzz00', '0x00zz', '0x0g', '0x 0', `0x${'ab'.repeat(300)}x0`]) {
      expect(failure(() => parseParam(dataSchema, bad, 0)).message, bad).toBe('invalid argument 0: invalid hex string')
    }
    const long = parseParam(dataSchema, `0x${'5a'.repeat(300)}`, 0)
    expect(long).toEqual(new Uint8Array(300).fill(0x5a))
    expect(long.buffer.byteLength).toBe(300)
  })

  it('accepts addresses in any case but only 20 bytes', () => {
    expect(parseParam(addressSchema, ADDRESS.toUpperCase().replace('0X', '0x'), 0)).toHaveLength(20)
    expect(failure(() => parseParam(addressSchema, '0x1234', 0)).message).toBe(
      'invalid argument 0: hex string has length 4, want 40 for common.Address',
    )
  })

  it('accepts 32-byte hashes only', () => {
    expect(parseParam(hashSchema, HASH, 0)).toEqual(new Uint8Array(32).fill(0x11))
    expect(failure(() => parseParam(hashSchema, ADDRESS, 0)).message).toContain('want 64 for common.Hash')
  })
})

describe('block parameters', () => {
  it('parses tags and numbers', () => {
    for (const tag of ['latest', 'pending', 'safe', 'finalized', 'earliest']) {
      expect(parseParam(blockNumberOrTagSchema, tag, 0)).toBe(tag)
    }
    expect(parseParam(blockNumberOrTagSchema, '0x10', 0)).toBe(16n)
    expect(failure(() => parseParam(blockNumberOrTagSchema, 'newest', 0)).message).toBe(
      'invalid argument 0: hex string without 0x prefix',
    )
    expect(failure(() => parseParam(blockNumberOrTagSchema, '0x8000000000000000', 0)).message).toBe(
      'invalid argument 0: block number larger than int64',
    )
  })

  it('parses EIP-1898 selectors', () => {
    expect(parseParam(blockSelectorSchema, 'safe', 1)).toBe('safe')
    expect(parseParam(blockSelectorSchema, '0x5', 1)).toBe(5n)
    expect(parseParam(blockSelectorSchema, HASH, 1)).toEqual({
      blockHash: new Uint8Array(32).fill(0x11),
      requireCanonical: false,
    })
    expect(parseParam(blockSelectorSchema, { blockNumber: '0x7' }, 1)).toBe(7n)
    expect(parseParam(blockSelectorSchema, { blockHash: HASH, requireCanonical: true }, 1)).toEqual({
      blockHash: new Uint8Array(32).fill(0x11),
      requireCanonical: true,
    })
    expect(failure(() => parseParam(blockSelectorSchema, { blockHash: HASH, blockNumber: '0x1' }, 1)).message).toBe(
      'invalid argument 1: cannot specify both BlockHash and BlockNumber, choose one or the other',
    )
    // A JSON number where a tag, a hex number or a hash belongs: geth's words, not a schema's.
    for (const [value, name] of [
      [5, 'number'],
      [true, 'bool'],
      [['latest'], 'array'],
    ] as const)
      expect(failure(() => parseParam(blockSelectorSchema, value, 1)).message).toBe(
        `invalid argument 1: json: cannot unmarshal ${name} into Go value of type string`,
      )
  })
})

describe('call requests', () => {
  it('parses every field into bigints and bytes', () => {
    const request = parseParam(
      callRequestSchema,
      {
        from: ADDRESS,
        to: null,
        gas: '0x5208',
        maxFeePerGas: '0x3b9aca00',
        maxPriorityFeePerGas: '0x1',
        value: '0xde0b6b3a7640000',
        input: '0x6001',
        nonce: '0x3',
        accessList: [{ address: ADDRESS, storageKeys: [HASH] }],
        authorizationList: [{ chainId: '0x1', address: ADDRESS, nonce: '0x0', yParity: '0x1', r: '0x2', s: '0x3' }],
        type: '0x4',
        chainId: '0x2a',
        someUnknownField: 1,
      },
      0,
    )
    expect(request).toEqual({
      from: new Uint8Array(20).fill(0).map((_, i) => (i === 19 ? 0xaa : 0)),
      to: null,
      gas: 21000n,
      maxFeePerGas: 1_000_000_000n,
      maxPriorityFeePerGas: 1n,
      value: 10n ** 18n,
      data: new Uint8Array([0x60, 0x01]),
      nonce: 3n,
      accessList: [{ address: expect.any(Uint8Array), storageKeys: [new Uint8Array(32).fill(0x11)] }],
      authorizationList: [{ chainId: 1n, address: expect.any(Uint8Array), nonce: 0n, yParity: 1, r: 2n, s: 3n }],
      type: 4,
      chainId: 42n,
    })
  })

  it('takes input over data when both agree and refuses them when they differ', () => {
    expect(parseParam(callRequestSchema, { data: '0x01', input: '0x01' }, 0).data).toEqual(new Uint8Array([1]))
    expect(parseParam(callRequestSchema, { data: '0x02' }, 0).data).toEqual(new Uint8Array([2]))
    expect(failure(() => parseParam(callRequestSchema, { data: '0x01', input: '0x02' }, 0)).message).toBe(
      'invalid argument 0: both "data" and "input" are set and not equal. Please use "input" to pass transaction call data',
    )
  })

  it('names the bad field', () => {
    expect(failure(() => parseParam(callRequestSchema, { gas: '0x05208' }, 0)).message).toBe(
      'invalid argument 0: gas: hex number with leading zero digits',
    )
    expect(failure(() => parseParam(callRequestSchema, { to: '0x12' }, 0)).message).toBe(
      'invalid argument 0: to: hex string has length 2, want 40 for common.Address',
    )
  })
})

describe('state overrides', () => {
  it('parses balance, nonce, code and storage', () => {
    const overrides = parseParam(
      stateOverridesSchema,
      { [ADDRESS]: { balance: '0x1', nonce: '0x2', code: '0x60', stateDiff: { [HASH]: HASH } } },
      2,
    )
    expect(overrides).toEqual([
      {
        address: expect.any(Uint8Array),
        balance: 1n,
        nonce: 2n,
        code: new Uint8Array([0x60]),
        stateDiff: [[new Uint8Array(32).fill(0x11), new Uint8Array(32).fill(0x11)]],
      },
    ])
  })

  it('refuses bad addresses, state with stateDiff and a precompile move it cannot do', () => {
    expect(failure(() => parseParam(stateOverridesSchema, { '0x12': {} }, 2)).message).toContain('account 0x12')
    expect(
      failure(() => parseParam(stateOverridesSchema, { [ADDRESS]: { state: {}, stateDiff: {} } }, 2)).message,
    ).toContain("has both 'state' and 'stateDiff'")
    const move = { movePrecompileToAddress: `0x${'12'.repeat(20)}` }
    expect(failure(() => parseParam(stateOverridesSchema, { [ADDRESS]: move }, 2)).message).toContain(
      'movePrecompileToAddress is not supported',
    )
  })
})

describe('block overrides', () => {
  it("parses geth's fields and its older names", () => {
    const COINBASE = '0x00000000000000000000000000000000000000bb'
    expect(
      parseParam(
        blockOverridesSchema,
        {
          number: '0x10',
          time: '0x20',
          gasLimit: '0x5208',
          feeRecipient: ADDRESS,
          prevRandao: HASH,
          baseFeePerGas: '0x7',
          blobBaseFee: '0x3',
          difficulty: '0x1',
          somethingElse: true,
        },
        3,
      ),
    ).toEqual({
      number: 16n,
      time: 32n,
      gasLimit: 21000n,
      feeRecipient: new Uint8Array(20).map((_, i) => (i === 19 ? 0xaa : 0)),
      prevRandao: new Uint8Array(32).fill(0x11),
      baseFeePerGas: 7n,
      blobBaseFee: 3n,
    })
    expect(parseParam(blockOverridesSchema, { coinbase: ADDRESS, random: HASH, baseFee: '0x9' }, 3)).toEqual({
      feeRecipient: expect.any(Uint8Array),
      prevRandao: new Uint8Array(32).fill(0x11),
      baseFeePerGas: 9n,
    })
    expect(parseParam(blockOverridesSchema, { feeRecipient: ADDRESS, coinbase: COINBASE }, 3).feeRecipient?.[19]).toBe(
      0xaa,
    )
  })

  it('names the bad field and keeps beaconRoot and withdrawals for the caller to refuse', () => {
    expect(failure(() => parseParam(blockOverridesSchema, { time: '0x01' }, 3)).message).toBe(
      'invalid argument 3: time: hex number with leading zero digits',
    )
    expect(failure(() => parseParam(blockOverridesSchema, 'latest', 3)).message).toBe(
      'invalid argument 3: cannot unmarshal non-object into BlockOverrides',
    )
    expect(parseParam(blockOverridesSchema, { beaconRoot: HASH, withdrawals: [] }, 3)).toEqual({
      beaconRoot: new Uint8Array(32).fill(0x11),
      withdrawals: [],
    })
  })
})

describe('log criteria', () => {
  it('normalizes address and topics', () => {
    const criteria = parseParam(
      logCriteriaSchema,
      { fromBlock: '0x1', toBlock: 'latest', address: ADDRESS, topics: [HASH, null, [HASH, HASH], [HASH, null]] },
      0,
    )
    expect(criteria.fromBlock).toBe(1n)
    expect(criteria.toBlock).toBe('latest')
    expect(criteria.addresses).toHaveLength(1)
    expect(criteria.topics.map((t) => (t === null ? null : t.length))).toEqual([1, null, 2, null])
  })

  it('refuses blockHash with a range and too many topics', () => {
    expect(failure(() => parseParam(logCriteriaSchema, { blockHash: HASH, fromBlock: '0x1' }, 0)).message).toBe(
      'invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other',
    )
    expect(failure(() => parseParam(logCriteriaSchema, { topics: [null, null, null, null, null] }, 0)).message).toBe(
      'invalid argument 0: exceed max topics',
    )
    const alternatives = (n: number) => Array.from({ length: n }, () => HASH)
    expect(parseParam(logCriteriaSchema, { topics: [alternatives(1000)] }, 0).topics[0]).toHaveLength(1000)
    expect(failure(() => parseParam(logCriteriaSchema, { topics: [null, alternatives(1001)] }, 0)).message).toBe(
      'invalid argument 0: exceed max subtopics (1000)',
    )
  })
})

describe('parseParams', () => {
  it('checks arity like geth', () => {
    expect(parseParams(['0x1'], [quantitySchema, blockNumberOrTagSchema], 1)).toEqual([1n, undefined])
    expect(failure(() => parseParams([], [quantitySchema], 1)).message).toBe('missing value for required argument 0')
    expect(failure(() => parseParams(['0x1', '0x2'], [quantitySchema])).message).toBe(
      'too many arguments, want at most 1',
    )
  })
})
