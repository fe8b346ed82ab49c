import type { TypedTransaction } from '@ethereumjs/tx'
import {
  bigIntToHex,
  bytesToHex,
  generateAddress,
  hexToBytes,
  setLengthLeft,
  toChecksumAddress,
} from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, type Hex, toQuantity } from '@cairn/primitives'
import { RpcError } from '@cairn/rpc'
import type { SimulatedBlockJson } from './simulate.ts'
import { type TestChain, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

async function testChain() {
  const chain = await startTestChain()
  chains.push(chain)
  return chain
}

const A = DEV_ACCOUNTS[0]!.address as Hex
const B = DEV_ACCOUNTS[1]!.address as Hex
const C = DEV_ACCOUNTS[2]!.address as Hex
const FRESH = `0x${'5e'.repeat(20)}` as Hex
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
/** Init code that logs one word (LOG1 with topic 0x01) and deploys nothing. */
const LOGGING_INIT = '0x60ff600052600160206000a100'
/** Init code that returns BALANCE(address) as its "deployed code": the call's returnData. */
const balanceProbe = (address: Hex) => `0x73${address.slice(2)}3160005260206000f3` as Hex
/** Init code that returns BLOCKHASH(number) (number < 256) as its "deployed code". */
const blockHashProbe = (number: bigint) => `0x60${number.toString(16).padStart(2, '0')}4060005260206000f3` as Hex
const word = (value: bigint) => bytesToHex(setLengthLeft(Buffer.from(value.toString(16).padStart(2, '0'), 'hex'), 32))

const simulate = (t: TestChain, payload: unknown, block: unknown = 'latest') =>
  t.call('eth_simulateV1', payload, block) as Promise<SimulatedBlockJson[]>

async function rpcError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
  if (!(error instanceof RpcError)) throw error
  return { code: error.rpcCode, message: error.message }
}

/** The call that stands for a signed transaction (its sender, fields and nonce). */
function callOf(tx: TypedTransaction, from: Hex) {
  const fee = tx as TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
  return {
    from,
    ...(tx.to === undefined ? {} : { to: tx.to.toString() }),
    value: bigIntToHex(tx.value),
    input: bytesToHex(tx.data),
    nonce: bigIntToHex(tx.nonce),
    gas: bigIntToHex(tx.gasLimit),
    maxFeePerGas: bigIntToHex(fee.maxFeePerGas),
    maxPriorityFeePerGas: bigIntToHex(fee.maxPriorityFeePerGas),
  }
}

describe('eth_simulateV1', () => {
  it('computes the block a real one would be: the same state root, receipts root, bloom and gas', async () => {
    const t = await testChain()
    const txs = [
      t.transaction({ nonce: 0, to: B, value: 10n ** 18n }),
      t.transaction({ nonce: 1, data: LOGGING_INIT }),
      t.transaction({ nonce: 0, to: FRESH, value: 7n, from: 1 }),
    ]
    const mined = (await t.mine(txs)).block.header
    const [simulated] = await simulate(
      t,
      {
        blockStateCalls: [
          {
            blockOverrides: {
              time: toQuantity(mined.timestamp),
              feeRecipient: mined.coinbase.toString(),
              gasLimit: toQuantity(mined.gasLimit),
              baseFeePerGas: toQuantity(mined.baseFeePerGas!),
              prevRandao: bytesToHex(mined.mixHash),
            },
            calls: [callOf(txs[0]!, A), callOf(txs[1]!, A), callOf(txs[2]!, B)],
          },
        ],
        validation: true,
      },
      '0x0',
    )
    expect(simulated).toMatchObject({
      number: '0x1',
      stateRoot: bytesToHex(mined.stateRoot),
      receiptsRoot: bytesToHex(mined.receiptTrie),
      logsBloom: bytesToHex(mined.logsBloom),
      gasUsed: toQuantity(mined.gasUsed),
      parentHash: bytesToHex(mined.parentHash),
    })
    expect(simulated!.calls.map((call) => call.status)).toEqual(['0x1', '0x1', '0x1'])
    const [log] = simulated!.calls[1]!.logs
    expect(log).toMatchObject({ topics: [word(1n)], data: word(0xffn), logIndex: '0x0', transactionIndex: '0x1' })
    expect(log!.blockHash).toBe(simulated!.hash)
    expect(log!.transactionHash).toBe(simulated!.transactions[1])
    // nothing was stored: the chain is where it was
    expect(await t.call('eth_blockNumber')).toBe('0x1')
    expect(await t.call('eth_getBalance', FRESH, 'latest')).toBe('0x7')
  })

  it('carries state from call to call and block to block, fills gaps and applies overrides per block', async () => {
    const t = await testChain()
    const head = t.chain.head().header
    const blocks = await simulate(t, {
      blockStateCalls: [
        {
          calls: [
            { from: A, to: FRESH, value: '0x5' },
            { from: A, input: balanceProbe(FRESH) },
          ],
        },
        {
          blockOverrides: { number: toQuantity(head.number + 4n) },
          stateOverrides: { [C]: { balance: '0x64' } },
          calls: [
            { from: A, input: balanceProbe(FRESH) },
            { from: A, input: balanceProbe(C) },
            { from: A, input: blockHashProbe(head.number + 3n) },
            { from: A, input: blockHashProbe(head.number) },
          ],
        },
      ],
      returnFullTransactions: true,
    })
    expect(blocks.map((b) => b.number)).toEqual(['0x1', '0x2', '0x3', '0x4'])
    expect(blocks.map((b) => BigInt(b.timestamp) - head.timestamp)).toEqual([12n, 24n, 36n, 48n])
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]!.parentHash).toBe(blocks[i - 1]!.hash)
    expect(blocks[1]!.calls).toEqual([])
    expect(blocks[0]!.calls[1]!.returnData).toBe(word(5n))
    // BLOCKHASH sees the simulated blocks before it, and the chain below them
    expect(blocks[3]!.calls.map((call) => call.returnData)).toEqual([
      word(5n),
      word(100n),
      blocks[2]!.hash,
      bytesToHex(t.chain.head().hash()),
    ])
    // full transactions: EIP-1559, from the caller, nonces counted on, unsigned
    const [first, second] = blocks[0]!.transactions as { from: Hex; nonce: Hex; type: Hex; hash: Hex; r: Hex }[]
    expect([first!.from, first!.nonce, second!.nonce, first!.type, first!.r]).toEqual([
      A.toLowerCase(),
      '0x0',
      '0x1',
      '0x2',
      '0x0',
    ])
    expect(first!.hash).not.toBe(second!.hash)
  })

  it('reports a revert and a VM failure in the call results, and runs on', async () => {
    const t = await testChain()
    const [block] = await simulate(t, {
      blockStateCalls: [
        {
          calls: [
            { from: A, input: '0x60006000fd' },
            { from: A, input: '0xfe', gas: '0x100000' },
            { from: A, to: B, value: '0x1' },
          ],
        },
      ],
    })
    const [reverted, invalid, fine] = block!.calls
    expect(reverted).toMatchObject({
      status: '0x0',
      logs: [],
      error: { code: 3, message: 'execution reverted', data: '0x' },
    })
    expect(invalid).toMatchObject({ status: '0x0', error: { code: -32015, message: 'invalid opcode: INVALID' } })
    expect(fine).toMatchObject({ status: '0x1', returnData: '0x' })
  })

  it('adds native Transfer logs with traceTransfers, in execution order, none for a failed call', async () => {
    const t = await testChain()
    const [block] = await simulate(t, {
      blockStateCalls: [
        {
          calls: [
            { from: A, to: B, value: '0x9' },
            // a creation with value: the transfer comes first, then the init code's own log
            { from: A, input: LOGGING_INIT, value: '0x3' },
            // reverted: its value goes back, so no transfer
            { from: A, input: '0x60006000fd', value: '0x2', gas: '0x100000' },
          ],
        },
      ],
      traceTransfers: true,
    })
    const [plain, creation, reverted] = block!.calls
    expect(reverted).toMatchObject({ status: '0x0', logs: [] })
    expect(plain!.logs).toHaveLength(1)
    expect(plain!.logs[0]).toMatchObject({
      address: '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
      topics: [
        TRANSFER_TOPIC,
        bytesToHex(setLengthLeft(Buffer.from(A.slice(2), 'hex'), 32)).toLowerCase(),
        bytesToHex(setLengthLeft(Buffer.from(B.slice(2), 'hex'), 32)).toLowerCase(),
      ],
      data: word(9n),
      logIndex: '0x0',
    })
    expect(creation!.logs.map((log) => log.address)).toEqual([
      '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
      expect.any(String),
    ])
    expect(creation!.logs.map((log) => log.logIndex)).toEqual(['0x1', '0x2'])
    expect(creation!.logs[0]!.data).toBe(word(3n))
  })

  it('leaves nothing behind: simulations again, eth_call and the next real block see the stored state', async () => {
    const t = await testChain()
    // Its code adds 1 to the slot named by the calldata word; the init code sets slot 0 to 1.
    const runtime = '600035546001016000355500'
    const init =
      `0x600160005560${(runtime.length / 2).toString(16).padStart(2, '0')}8060106000396000f3${runtime}` as Hex
    const counter = bytesToHex(generateAddress(hexToBytes(A), new Uint8Array(0)))
    await t.mine([t.transaction({ nonce: 0, data: init })])
    const slot0 = () => t.call('eth_getStorageAt', counter, '0x0', 'latest')
    expect(await slot0()).toBe(word(1n))
    const bump = { from: A, to: counter, input: word(0n) }
    for (let round = 0; round < 3; round++) {
      const blocks = await simulate(t, { blockStateCalls: [{ calls: [bump, bump] }, { calls: [bump] }] })
      expect(blocks.flatMap((block) => block.calls.map((call) => call.status))).toEqual(['0x1', '0x1', '0x1'])
      expect(await slot0()).toBe(word(1n))
    }
    const mined = await t.mine([t.transaction({ nonce: 1, to: counter, data: word(0n) })])
    expect(mined.receipts[0]!.status).toBe(1)
    expect(await slot0()).toBe(word(2n))
  })

  it('refuses what geth refuses, with its codes', async () => {
    const t = await testChain()
    const head = t.chain.head().header
    const cases: [unknown, number, string][] = [
      [{ blockStateCalls: [] }, -32602, 'empty input'],
      [
        {
          blockStateCalls: [
            { blockOverrides: { number: toQuantity(head.number + 2n) } },
            { blockOverrides: { number: toQuantity(head.number + 2n) } },
          ],
        },
        -38020,
        `block numbers must be in order: ${head.number + 2n} <= ${head.number + 2n}`,
      ],
      [
        { blockStateCalls: [{ blockOverrides: { time: toQuantity(head.timestamp) } }] },
        -38021,
        `block timestamps must be in order: ${head.timestamp} <= ${head.timestamp}`,
      ],
      [
        { blockStateCalls: [{ blockOverrides: { number: toQuantity(head.number + 257n) } }] },
        -38026,
        'too many blocks',
      ],
      [
        {
          blockStateCalls: [
            {
              calls: [
                { from: A, to: B, gas: '0x5208' },
                { from: A, to: B, gas: toQuantity(head.gasLimit) },
              ],
            },
          ],
        },
        -38015,
        `block gas limit reached: 21000 >= ${head.gasLimit}`,
      ],
      [
        {
          blockStateCalls: [
            {
              calls: [
                { from: A, input: '0xfe' },
                { from: A, to: B },
              ],
            },
          ],
        },
        -38026,
        'gas limit reached: the calls before this one used all 50000000 gas a request may use (--rpc.gascap)',
      ],
    ]
    for (const [payload, code, message] of cases) {
      expect(await rpcError(simulate(t, payload))).toEqual({ code, message })
    }
  })
})

describe('eth_simulateV1 refuses a transaction geth refuses before running it: txValidationError’s code, applyMessageWithEVM’s text', () => {
  /** The request's error for one block of `calls`. */
  async function refusal(calls: unknown[], options: { validation?: boolean; stateOverrides?: unknown } = {}) {
    const t = await testChain()
    const head = t.chain.head().header
    // a call's gas: what is left of its block's, capped by the request's (the gas cap)
    const supplied = head.gasLimit < 50_000_000n ? head.gasLimit : 50_000_000n
    const { validation, stateOverrides } = options
    const error = await rpcError(simulate(t, { blockStateCalls: [{ calls, stateOverrides }], validation }))
    return { error, supplied, baseFee: head.calcNextBaseFee() }
  }

  it('a nonce below the state’s, with validation: -38010, address checksummed', async () => {
    const { error, supplied } = await refusal([{ from: A, to: B, nonce: '0x1' }], {
      validation: true,
      stateOverrides: { [A]: { nonce: '0x3' } },
    })
    expect(error).toEqual({
      code: -38010,
      message: `err: nonce too low: address ${A}, tx: 1 state: 3 (supplied gas ${supplied})`,
    })
  })

  it('a nonce above the state’s, with validation: -38011, address checksummed', async () => {
    const { error, supplied } = await refusal([{ from: A.toLowerCase(), to: B, nonce: '0x5' }], { validation: true })
    expect(error).toEqual({
      code: -38011,
      message: `err: nonce too high: address ${A}, tx: 5 state: 0 (supplied gas ${supplied})`,
    })
  })

  it('a fee cap below the base fee, with validation: -38012', async () => {
    const { error, supplied, baseFee } = await refusal([{ from: A, to: B }], { validation: true })
    expect(error).toEqual({
      code: -38012,
      message: `err: max fee per gas less than block base fee: address ${A}, maxFeePerGas: 0, baseFee: ${baseFee} (supplied gas ${supplied})`,
    })
  })

  it('gas below the intrinsic gas: -38013', async () => {
    const { error } = await refusal([{ from: A, to: B, gas: '0x5207' }])
    expect(error).toEqual({
      code: -38013,
      message: 'err: intrinsic gas too low: have 20999, want 21000 (supplied gas 20999)',
    })
  })

  it('funds short of gas × fee cap + value: -38014', async () => {
    const { error, supplied } = await refusal([{ from: FRESH, to: B, value: '0x1' }])
    expect(error).toEqual({
      code: -38014,
      message: `err: insufficient funds for gas * price + value: address ${toChecksumAddress(FRESH)} have 0 want 1 (supplied gas ${supplied})`,
    })
  })

  it('a tip above the fee cap: -32602', async () => {
    const { error, supplied } = await refusal([{ from: A, to: B, maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }])
    expect(error).toEqual({
      code: -32602,
      message: `err: max priority fee per gas higher than max fee per gas: address ${A}, maxPriorityFeePerGas: 2, maxFeePerGas: 1 (supplied gas ${supplied})`,
    })
  })

  it('an init code above EIP-3860’s limit: -38025', async () => {
    const { error, supplied } = await refusal([{ from: A, input: `0x${'00'.repeat(49_153)}` }])
    expect(error).toEqual({
      code: -38025,
      message: `err: max initcode size exceeded: code size 49153 limit 49152 (supplied gas ${supplied})`,
    })
  })

  it('gas below EIP-7623’s calldata floor, which has no code of its own: -32603', async () => {
    const { error } = await refusal([{ from: A, to: B, gas: toQuantity(40_000n), input: `0x${'01'.repeat(1000)}` }])
    expect(error).toEqual({
      code: -32603,
      message: 'err: insufficient gas for floor data gas cost: have 40000, want 61000 (supplied gas 40000)',
    })
  })

  it('checks the nonce in geth’s order: after the block’s gas, before the fees and the init code', async () => {
    const t = await testChain()
    const { gasLimit } = t.chain.head().header
    const refused = (call: object) => rpcError(simulate(t, { blockStateCalls: [{ calls: [call] }], validation: true }))
    const tooMuchGas = { from: A, to: B, nonce: '0x5', gas: toQuantity(gasLimit + 1n) }
    expect(await refused(tooMuchGas)).toEqual({ code: -38015, message: `block gas limit reached: 0 >= ${gasLimit}` })
    const tipAboveCap = { from: A, to: B, nonce: '0x5', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }
    const oversized = { from: A, nonce: '0x5', input: `0x${'00'.repeat(49_153)}` }
    for (const call of [tipAboveCap, oversized]) {
      expect(await refused(call)).toMatchObject({
        code: -38011,
        message: expect.stringMatching(/^err: nonce too high/),
      })
    }
  })
})
