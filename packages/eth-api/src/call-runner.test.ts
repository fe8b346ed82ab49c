import {
  bytesToBigInt,
  bytesToHex,
  computeVersionedHash,
  eoaCode7702SignAuthorization,
  hexToBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEV_ACCOUNTS, type Hex, toQuantity } from '@cairn/primitives'
import { type JsonRpcErrorObject, RpcError } from '@cairn/rpc'
import type { StateDB } from '@cairn/state'
import { CallRunner, VM_POOL_SIZE } from './call-runner.ts'
import { type TestChain, l1Block, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

const account = (byte: number): Hex => bytesToHex(new Uint8Array(20).fill(byte))
const word = (value: bigint | Uint8Array): Hex =>
  typeof value === 'bigint' ? `0x${value.toString(16).padStart(64, '0')}` : bytesToHex(setLengthLeft(value, 32))
const push2 = (n: number) => `61${n.toString(16).padStart(4, '0')}`

/** What the context reader returns, one word each, in this order. */
const CONTEXT_FIELDS = [
  ['number', '43'], // NUMBER
  ['timestamp', '42'], // TIMESTAMP
  ['prevRandao', '44'], // PREVRANDAO
  ['coinbase', '41'], // COINBASE
  ['baseFee', '48'], // BASEFEE
  ['gasLimit', '45'], // GASLIMIT
  ['gasPrice', '3a'], // GASPRICE
  ['ownBlockHash', '4340'], // BLOCKHASH(NUMBER)
  ['parentBlockHash', '6001430340'], // BLOCKHASH(NUMBER - 1)
  ['blobBaseFee', '4a'], // BLOBBASEFEE
] as const
type Context = Record<(typeof CONTEXT_FIELDS)[number][0], Hex>

/** Returns the block context a call sees: each field MSTOREd in turn, then RETURN of all of them. */
const CONTEXT_READER = account(0xc0)
const CONTEXT_CODE: Hex = `0x${CONTEXT_FIELDS.map(([, op], i) => `${op}${push2(i * 32)}52`).join('')}${push2(
  CONTEXT_FIELDS.length * 32,
)}6000f3`

/** Reads slot 1, writes 7 to slot 2, then asks for the balances of its caller, itself, precompile 1 and OTHER. */
const STORAGE_USER = account(0x5e)
const OTHER = account(0x07)
const STORAGE_CODE: Hex = `0x${[
  '60015450', // SLOAD(1)
  '6007600255', // SSTORE(2, 7)
  '333150', // BALANCE(CALLER)
  '303150', // BALANCE(ADDRESS)
  '60013150', // BALANCE(0x01)
  `73${OTHER.slice(2)}3150`, // BALANCE(OTHER)
  '00',
].join('')}`

/** Init code returning 24577 zero bytes: one more than EIP-170 allows. */
const TOO_LARGE_INITCODE: Hex = '0x6160016000f3'

async function testChain() {
  const chain = await startTestChain({
    anchor: true,
    alloc: { [CONTEXT_READER]: { code: CONTEXT_CODE }, [STORAGE_USER]: { code: STORAGE_CODE } },
  })
  chains.push(chain)
  // Three blocks, each anchored to its own L1 block, so each has a mixHash of its own.
  for (let n = 1; n <= 3; n++) await chain.mine([], l1Block(n))
  return chain
}

/** eth_call of the context reader from a funded account (priced calls must be paid for). */
async function readContext(t: TestChain, ...params: unknown[]): Promise<Context> {
  const [request, ...rest] = params
  const from = DEV_ACCOUNTS[0]!.address
  const output = (await t.call('eth_call', { from, to: CONTEXT_READER, ...(request as object) }, ...rest)) as Hex
  const words = output.slice(2).match(/.{64}/g) ?? []
  return Object.fromEntries(CONTEXT_FIELDS.map(([name], i) => [name, `0x${words[i]}`])) as Context
}

async function rpcError(promise: Promise<unknown>): Promise<JsonRpcErrorObject> {
  try {
    await promise
  } catch (error) {
    if (error instanceof RpcError) return error.toJSON()
    throw error
  }
  throw new Error('expected an RPC error')
}

describe('the block a call runs in', () => {
  it('is the requested block itself, for a number, a hash and latest', async () => {
    const t = await testChain()
    const [one, two, three] = await Promise.all(
      [1n, 2n, 3n].map(async (n) => (await t.chain.getBlockByNumber(n))!.block),
    )
    const expected = (block: NonNullable<typeof two>, parent: NonNullable<typeof one>) => ({
      number: word(block.header.number),
      timestamp: word(block.header.timestamp),
      // mixHash, which carries the L1 anchor hash: not zero, and not the next block's
      prevRandao: word(block.header.mixHash),
      coinbase: word(block.header.coinbase.bytes),
      // an unpriced call sees a zero base fee, as in geth
      baseFee: word(0n),
      gasLimit: word(block.header.gasLimit),
      gasPrice: word(0n),
      ownBlockHash: word(0n),
      parentBlockHash: word(parent.hash()),
      blobBaseFee: word(1n),
    })
    expect(two!.header.mixHash).toEqual(l1Block(2).hash)
    expect(await readContext(t, {}, '0x2')).toEqual(expected(two!, one!))
    expect(await readContext(t, {}, { blockHash: bytesToHex(two!.hash()) })).toEqual(expected(two!, one!))
    expect(await readContext(t, {}, 'latest')).toEqual(expected(three!, two!))
    expect(await readContext(t, {})).toEqual(expected(three!, two!))
    expect((await readContext(t, {}, 'earliest')).number).toBe(word(0n))
  })

  it('is the next block for pending', async () => {
    const t = await testChain()
    const head = t.chain.head()
    const before = BigInt(Math.floor(Date.now() / 1000))
    const context = await readContext(t, { maxFeePerGas: toQuantity(10n ** 10n) }, 'pending')
    expect(context.number).toBe(word(head.header.number + 1n))
    expect(BigInt(context.timestamp)).toBeGreaterThan(head.header.timestamp)
    expect(BigInt(context.timestamp)).toBeGreaterThanOrEqual(before)
    expect(context.baseFee).toBe(word(head.header.calcNextBaseFee()))
    expect(context.prevRandao).toBe(word(0n))
    expect(context.ownBlockHash).toBe(word(0n))
    expect(context.parentBlockHash).toBe(word(head.hash()))
  })

  it('prices a call like geth: a lone maxFeePerGas pays the base fee and no tip', async () => {
    const t = await testChain()
    const block = (await t.chain.getBlockByNumber(2n))!.block
    const baseFee = block.header.baseFeePerGas!
    expect(baseFee).toBeGreaterThan(0n)
    const priced = await readContext(t, { maxFeePerGas: toQuantity(baseFee * 10n) }, '0x2')
    expect(priced.baseFee).toBe(word(baseFee))
    expect(priced.gasPrice).toBe(word(baseFee))
    const tipped = await readContext(t, { maxFeePerGas: toQuantity(baseFee * 10n), maxPriorityFeePerGas: '0x3' }, '0x2')
    expect(tipped.gasPrice).toBe(word(baseFee + 3n))
    const legacy = await readContext(t, { gasPrice: toQuantity(baseFee * 2n) }, '0x2')
    expect(legacy.gasPrice).toBe(word(baseFee * 2n))
  })

  it('runs a zero-priced call on a chain with a base fee, and refuses one priced below it', async () => {
    const t = await testChain()
    const baseFee = t.chain.head().header.baseFeePerGas!
    for (const fees of [
      { gasPrice: '0x0' },
      { maxFeePerGas: '0x0' },
      { maxFeePerGas: '0x0', maxPriorityFeePerGas: '0x0' },
    ]) {
      expect((await readContext(t, fees)).baseFee).toBe(word(0n))
      expect(await t.call('eth_estimateGas', { from: DEV_ACCOUNTS[0]!.address, to: CONTEXT_READER, ...fees })).toMatch(
        /^0x[0-9a-f]+$/,
      )
    }
    expect(await rpcError(readContext(t, { gasPrice: toQuantity(baseFee - 1n) }))).toEqual({
      code: -32000,
      message: `err: max fee per gas less than block base fee: address ${DEV_ACCOUNTS[0]!.address}, maxFeePerGas: ${baseFee - 1n}, baseFee: ${baseFee} (supplied gas 50000000)`,
    })
    expect(await rpcError(readContext(t, { maxPriorityFeePerGas: '0x1' }))).toEqual({
      code: -32000,
      message: `err: max priority fee per gas higher than max fee per gas: address ${DEV_ACCOUNTS[0]!.address}, maxPriorityFeePerGas: 1, maxFeePerGas: 0 (supplied gas 50000000)`,
    })
  })

  it('takes block overrides as the fourth argument of eth_call and eth_estimateGas', async () => {
    const t = await testChain()
    const overrides = {
      number: '0x64',
      time: '0x12345',
      gasLimit: '0x1c9c380',
      feeRecipient: account(0xfe),
      prevRandao: word(0xabn),
      baseFeePerGas: '0x7',
      blobBaseFee: '0x9',
    }
    const overridden = await readContext(t, { gasPrice: '0x7' }, 'latest', null, overrides)
    expect(overridden).toMatchObject({
      number: word(100n),
      timestamp: word(0x12345n),
      gasLimit: word(30_000_000n),
      coinbase: word(new Uint8Array(20).fill(0xfe)),
      prevRandao: word(0xabn),
      baseFee: word(7n),
      gasPrice: word(7n),
      blobBaseFee: word(9n),
      // BLOCKHASH(99): this chain has no block 99
      parentBlockHash: word(0n),
    })
    // geth's older names, and an unpriced call still sees a zero base fee
    const older = await readContext(
      t,
      {},
      'latest',
      {},
      { coinbase: account(0xfd), random: word(0xcdn), baseFee: '0x7' },
    )
    expect(older).toMatchObject({
      coinbase: word(new Uint8Array(20).fill(0xfd)),
      prevRandao: word(0xcdn),
      baseFee: word(0n),
    })
    // the search for gas stops at the overridden block gas limit
    expect(
      await rpcError(
        t.call('eth_estimateGas', { to: STORAGE_USER }, 'latest', null, { gasLimit: toQuantity(25_000n) }),
      ),
    ).toEqual({ code: -32000, message: 'gas required exceeds allowance (25000)' })
    expect(
      await rpcError(t.call('eth_call', { to: CONTEXT_READER }, 'latest', null, { beaconRoot: word(1n) })),
    ).toEqual({
      code: -32000,
      message: 'block override "beaconRoot" is not supported for this RPC method',
    })
    expect(await rpcError(t.call('eth_call', { to: CONTEXT_READER }, 'latest', null, {}, {}))).toEqual({
      code: -32602,
      message: 'too many arguments, want at most 4',
    })
  })

  it('is the same for debug_traceCall, which refuses pending like geth', async () => {
    const t = await testChain()
    const two = (await t.chain.getBlockByNumber(2n))!.block
    const traced = (await t.call('debug_traceCall', { to: CONTEXT_READER }, '0x2', { tracer: 'callTracer' })) as {
      output: Hex
    }
    expect(traced.output.slice(0, 66)).toBe(word(2n))
    expect(traced.output.slice(130, 194)).toBe(word(two.header.mixHash).slice(2))
    const overridden = (await t.call('debug_traceCall', { to: CONTEXT_READER }, '0x2', {
      tracer: 'callTracer',
      blockOverrides: { number: '0x9' },
    })) as { output: Hex }
    expect(overridden.output.slice(0, 66)).toBe(word(9n))
    expect(await rpcError(t.call('debug_traceCall', { to: CONTEXT_READER }, 'pending'))).toEqual({
      code: -32000,
      message: 'tracing on top of pending is not supported',
    })
  })
})

describe('call failures read like geth', () => {
  it("runs a call from a contract with the sender's code in place, as geth does", async () => {
    const t = await testChain()
    // Returns EXTCODEHASH(CALLER): geth skips the EIP-3607 check for calls and leaves the sender as it is.
    const hashReader = account(0x43)
    const overrides = { [hashReader]: { code: '0x333f60005260206000f3' } }
    const from = STORAGE_USER
    const { codeHash } = (await t.call('eth_getProof', from, [], 'latest')) as { codeHash: Hex }
    expect(codeHash).not.toBe(word(0n))
    expect(await t.call('eth_call', { from, to: hashReader }, 'latest', overrides)).toBe(codeHash)
    // A tracer reads the sender's state before the transaction: its code and code hash are there too.
    const pre = (await t.call('debug_traceCall', { from, to: hashReader }, 'latest', {
      tracer: 'prestateTracer',
      stateOverrides: overrides,
    })) as Record<string, { code?: Hex; codeHash?: Hex }>
    expect(pre[from]).toMatchObject({ code: STORAGE_CODE, codeHash })
    // eth_estimateGas takes the same path.
    expect(await t.call('eth_estimateGas', { from, to: CONTEXT_READER })).toMatch(/^0x[1-9a-f][0-9a-f]*$/)
  })

  it('a bare revert carries empty data', async () => {
    const t = await testChain()
    for (const method of ['eth_call', 'eth_estimateGas']) {
      expect(await rpcError(t.call(method, { data: '0x60006000fd' }))).toEqual({
        code: 3,
        message: 'execution reverted',
        data: '0x',
      })
    }
  })

  it('eth_estimateGas returns an execution error itself, and only a lack of gas as the allowance', async () => {
    const t = await testChain()
    const from = DEV_ACCOUNTS[0]!.address
    const cases: [Hex, string][] = [
      [TOO_LARGE_INITCODE, 'max code size exceeded'],
      ['0xfe', 'invalid opcode: INVALID'],
      ['0x0c', 'invalid opcode: opcode 0xc not defined'],
      ['0x600056', 'invalid jump destination'],
      // RETURNDATACOPY of one byte with no return data
      ['0x6001600060003e00', 'return data out of bounds'],
    ]
    for (const [data, message] of cases) {
      expect(await rpcError(t.call('eth_estimateGas', { from, data })), data).toEqual({ code: -32000, message })
      expect(await rpcError(t.call('eth_call', { from, data })), data).toEqual({ code: -32000, message })
    }
    // an endless loop runs out of gas at any limit
    expect(await rpcError(t.call('eth_estimateGas', { from, data: '0x5b600056', gas: toQuantity(100_000n) }))).toEqual({
      code: -32000,
      message: 'gas required exceeds allowance (100000)',
    })
  })
})

describe('a call straight to a precompile that refuses its input', () => {
  it('answers the precompile’s error as geth (-32000), never a revert, for BN254 and BLAKE2F', async () => {
    const t = await testChain()
    const precompile = (n: number) => account(0).replace(/00$/, n.toString(16).padStart(2, '0')) as Hex
    const words = (...values: bigint[]): Hex => `0x${values.map((v) => word(v).slice(2)).join('')}`
    // The BN254 base field's modulus: a coordinate must be below it.
    const P = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47n
    const blake2f = (finalFlag: number) => `0x${'00'.repeat(212)}${finalFlag.toString(16).padStart(2, '0')}`
    const cases: [to: number, data: string, message: string][] = [
      [0x06, words(1n, 3n, 1n, 2n), 'point is not on curve'],
      [0x06, words(1n, 2n, P, 2n), 'invalid fp.Element encoding'],
      [0x07, words(1n, 3n, 2n), 'point is not on curve'],
      [0x08, `0x${'00'.repeat(100)}`, 'bad elliptic curve pairing size'],
      [0x08, words(1n, 3n, 0n, 0n, 0n, 0n), 'point is not on curve'],
      [0x08, words(1n, 2n, 1n, 1n, 1n, 1n), 'point is not on curve'],
      [0x08, words(1n, 2n, P, 1n, 1n, 1n), 'invalid fp.Element encoding'],
      [0x09, `0x${'00'.repeat(212)}`, 'invalid input length'],
      [0x09, blake2f(2), 'invalid final flag'],
    ]
    for (const [to, data, message] of cases) {
      const request = { to: precompile(to), data }
      const label = `${to} ${data.slice(0, 20)}`
      expect(await rpcError(t.call('eth_call', request)), label).toEqual({ code: -32000, message })
      expect(await rpcError(t.call('eth_estimateGas', request)), label).toEqual({ code: -32000, message })
      expect(await t.call('eth_createAccessList', request), label).toMatchObject({ error: message })
    }
    // What they accept still answers.
    expect(await t.call('eth_call', { to: precompile(0x06), data: words(1n, 2n, 0n, 0n) })).toBe(words(1n, 2n))
    expect(await t.call('eth_call', { to: precompile(0x09), data: blake2f(1) })).toMatch(/^0x[0-9a-f]{128}$/)
  })

  it('answers geth’s words for KZG point evaluation and the BLS12-381 precompiles, in calls and call traces', async () => {
    const t = await testChain()
    const precompile = (n: number) => account(0).replace(/00$/, n.toString(16).padStart(2, '0')) as Hex
    // BLS12-381: the base field's modulus, and the order of its groups (KZG's scalar field).
    const P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn
    const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n
    const fp = (value: bigint) => value.toString(16).padStart(128, '0')
    const scalar = (value: bigint) => value.toString(16).padStart(64, '0')
    const INFINITY_G1 = fp(0n) + fp(0n)
    // (0, 2) is on y² = x³ + 4 but outside the prime-order subgroup; (1, 1) is off the curve.
    const OUTSIDE_SUBGROUP = fp(0n) + fp(2n)
    const OFF_CURVE = fp(1n) + fp(1n)
    // A point evaluation at the commitment to the zero polynomial (the point at infinity, as is its proof).
    const INFINITY = `c0${'00'.repeat(47)}`
    const evaluation = ({ commitment = INFINITY, y = 0n, hash = '' }) => {
      const versionedHash = hash || computeVersionedHash(`0x${commitment}`, 1).slice(2)
      return `0x${versionedHash}${scalar(5n)}${scalar(y)}${commitment}${INFINITY}`
    }
    const kzg = (reason: string) => `error verifying kzg proof: ${reason}`
    // What Cairn answered before, as ethereumjs words it, in the comments.
    const cases: [to: number, data: string, message: string][] = [
      [0x0a, evaluation({ hash: `01${'00'.repeat(31)}` }), 'mismatched versioned hash'], // kzg commitment does not match versioned hash
      [0x0a, evaluation({ y: 1n }), kzg("can't verify opening proof")], // kzg proof invalid
      [0x0a, evaluation({ y: R }), kzg('scalar is not canonical when interpreted as a big integer in big-endian')], // kzg inputs invalid
      [
        0x0a,
        evaluation({ commitment: `80${'00'.repeat(46)}01` }),
        kzg("invalid compressed coordinate: square root doesn't exist"),
      ],
      [0x0b, `0x01${fp(1n).slice(2)}${fp(2n)}${INFINITY_G1}`, 'invalid field element top bytes'], // point not on curve
      [0x0b, `0x${fp(P)}${fp(0n)}${INFINITY_G1}`, 'invalid fp.Element encoding'], // code 3, execution reverted
      [0x0b, `0x${OFF_CURVE}${INFINITY_G1}`, 'invalid point: not on curve'], // point not on curve
      [0x0c, '0x', 'invalid input length'], // input is empty
      [0x0c, `0x${OUTSIDE_SUBGROUP}${scalar(1n)}`, 'g1 point is not on correct subgroup'], // point not on curve
      [0x0d, `0x${fp(P)}${'00'.repeat(448)}`, 'invalid fp.Element encoding'], // fp point not in field
      [0x0f, '0x', 'invalid input length'], // input is empty
      [0x10, `0x${fp(P)}`, 'invalid fp.Element encoding'], // fp point not in field
      [0x11, `0x${fp(1n)}ff${fp(1n).slice(2)}`, 'invalid field element top bytes'], // point not on curve
    ]
    for (const [to, data, message] of cases) {
      const request = { to: precompile(to), data }
      const label = `${to} ${data.slice(0, 20)}`
      expect(await rpcError(t.call('eth_call', request)), label).toEqual({ code: -32000, message })
      expect(await rpcError(t.call('eth_estimateGas', request)), label).toEqual({ code: -32000, message })
      expect(await t.call('debug_traceCall', request, 'latest', { tracer: 'callTracer' }), label).toMatchObject({
        error: message,
      })
    }
    // What they accept still answers.
    expect(await t.call('eth_call', { to: precompile(0x0a), data: evaluation({}) })).toBe(
      `0x${scalar(4096n)}${scalar(R)}`,
    )
    expect(await t.call('eth_call', { to: precompile(0x0b), data: `0x${INFINITY_G1}${INFINITY_G1}` })).toBe(
      `0x${INFINITY_G1}`,
    )
  })
})

describe('call requests geth refuses', () => {
  it('names both fee styles, or a chain id not the node’s, for every call-class method', async () => {
    const t = await testChain()
    const chainId = t.common.chainId()
    // An account without funds: a priced estimate would otherwise stop at its balance first.
    const base = { from: account(0x99), to: CONTEXT_READER }
    const refusals: [object, string][] = [
      [{ gasPrice: '0x1', maxFeePerGas: '0x1' }, 'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified'],
      [
        { gasPrice: '0x1', maxPriorityFeePerGas: '0x0' },
        'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified',
      ],
      [{ chainId: '0x1' }, `chainId does not match node's (have=1, want=${chainId})`],
    ]
    for (const method of ['eth_call', 'eth_estimateGas', 'eth_createAccessList', 'debug_traceCall']) {
      for (const [fields, message] of refusals) {
        expect(
          await rpcError(t.call(method, { ...base, ...fields }, 'latest')),
          `${method} ${JSON.stringify(fields)}`,
        ).toEqual({
          code: -32000,
          message,
        })
      }
      // The node's own chain id is fine.
      await t.call(method, { ...base, chainId: toQuantity(chainId) }, 'latest')
    }
    // eth_simulateV1's calls too, as geth's sanitizeCall runs CallDefaults.
    const simulated = { blockStateCalls: [{ calls: [{ ...base, chainId: '0x1' }] }] }
    expect(await rpcError(t.call('eth_simulateV1', simulated, 'latest'))).toEqual({
      code: -32000,
      message: `chainId does not match node's (have=1, want=${chainId})`,
    })
  })
})

describe('eth_createAccessList', () => {
  it("lists the target's own slots and leaves out address-only touches of sender, target and precompiles", async () => {
    const t = await testChain()
    const from = DEV_ACCOUNTS[0]!.address
    const result = (await t.call('eth_createAccessList', { from, to: STORAGE_USER })) as {
      accessList: { address: Hex; storageKeys: Hex[] }[]
      gasUsed: Hex
    }
    // sorted by address like geth's
    expect(result.accessList).toEqual([
      { address: OTHER, storageKeys: [] },
      { address: STORAGE_USER, storageKeys: [word(1n), word(2n)] },
    ])
    // the list pays for itself: the call with it costs what createAccessList reports
    expect(BigInt(result.gasUsed)).toBeGreaterThan(21_000n)
  })

  it('leaves out the authorities of an EIP-7702 list', async () => {
    const t = await testChain()
    const authority = DEV_ACCOUNTS[1]!
    const [chainId, address, nonce, yParity, r, s] = eoaCode7702SignAuthorization(
      { chainId: toQuantity(t.common.chainId()), address: CONTEXT_READER, nonce: '0x0' },
      hexToBytes(authority.privateKey),
    )
    const quantity = (bytes: Uint8Array) => toQuantity(bytesToBigInt(bytes))
    const signed = {
      chainId: quantity(chainId),
      address: bytesToHex(address),
      nonce: quantity(nonce),
      yParity: quantity(yParity),
      r: quantity(r),
      s: quantity(s),
    }
    // BALANCE of the authority, then of OTHER, from code the state override puts at the target
    const target = account(0x43)
    const code = `0x73${authority.address.slice(2)}315073${OTHER.slice(2)}315000`
    const result = (await t.call('eth_createAccessList', { to: target, authorizationList: [signed] }, 'latest', {
      [target]: { code },
    })) as { accessList: unknown[] }
    expect(result.accessList).toEqual([{ address: OTHER, storageKeys: [] }])
  })

  it('takes state overrides as its third argument', async () => {
    const t = await testChain()
    const target = account(0x42)
    // SLOAD 3 at an address that has no code until the override gives it some
    const overrides = { [target]: { code: '0x6003545000' } }
    const result = (await t.call('eth_createAccessList', { to: target }, 'latest', overrides)) as {
      accessList: unknown[]
    }
    expect(result.accessList).toEqual([{ address: target, storageKeys: [word(3n)] }])
    expect(
      ((await t.call('eth_createAccessList', { to: target }, 'latest')) as { accessList: unknown[] }).accessList,
    ).toEqual([])
  })
})

describe('the time a call may run (--rpc.evmtimeout)', () => {
  // JUMPDEST; PUSH1 0; JUMP: loops until its gas runs out (~2 s of 50M gas here).
  const LOOP = account(0x10)
  // CALLs itself with all its gas, at every depth, and never jumps: only message calls are checkpoints.
  const RECURSE = account(0x11)
  const alloc = {
    [LOOP]: { balance: '0x0', code: '0x5b600056' as Hex },
    // GAS-independent: PUSH1 0 ×4, ADDRESS, GAS, CALL, then the same again (two children per frame).
    [RECURSE]: {
      balance: '0x0',
      code: '0x6000600060006000600030 5af1600060006000600060003 05af100'.replace(/ /g, '') as Hex,
    },
  }

  it('aborts an endless loop with geth’s error, giving the event loop turns while it runs', async () => {
    const t = await startTestChain({ alloc, evmTimeoutMs: 300 })
    chains.push(t)
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const started = performance.now()
    const error = await t.call('eth_call', { to: LOOP }, 'latest').then(
      () => undefined,
      (e: RpcError) => e.toJSON(),
    )
    clearInterval(timer)
    expect(error).toEqual({ code: -32000, message: 'execution aborted (timeout = 300ms)' })
    expect(performance.now() - started).toBeLessThan(2_000)
    // A 10 ms timer fired through the call: the thread that builds blocks was not held.
    expect(ticks).toBeGreaterThan(5)
    // The cut-off VM left the pool; the next calls run on fresh ones.
    for (let i = 0; i < 6; i++) expect(await t.call('eth_call', { to: account(0x99) }, 'latest')).toBe('0x')
    const estimate = await t.call('eth_estimateGas', { to: LOOP }).then(
      () => undefined,
      (e: RpcError) => e.toJSON(),
    )
    expect(estimate).toEqual({ code: -32000, message: 'execution aborted (timeout = 300ms)' })
  })

  it('also checks at message calls, for a call tree without loops', async () => {
    const t = await startTestChain({ alloc, evmTimeoutMs: 1 })
    chains.push(t)
    const error = await t.call('eth_call', { to: RECURSE }, 'latest').then(
      () => undefined,
      (e: RpcError) => e.toJSON(),
    )
    expect(error).toEqual({ code: -32000, message: 'execution aborted (timeout = 1ms)' })
  })
})

describe('the pool of call VMs', () => {
  const toOther = { to: hexToBytes(OTHER) }
  const VM_UNAVAILABLE = {
    code: -32603,
    message: 'could not create an EVM to run the call (disk unavailable); the next call tries again',
  }

  /** `state`, whose view for a new VM cannot be opened while `failing()` says so: a VM that cannot be created. */
  function failingVms(state: StateDB, failing: () => boolean): StateDB {
    return Object.assign(Object.create(state) as StateDB, {
      stateAt(root: Uint8Array) {
        if (failing()) throw new Error('disk unavailable')
        return state.stateAt(root)
      },
    })
  }

  /** The promises' outcomes, or a failure naming how many still wait after `ms`. */
  async function settledWithin<T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> {
    let settled = 0
    const count = () => {
      settled++
    }
    for (const promise of promises) promise.then(count, count)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${promises.length - settled} calls still wait after ${ms} ms`)), ms)
    })
    try {
      return await Promise.race([Promise.allSettled(promises), late])
    } finally {
      clearTimeout(timer)
    }
  }

  it('keeps the slot of a VM that failed to be created: the call gets the error, later calls create it anew', async () => {
    const t = await testChain()
    let failures = 1
    const runner = new CallRunner(
      t.common,
      failingVms(t.state, () => failures-- > 0),
      t.chain,
      50_000_000n,
    )
    const env = { block: t.chain.head() }
    expect(await rpcError(runner.call(env, toOther))).toEqual(VM_UNAVAILABLE)
    expect(await runner.call(env, toOther)).toEqual(new Uint8Array())
    // As many calls as the pool's size run at once (one slot lost would hold the last back), one more waits.
    let running = 0
    let most = 0
    let open = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const calls = Array.from({ length: VM_POOL_SIZE + 1 }, () =>
      runner.withVm(env, async () => {
        most = Math.max(most, ++running)
        await gate
        running--
      }),
    )
    await vi.waitFor(() => expect(running).toBe(VM_POOL_SIZE), { timeout: 5_000 })
    open()
    expect((await settledWithin(calls, 5_000)).map((outcome) => outcome.status)).toEqual(
      Array(VM_POOL_SIZE + 1).fill('fulfilled'),
    )
    expect(most).toBe(VM_POOL_SIZE)
  })

  it('answers every call the error when no VM can be created, those that waited for a slot too', async () => {
    const t = await testChain()
    const runner = new CallRunner(
      t.common,
      failingVms(t.state, () => true),
      t.chain,
      50_000_000n,
    )
    const env = { block: t.chain.head() }
    const calls = Array.from({ length: 3 * VM_POOL_SIZE }, () => runner.call(env, toOther))
    const outcomes = await settledWithin(calls, 2_000)
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected')
      expect(((outcome as PromiseRejectedResult).reason as RpcError).toJSON()).toEqual(VM_UNAVAILABLE)
    }
    // a call after them too, at once
    expect(await rpcError(runner.call(env, toOther))).toEqual(VM_UNAVAILABLE)
  })

  it('replaces a VM cut off by the timeout for the call waiting for it, which gets the error if that fails', async () => {
    const t = await testChain()
    const LOOP = account(0x10)
    let created = 0
    const state = failingVms(t.state, () => ++created > VM_POOL_SIZE)
    const runner = new CallRunner(t.common, state, t.chain, 50_000_000n, 50)
    const env = { block: t.chain.head(), overrides: [{ address: hexToBytes(LOOP), code: hexToBytes('0x5b600056') }] }
    const loops = Array.from({ length: VM_POOL_SIZE }, () => runner.call(env, { to: hexToBytes(LOOP) }))
    const waiting = runner.call(env, toOther)
    const outcomes = await settledWithin([...loops, waiting], 5_000)
    expect(outcomes.slice(0, VM_POOL_SIZE).map((outcome) => (outcome as PromiseRejectedResult).reason.message)).toEqual(
      Array(VM_POOL_SIZE).fill('execution aborted (timeout = 50ms)'),
    )
    expect(((outcomes[VM_POOL_SIZE] as PromiseRejectedResult).reason as RpcError).toJSON()).toEqual(VM_UNAVAILABLE)
  })
})

describe("a transaction geth refuses before running it: core's text and figures, worded per method", () => {
  const GAS_CAP = 50_000_000n
  const FROM = DEV_ACCOUNTS[0]!.address
  /** geth prints addresses with Hex(): EIP-55 checksummed. */
  const BROKE = '0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB'
  const to = OTHER
  /** 1000 non-zero bytes: intrinsic 37,000, EIP-7623 floor 61,000. */
  const CALLDATA: Hex = `0x${'01'.repeat(1000)}`

  it('eth_call: err: <core error> (supplied gas N), in geth’s check order', async () => {
    const t = await testChain()
    const baseFee = t.chain.head().header.baseFeePerGas!
    const cases: [object, string][] = [
      [
        { from: BROKE, to, value: '0x1' },
        `err: insufficient funds for gas * price + value: address ${BROKE} have 0 want 1 (supplied gas ${GAS_CAP})`,
      ],
      [
        { from: BROKE, to, gas: '0x5208', maxFeePerGas: toQuantity(baseFee) },
        `err: insufficient funds for gas * price + value: address ${BROKE} have 0 want ${21_000n * baseFee} (supplied gas 21000)`,
      ],
      // buyGas comes before the intrinsic gas check
      [
        { from: BROKE, to, value: '0x1', gas: '0x100' },
        `err: insufficient funds for gas * price + value: address ${BROKE} have 0 want 1 (supplied gas 256)`,
      ],
      [{ from: FROM, to, gas: '0x100' }, 'err: intrinsic gas too low: have 256, want 21000 (supplied gas 256)'],
      [
        { from: FROM, to, gas: toQuantity(40_000n), data: CALLDATA },
        'err: insufficient gas for floor data gas cost: have 40000, want 61000 (supplied gas 40000)',
      ],
      [
        { from: FROM, data: `0x${'00'.repeat(49_153)}` },
        `err: max initcode size exceeded: code size 49153 limit 49152 (supplied gas ${GAS_CAP})`,
      ],
      // the fee checks come before buyGas
      [
        { from: BROKE, to, value: '0x1', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' },
        `err: max priority fee per gas higher than max fee per gas: address ${BROKE}, maxPriorityFeePerGas: 2, maxFeePerGas: 1 (supplied gas ${GAS_CAP})`,
      ],
      [
        { from: BROKE, to, value: '0x1', maxFeePerGas: toQuantity(baseFee - 1n) },
        `err: max fee per gas less than block base fee: address ${BROKE}, maxFeePerGas: ${baseFee - 1n}, baseFee: ${baseFee} (supplied gas ${GAS_CAP})`,
      ],
      [
        { from: FROM, to, gasPrice: toQuantity(baseFee - 1n) },
        `err: max fee per gas less than block base fee: address ${FROM}, maxFeePerGas: ${baseFee - 1n}, baseFee: ${baseFee} (supplied gas ${GAS_CAP})`,
      ],
    ]
    for (const [request, message] of cases) {
      expect.soft(await rpcError(t.call('eth_call', request))).toEqual({ code: -32000, message })
    }
  })

  it('eth_createAccessList: failed to apply transaction: <hash> err: <core error>', async () => {
    const t = await testChain()
    const baseFee = t.chain.head().header.baseFeePerGas!
    const fees = { maxFeePerGas: toQuantity(baseFee), maxPriorityFeePerGas: '0x0' }
    const error = await rpcError(t.call('eth_createAccessList', { from: BROKE, to, value: '0x1', ...fees }))
    expect(error.code).toBe(-32000)
    const want = GAS_CAP * baseFee + 1n
    expect(error.message).toMatch(
      new RegExp(
        `^failed to apply transaction: 0x[0-9a-f]{64} err: insufficient funds for gas \\* price \\+ value: address ${BROKE} have 0 want ${want}$`,
      ),
    )
  })

  it('debug_traceCall: tracing failed: <core error>, whatever the tracer', async () => {
    const t = await testChain()
    const baseFee = t.chain.head().header.baseFeePerGas!
    const cases: [object, string][] = [
      [
        { from: BROKE, to, value: '0x1' },
        `tracing failed: insufficient funds for gas * price + value: address ${BROKE} have 0 want 1`,
      ],
      [{ from: FROM, to, gas: '0x100' }, 'tracing failed: intrinsic gas too low: have 256, want 21000'],
      [
        { from: FROM, to, gas: toQuantity(40_000n), data: CALLDATA },
        'tracing failed: insufficient gas for floor data gas cost: have 40000, want 61000',
      ],
      [
        { from: FROM, data: `0x${'00'.repeat(49_153)}` },
        'tracing failed: max initcode size exceeded: code size 49153 limit 49152',
      ],
      [
        { from: BROKE, to, value: '0x1', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' },
        `tracing failed: max priority fee per gas higher than max fee per gas: address ${BROKE}, maxPriorityFeePerGas: 2, maxFeePerGas: 1`,
      ],
      [
        { from: FROM, to, gasPrice: toQuantity(baseFee - 1n) },
        `tracing failed: max fee per gas less than block base fee: address ${FROM}, maxFeePerGas: ${baseFee - 1n}, baseFee: ${baseFee}`,
      ],
    ]
    for (const [request, message] of cases) {
      for (const options of [{}, { tracer: 'callTracer' }, { tracer: 'prestateTracer' }]) {
        expect
          .soft(await rpcError(t.call('debug_traceCall', request, 'latest', options)), JSON.stringify(options))
          .toEqual({ code: -32000, message })
      }
    }
  })

  it('eth_estimateGas: its own funds checks, then failed with N gas: <core error>', async () => {
    const t = await testChain()
    const head = t.chain.head().header
    const baseFee = head.baseFeePerGas!
    const hi = head.gasLimit < GAS_CAP ? head.gasLimit : GAS_CAP
    const cases: [object, string][] = [
      // a priced estimate caps the gas by the funds, and refuses a value they cannot cover
      [{ from: BROKE, to, maxFeePerGas: toQuantity(baseFee) }, 'insufficient funds for transfer'],
      [
        { from: BROKE, to, value: '0x1' },
        `failed with ${hi} gas: insufficient funds for gas * price + value: address ${BROKE} have 0 want 1`,
      ],
      [
        { from: FROM, to, gasPrice: toQuantity(baseFee - 1n) },
        `failed with ${hi} gas: max fee per gas less than block base fee: address ${FROM}, maxFeePerGas: ${baseFee - 1n}, baseFee: ${baseFee}`,
      ],
      // the estimator's funds check comes before any run
      [
        { from: BROKE, to, value: '0x1', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' },
        'insufficient funds for transfer',
      ],
      [
        { from: FROM, to, value: '0x1', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' },
        `failed with ${hi} gas: max priority fee per gas higher than max fee per gas: address ${FROM}, maxPriorityFeePerGas: 2, maxFeePerGas: 1`,
      ],
      // only the intrinsic gas is taken for a lack of gas, not EIP-7623's floor
      [
        { from: FROM, to, gas: toQuantity(40_000n), data: CALLDATA },
        'failed with 40000 gas: insufficient gas for floor data gas cost: have 40000, want 61000',
      ],
    ]
    for (const [request, message] of cases) {
      expect.soft(await rpcError(t.call('eth_estimateGas', request))).toEqual({ code: -32000, message })
    }
  })
})
