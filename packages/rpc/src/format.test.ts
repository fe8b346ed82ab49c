import { describe, expect, it } from 'vitest'
import { createBlock, createBlockFromRPC } from '@ethereumjs/block'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createTx, createTxFromRPC, type TypedTransaction } from '@ethereumjs/tx'
import { createAddressFromString, hexToBytes } from '@ethereumjs/util'
import { formatTransaction as viemFormatTransaction } from 'viem'
import { bytesToHex, type ReceiptRecord } from '@cairn/primitives'
import { formatBlock, formatLog, formatReceipt, formatTransaction, type TransactionJson } from './format.ts'
import { bytes32, fakeLog } from './testing/fake-source.ts'

const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague })
const key = hexToBytes('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318')
const TO = '0x3535353535353535353535353535353535353535'

function signed(data: Parameters<typeof createTx>[0]): TypedTransaction {
  return createTx(data, { common }).sign(key)
}

const legacy = signed({ type: 0, nonce: 9, gasPrice: 20_000_000_000n, gasLimit: 21_000, to: TO, value: 10n ** 18n })
const accessList = signed({
  type: 1,
  nonce: 1,
  gasPrice: 7n,
  gasLimit: 50_000,
  to: TO,
  accessList: [{ address: TO, storageKeys: [bytesToHex(bytes32(1))] }],
})
const dynamicFee = signed({
  type: 2,
  nonce: 2,
  maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 2_000_000_000n,
  gasLimit: 100_000,
  to: TO,
  value: 5n,
  data: '0xa9059cbb',
})
const creation = signed({
  type: 2,
  nonce: 3,
  maxFeePerGas: 10n,
  maxPriorityFeePerGas: 1n,
  gasLimit: 200_000,
  data: '0x6000',
})
const setCode = signed({
  type: 4,
  nonce: 4,
  maxFeePerGas: 10n,
  maxPriorityFeePerGas: 1n,
  gasLimit: 80_000,
  to: TO,
  authorizationList: [
    { chainId: '0x1', address: TO, nonce: '0x0', yParity: '0x1', r: `0x${'12'.repeat(32)}`, s: `0x${'34'.repeat(32)}` },
  ],
})
const sender = legacy.getSenderAddress().bytes
const SENDER = bytesToHex(sender)
const BLOCK_HASH = bytes32(0xbb)

describe('formatTransaction', () => {
  it('gives an included EIP-1559 transaction the fields geth returns, with the effective gas price', () => {
    const json = formatTransaction(dynamicFee, {
      from: sender,
      blockHash: BLOCK_HASH,
      blockNumber: 0x10n,
      blockTimestamp: 0x6565f1a0n,
      index: 3,
      baseFee: 7_000_000_000n,
    })
    expect(json).toEqual({
      blockHash: bytesToHex(BLOCK_HASH),
      blockNumber: '0x10',
      blockTimestamp: '0x6565f1a0',
      from: SENDER,
      gas: '0x186a0',
      gasPrice: '0x218711a00', // 7 gwei base fee + 2 gwei tip
      maxFeePerGas: '0x6fc23ac00',
      maxPriorityFeePerGas: '0x77359400',
      hash: bytesToHex(dynamicFee.hash()),
      input: '0xa9059cbb',
      nonce: '0x2',
      to: TO,
      transactionIndex: '0x3',
      value: '0x5',
      type: '0x2',
      accessList: [],
      chainId: '0x1',
      v: json.yParity,
      r: `0x${dynamicFee.r!.toString(16)}`,
      s: `0x${dynamicFee.s!.toString(16)}`,
      yParity: expect.stringMatching(/^0x[01]$/),
    })
  })

  it('leaves block fields null and reports the fee cap as gasPrice while pending', () => {
    const json = formatTransaction(dynamicFee, { from: sender })
    expect(json).toMatchObject({
      blockHash: null,
      blockNumber: null,
      blockTimestamp: null,
      transactionIndex: null,
      gasPrice: '0x6fc23ac00',
    })
  })

  it('formats legacy, access-list, creation and set-code transactions', () => {
    const legacyJson = formatTransaction(legacy, { from: sender })
    expect(legacyJson).toMatchObject({
      type: '0x0',
      gasPrice: '0x4a817c800',
      chainId: '0x1',
      value: '0xde0b6b3a7640000',
    })
    expect(legacyJson).not.toHaveProperty('yParity')
    expect(legacyJson).not.toHaveProperty('accessList')
    expect(['0x25', '0x26']).toContain(legacyJson.v)

    expect(formatTransaction(accessList, { from: sender })).toMatchObject({
      type: '0x1',
      gasPrice: '0x7',
      accessList: [{ address: TO, storageKeys: [bytesToHex(bytes32(1))] }],
    })
    expect(formatTransaction(creation, { from: sender }).to).toBeNull()
    expect(formatTransaction(setCode, { from: sender }).authorizationList).toEqual([
      {
        chainId: '0x1',
        address: TO,
        nonce: '0x0',
        yParity: '0x1',
        r: `0x${'12'.repeat(32)}`,
        s: `0x${'34'.repeat(32)}`,
      },
    ])
  })

  it('round-trips through ethereumjs and viem parsers to the same transaction', async () => {
    for (const tx of [legacy, accessList, dynamicFee, creation, setCode]) {
      const json = formatTransaction(tx, {
        from: sender,
        blockHash: BLOCK_HASH,
        blockNumber: 1n,
        index: 0,
        baseFee: 1n,
      })
      const rebuilt = await createTxFromRPC(json as never, { common })
      expect(bytesToHex(rebuilt.hash())).toBe(json.hash)
      const parsed = viemFormatTransaction(json as never)
      expect(parsed.hash).toBe(json.hash)
      expect(parsed.from).toBe(SENDER)
      expect(parsed.nonce).toBe(Number(tx.nonce))
    }
  })
})

describe('formatBlock', () => {
  const block = createBlock(
    {
      header: {
        number: 0x1234n,
        parentHash: bytes32(1),
        coinbase: createAddressFromString(TO),
        timestamp: 1_700_000_000n,
        gasLimit: 30_000_000n,
        gasUsed: 42_000n,
        baseFeePerGas: 7n,
        extraData: '0xcafe',
        parentBeaconBlockRoot: bytes32(2),
      },
      transactions: [legacy, dynamicFee],
      withdrawals: [{ index: 1n, validatorIndex: 2n, address: TO, amount: 3n }],
    },
    { common },
  )

  it('has every field geth returns for a Prague block', () => {
    const json = formatBlock(block, { fullTransactions: false, senders: [sender, sender] })
    expect(Object.keys(json).sort()).toEqual(
      [
        'hash',
        'parentHash',
        'sha3Uncles',
        'miner',
        'stateRoot',
        'transactionsRoot',
        'receiptsRoot',
        'logsBloom',
        'difficulty',
        'number',
        'gasLimit',
        'gasUsed',
        'timestamp',
        'extraData',
        'mixHash',
        'nonce',
        'baseFeePerGas',
        'withdrawalsRoot',
        'withdrawals',
        'blobGasUsed',
        'excessBlobGas',
        'parentBeaconBlockRoot',
        'requestsHash',
        'totalDifficulty',
        'size',
        'uncles',
        'transactions',
      ].sort(),
    )
    expect(json).toMatchObject({
      hash: bytesToHex(block.hash()),
      number: '0x1234',
      miner: TO,
      difficulty: '0x0',
      nonce: '0x0000000000000000',
      extraData: '0xcafe',
      baseFeePerGas: '0x7',
      blobGasUsed: '0x0',
      excessBlobGas: '0x0',
      totalDifficulty: '0x0',
      size: `0x${block.serialize().length.toString(16)}`,
      uncles: [],
      transactions: [bytesToHex(legacy.hash()), bytesToHex(dynamicFee.hash())],
      withdrawals: [{ index: '0x1', validatorIndex: '0x2', address: TO, amount: '0x3' }],
    })
  })

  it('embeds full transactions with their block position', () => {
    const json = formatBlock(block, { fullTransactions: true, senders: [sender, sender], size: 999 })
    const [first, second] = json.transactions as TransactionJson[]
    expect(first).toMatchObject({
      transactionIndex: '0x0',
      blockNumber: '0x1234',
      blockHash: json.hash,
      blockTimestamp: json.timestamp,
      from: SENDER,
    })
    expect(second).toMatchObject({ transactionIndex: '0x1', gasPrice: '0x77359407' })
    expect(json.size).toBe('0x3e7')
  })

  it('round-trips through ethereumjs to the same block hash', () => {
    const json = formatBlock(block, { fullTransactions: true, senders: [sender, sender] })
    const rebuilt = createBlockFromRPC(json as never, [], { common })
    expect(bytesToHex(rebuilt.hash())).toBe(json.hash)
  })
})

describe('formatReceipt and formatLog', () => {
  const log = fakeLog({ topics: [bytes32(1)], logIndex: 2, transactionIndex: 1 })

  it('formats a log as geth does', () => {
    expect(formatLog(log)).toEqual({
      address: `0x${'aa'.repeat(20)}`,
      topics: [bytesToHex(bytes32(1))],
      data: '0x0102',
      blockNumber: '0xa',
      transactionHash: bytesToHex(bytes32(0xcc)),
      transactionIndex: '0x1',
      blockHash: bytesToHex(bytes32(0xbb)),
      blockTimestamp: '0x6553f100',
      logIndex: '0x2',
      removed: false,
    })
  })

  it('formats a receipt as geth does, without root', () => {
    const receipt: ReceiptRecord = {
      transactionHash: bytes32(0xcc),
      transactionIndex: 1,
      blockHash: bytes32(0xbb),
      blockNumber: 10n,
      from: sender,
      to: undefined,
      contractAddress: new Uint8Array(20).fill(0x44),
      cumulativeGasUsed: 90_000n,
      gasUsed: 53_000n,
      effectiveGasPrice: 9n,
      status: 1,
      logsBloom: new Uint8Array(256),
      logs: [log],
      type: 2,
    }
    const json = formatReceipt(receipt)
    expect(json).toEqual({
      blockHash: bytesToHex(bytes32(0xbb)),
      blockNumber: '0xa',
      contractAddress: `0x${'44'.repeat(20)}`,
      cumulativeGasUsed: '0x15f90',
      effectiveGasPrice: '0x9',
      from: SENDER,
      gasUsed: '0xcf08',
      logs: [formatLog(log)],
      logsBloom: `0x${'00'.repeat(256)}`,
      status: '0x1',
      to: null,
      transactionHash: bytesToHex(bytes32(0xcc)),
      transactionIndex: '0x1',
      type: '0x2',
    })
    expect(json).not.toHaveProperty('root')
    expect(formatReceipt({ ...receipt, to: sender, contractAddress: undefined, status: 0 })).toMatchObject({
      to: SENDER,
      contractAddress: null,
      status: '0x0',
    })
  })
})
