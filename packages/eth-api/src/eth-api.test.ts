import { genTransactionsTrieRoot } from '@ethereumjs/block'
import { type TypedTransaction, createTxFromRLP } from '@ethereumjs/tx'
import { bytesToBigInt, bytesToHex, hexToBytes, setLengthLeft, toChecksumAddress } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { ANCHOR_ADDRESS, DEV_ACCOUNTS, type Hex, toQuantity } from '@cairn/primitives'
import { Dispatcher, formatBlock, silentLogger } from '@cairn/rpc'
import { DEFAULT_TIP } from './fees.ts'
import { type TestChain, type TestChainOptions, l1Block, rejection, startTestChain } from './testing/test-chain.ts'

const chains: TestChain[] = []
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
})

async function testChain(options: TestChainOptions = {}) {
  const chain = await startTestChain(options)
  chains.push(chain)
  return chain
}

interface ProofJson {
  codeHash: Hex
  storageHash: Hex
  balance: Hex
  nonce: Hex
  accountProof: Hex[]
  storageProof: { key: Hex; value: Hex; proof: Hex[] }[]
}

const ZERO_HASH = bytesToHex(new Uint8Array(32))
const FULL_KEY_ONE = bytesToHex(setLengthLeft(Uint8Array.of(1), 32))

describe('eth_getProof', () => {
  it('answers a missing account with zero hashes and one empty entry per requested key', async () => {
    const t = await testChain()
    const proof = (await t.call(
      'eth_getProof',
      `0x${'de'.repeat(20)}`,
      ['0x1', FULL_KEY_ONE, '02'],
      'latest',
    )) as ProofJson
    expect(proof).toMatchObject({ balance: '0x0', nonce: '0x0', codeHash: ZERO_HASH, storageHash: ZERO_HASH })
    expect(proof.accountProof.length).toBeGreaterThan(0)
    expect(proof.storageProof).toEqual([
      { key: '0x1', value: '0x0', proof: [] },
      { key: FULL_KEY_ONE, value: '0x0', proof: [] },
      { key: '0x2', value: '0x0', proof: [] },
    ])
  })

  it('echoes a 32-byte key as given and a shorter one as a quantity, like geth', async () => {
    const t = await testChain({ anchor: true })
    await t.mine([], l1Block(7))
    // Anchor's slot 0 packs lastL1BlockNumber (7) and lastAnchoredL2Block (1).
    const packed = await t.call('eth_getStorageAt', ANCHOR_ADDRESS, '0x0', 'latest')
    expect(BigInt(packed as Hex)).toBe((1n << 64n) | 7n)
    const keys = ['0x0', '0x00', '0', ZERO_HASH, FULL_KEY_ONE.toUpperCase().replace('0X', '0x'), '0X1']
    const proof = (await t.call('eth_getProof', ANCHOR_ADDRESS, keys, 'latest')) as ProofJson
    expect(proof.storageProof.map((entry) => entry.key)).toEqual(['0x0', '0x0', '0x0', ZERO_HASH, FULL_KEY_ONE, '0x1'])
    // Slot 1 is lastL1BlockHash.
    const [slotZero, slotOne] = [toQuantity((1n << 64n) | 7n), toQuantity(bytesToBigInt(l1Block(7).hash))]
    expect(proof.storageProof.map((entry) => entry.value)).toEqual([
      slotZero,
      slotZero,
      slotZero,
      slotZero,
      slotOne,
      slotOne,
    ])
    for (const entry of proof.storageProof) expect(entry.proof.length).toBeGreaterThan(0)
  })

  it('refuses keys geth refuses, with geth’s words', async () => {
    const t = await testChain()
    const long = `0x${'11'.repeat(33)}`
    expect(await rejection(t.call('eth_getProof', ANCHOR_ADDRESS, [long], 'latest'))).toEqual({
      rpcCode: -32602,
      message: `storage key too long (want at most 32 bytes): "${long}"`,
    })
    expect(await rejection(t.call('eth_getProof', ANCHOR_ADDRESS, ['0xzz'], 'latest'))).toEqual({
      rpcCode: -32602,
      message: 'invalid hex in storage key: "0xzz"',
    })
    expect(await rejection(t.call('eth_getProof', ANCHOR_ADDRESS, Array(1025).fill('0x1'), 'latest'))).toEqual({
      rpcCode: -32602,
      message: 'too many storage keys requested (max 1024, got 1025)',
    })
    expect(await rejection(t.call('eth_getStorageAt', ANCHOR_ADDRESS, long, 'latest'))).toMatchObject({
      rpcCode: -32602,
    })
  })
})

describe('eth_getStorageValues', () => {
  it('reads many slots of many accounts at one block, as eth_getStorageAt does one by one', async () => {
    const t = await testChain({ anchor: true })
    await t.mine([], l1Block(7))
    const other = `0x${'de'.repeat(20)}`
    const request = {
      [ANCHOR_ADDRESS.toUpperCase().replace('0X', '0x')]: [ZERO_HASH, FULL_KEY_ONE],
      [other]: [ZERO_HASH],
    }
    const values = (await t.call('eth_getStorageValues', request, 'latest')) as Record<Hex, Hex[]>
    const one = async (address: string, key: Hex, block: string) =>
      (await t.call('eth_getStorageAt', address, key, block)) as Hex
    expect(values).toEqual({
      [ANCHOR_ADDRESS.toLowerCase()]: [
        await one(ANCHOR_ADDRESS, ZERO_HASH, 'latest'),
        await one(ANCHOR_ADDRESS, FULL_KEY_ONE, 'latest'),
      ],
      [other]: [ZERO_HASH],
    })
    expect(BigInt(values[ANCHOR_ADDRESS.toLowerCase() as Hex]![0]!)).toBe((1n << 64n) | 7n)
    // The block parameter is optional (latest) and any block may be named.
    expect(await t.call('eth_getStorageValues', request)).toEqual(values)
    expect(await t.call('eth_getStorageValues', { [ANCHOR_ADDRESS]: [ZERO_HASH] }, '0x0')).toEqual({
      [ANCHOR_ADDRESS.toLowerCase()]: [await one(ANCHOR_ADDRESS, ZERO_HASH, '0x0')],
    })
  })

  it('refuses what geth refuses', async () => {
    const t = await testChain()
    expect(await rejection(t.call('eth_getStorageValues', {}, 'latest'))).toEqual({
      rpcCode: -32602,
      message: 'empty request',
    })
    const many = { [ANCHOR_ADDRESS]: Array(600).fill(ZERO_HASH), [`0x${'de'.repeat(20)}`]: Array(425).fill(ZERO_HASH) }
    expect(await rejection(t.call('eth_getStorageValues', many, 'latest'))).toEqual({
      rpcCode: -32005,
      message: 'too many slots (max 1024, got 1025); split the request',
    })
    // Slots are 32-byte hashes, as geth's common.Hash.
    expect(await rejection(t.call('eth_getStorageValues', { [ANCHOR_ADDRESS]: ['0x0'] }))).toMatchObject({
      rpcCode: -32602,
    })
    expect(await rejection(t.call('eth_getStorageValues', { '0x1234': [ZERO_HASH] }))).toMatchObject({
      rpcCode: -32602,
    })
  })
})

describe('methods that need a key', () => {
  it('answer that the node holds none, so a client knows to sign itself', async () => {
    const t = await testChain()
    const request = { from: DEV_ACCOUNTS[0]!.address, to: DEV_ACCOUNTS[1]!.address }
    for (const [method, params] of [
      ['eth_sendTransaction', [request]],
      ['eth_signTransaction', [request]],
      ['eth_sign', [DEV_ACCOUNTS[0]!.address, '0x01']],
    ] as const) {
      const refused = await rejection(t.call(method, ...params))
      expect(refused, method).toMatchObject({ rpcCode: -32000, message: expect.stringMatching(/^unknown account/) })
    }
  })
})

describe('arguments', () => {
  it('are refused by methods that take none and read by the ones that take some, as geth reads them', async () => {
    const t = await testChain()
    const dispatcher = new Dispatcher({
      methods: t.methods,
      maxBatchItems: 100,
      maxResponseBytes: 1_000_000,
      logger: silentLogger,
    })
    const answer = async (method: string, params: unknown[]) =>
      JSON.parse(
        (await dispatcher.handleText(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), {
          transport: 'http',
          connectionId: 'test',
        }))!,
      )
    const tooMany = { code: -32602, message: 'too many arguments, want at most 0' }
    for (const method of ['eth_blockNumber', 'eth_chainId', 'net_version', 'eth_gasPrice', 'txpool_status'])
      expect(await answer(method, ['latest']), method).toMatchObject({ error: tooMany })
    expect(await answer('eth_getUncleCountByBlockNumber', ['latest'])).toMatchObject({ result: '0x0' })
    expect(await answer('eth_getUncleByBlockHashAndIndex', [ZERO_HASH, '0x0'])).toMatchObject({ result: null })
    expect(await answer('eth_getUncleCountByBlockNumber', ['latest', 1])).toMatchObject({
      error: { code: -32602, message: 'too many arguments, want at most 1' },
    })
  })
})

describe('eth_feeHistory', () => {
  it('takes the block count as a number, a decimal string or hex, like geth’s HexOrDecimal64', async () => {
    const t = await testChain()
    for (let i = 0; i < 4; i++) await t.mine()
    const expected = await t.call('eth_feeHistory', '0x3', 'latest')
    expect((expected as { gasUsedRatio: number[] }).gasUsedRatio).toHaveLength(3)
    for (const count of [3, '3', '0x03', '0X3'])
      expect(await t.call('eth_feeHistory', count, 'latest')).toEqual(expected)
    expect(await rejection(t.call('eth_feeHistory', '3.0', 'latest'))).toEqual({
      rpcCode: -32602,
      message: 'invalid argument 0: invalid hex or decimal integer "3.0"',
    })
  })

  it('gives rewards only for percentiles asked for, which must rise strictly, as geth', async () => {
    const t = await testChain()
    await t.mine([t.transaction({ nonce: 0, to: DEV_ACCOUNTS[1]!.address as Hex, value: 1n })])
    const withRewards = (await t.call('eth_feeHistory', 2, 'latest', [10, 90])) as { reward: Hex[][] }
    expect(withRewards.reward).toHaveLength(2)
    for (const blockRewards of withRewards.reward) expect(blockRewards).toHaveLength(2)
    for (const none of [[], undefined]) {
      const history = (await t.call('eth_feeHistory', 2, 'latest', ...(none ? [none] : []))) as object
      expect(history).not.toHaveProperty('reward')
      expect(history).toHaveProperty('baseFeePerGas')
    }
    expect(await rejection(t.call('eth_feeHistory', 2, 'latest', [50, 50]))).toEqual({
      rpcCode: -32602,
      message: 'invalid reward percentile: #0:50.000000 >= #1:50.000000',
    })
    const rising = (n: number) => Array.from({ length: n }, (_, i) => (i * 100) / n)
    expect(await t.call('eth_feeHistory', 2, 'latest', rising(100))).toHaveProperty('reward')
    expect(await rejection(t.call('eth_feeHistory', 2, 'latest', rising(101)))).toEqual({
      rpcCode: -32602,
      message: 'invalid reward percentile: over the query limit 100',
    })
  })
})

describe('txpool_content and txpool_inspect', () => {
  it('key accounts and name recipients by their EIP-55 checksummed address', async () => {
    let t: TestChain | undefined
    const pool = () => {
      const creation = t!.transaction({ nonce: 2, from: 2 })
      const transfer = t!.transaction({
        nonce: 0,
        to: DEV_ACCOUNTS[3]!.address.toLowerCase() as Hex,
        from: 2,
        value: 9n,
      })
      const sender = DEV_ACCOUNTS[2]!.address.toLowerCase() as Hex
      return {
        pending: new Map([[sender, new Map<bigint, TypedTransaction>([[0n, transfer]])]]),
        queued: new Map([[sender, new Map<bigint, TypedTransaction>([[2n, creation]])]]),
      }
    }
    t = await testChain({ mempool: { content: pool } })
    const checksummed = toChecksumAddress(DEV_ACCOUNTS[2]!.address)
    expect(checksummed).not.toBe(checksummed.toLowerCase())
    const content = (await t.call('txpool_content')) as Record<string, Record<string, Record<string, { nonce: Hex }>>>
    expect(Object.keys(content.pending!)).toEqual([checksummed])
    expect(Object.keys(content.queued!)).toEqual([checksummed])
    expect(content.pending![checksummed]!['0']!.nonce).toBe('0x0')

    const inspect = (await t.call('txpool_inspect')) as Record<string, Record<string, Record<string, string>>>
    expect(Object.keys(inspect.pending!)).toEqual([checksummed])
    expect(inspect.pending![checksummed]!['0']).toMatch(
      new RegExp(`^${toChecksumAddress(DEV_ACCOUNTS[3]!.address)}: 9 wei \\+ 200000 gas × \\d+ wei$`),
    )
  })
})

describe('eth_getHeaderByNumber and eth_getHeaderByHash', () => {
  it('return the block’s header fields only, and null for an unknown block', async () => {
    const t = await testChain()
    const record = await t.mine([t.transaction({ nonce: 0, to: DEV_ACCOUNTS[1]!.address as Hex, value: 1n })])
    const { size, uncles, transactions, withdrawals, ...header } = formatBlock(record.block, {
      fullTransactions: false,
      senders: record.senders,
    })
    expect([size, uncles, transactions, withdrawals].every((field) => field !== undefined)).toBe(true)
    expect(await t.call('eth_getHeaderByNumber', '0x1')).toEqual(header)
    expect(await t.call('eth_getHeaderByNumber', 'latest')).toEqual(header)
    expect(await t.call('eth_getHeaderByHash', header.hash)).toEqual(header)
    expect(await t.call('eth_getHeaderByNumber', '0x9')).toBeNull()
    expect(await t.call('eth_getHeaderByHash', bytesToHex(new Uint8Array(32).fill(1)))).toBeNull()
  })
})

describe('eth_fillTransaction', () => {
  const to = DEV_ACCOUNTS[1]!.address as Hex
  const from = DEV_ACCOUNTS[0]!.address as Hex

  it('fills fees, nonce, gas and chain id as geth does, into bytes that sign and mine', async () => {
    const t = await testChain({ mempool: { pendingNonce: async () => 0n } })
    const nextBaseFee = t.chain.head().header.calcNextBaseFee()
    const { raw, tx } = (await t.call('eth_fillTransaction', { from, to, value: '0x7' })) as {
      raw: Hex
      tx: Record<string, unknown>
    }
    expect(tx).toMatchObject({
      type: '0x2',
      chainId: toQuantity(t.common.chainId()),
      nonce: '0x0',
      gas: '0x5208',
      maxPriorityFeePerGas: toQuantity(DEFAULT_TIP),
      maxFeePerGas: toQuantity(DEFAULT_TIP + 2n * nextBaseFee),
      value: '0x7',
      r: '0x0',
    })
    expect(tx).not.toHaveProperty('gasPrice')
    expect(tx).not.toHaveProperty('from')
    // the raw bytes are the unsigned transaction: sign them as a wallet would and they are mined
    const before = BigInt((await t.call('eth_getBalance', to, 'latest')) as Hex)
    const signed = createTxFromRLP(hexToBytes(raw), { common: t.common }).sign(hexToBytes(DEV_ACCOUNTS[0]!.privateKey))
    expect(bytesToHex(signed.getSenderAddress().bytes)).toBe(from.toLowerCase())
    const mined = await t.mine([signed])
    expect(mined.receipts[0]!.status).toBe(1)
    expect(await t.call('eth_getBalance', to, 'latest')).toBe(toQuantity(before + 7n))
  })

  it('keeps what the request sets, and refuses what geth refuses', async () => {
    const t = await testChain({ mempool: { pendingNonce: async () => 3n } })
    const gasPrice = toQuantity(t.chain.head().header.calcNextBaseFee() * 2n)
    const legacy = (await t.call('eth_fillTransaction', { from, to, gasPrice, gas: '0x6000' })) as {
      tx: Record<string, unknown>
    }
    expect(legacy.tx).toMatchObject({ type: '0x0', gasPrice, gas: '0x6000', nonce: '0x3' })
    const withList = (await t.call('eth_fillTransaction', {
      from,
      to,
      gasPrice,
      accessList: [{ address: to, storageKeys: [] }],
    })) as { tx: Record<string, unknown> }
    // type 1 (geth keeps the list with a legacy price); the estimate pays for the listed address
    expect(withList.tx.type).toBe('0x1')
    expect(BigInt(withList.tx.gas as Hex)).toBeGreaterThanOrEqual(21_000n + 2_400n)
    const refusals: [unknown, string][] = [
      [
        { from, to, gasPrice: '0x1', maxFeePerGas: '0x2' },
        'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified',
      ],
      [{ from, to, chainId: '0x1' }, `chainId does not match node's (have=1, want=${t.common.chainId()})`],
      [{ from }, 'contract creation without any data provided'],
      [{ from, to: null, input: '0x' }, 'contract creation without any data provided'],
      [{ from, to, maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }, 'maxFeePerGas (1) < maxPriorityFeePerGas (2)'],
    ]
    for (const [request, message] of refusals) {
      expect(await rejection(t.call('eth_fillTransaction', request))).toEqual({ rpcCode: -32000, message })
    }
  })
})

describe('debug_getRawReceipts and debug_getRawTransaction', () => {
  it('give the consensus encodings a block commits to', async () => {
    const t = await testChain()
    const txs = [
      t.transaction({ nonce: 0, to: DEV_ACCOUNTS[1]!.address as Hex, value: 1n }),
      // init code that logs one word (LOG1) and deploys nothing
      t.transaction({ nonce: 1, data: '0x60ff600052600160206000a100' }),
    ]
    const { block } = await t.mine(txs)
    const receipts = (await t.call('debug_getRawReceipts', '0x1')) as Hex[]
    expect(receipts).toHaveLength(2)
    expect(receipts.every((raw) => raw.startsWith('0x02'))).toBe(true)
    // an ethereumjs trie of them (its transactions-trie helper over the receipts' bytes) is the receipts root
    const asItems = receipts.map((raw) => ({ serialize: () => hexToBytes(raw) }) as unknown as TypedTransaction)
    expect(bytesToHex(await genTransactionsTrieRoot(asItems))).toBe(bytesToHex(block.header.receiptTrie))
    expect(await t.call('debug_getRawReceipts', { blockHash: bytesToHex(block.hash()) })).toEqual(receipts)
    expect(await rejection(t.call('debug_getRawReceipts', '0x9'))).toEqual({
      rpcCode: -32000,
      message: 'block not found',
    })

    expect(await t.call('debug_getRawTransaction', bytesToHex(txs[1]!.hash()))).toBe(bytesToHex(txs[1]!.serialize()))
    expect(await t.call('debug_getRawTransaction', bytesToHex(new Uint8Array(32)))).toBeNull()

    // By position, as geth: "0x" for a block or an index that is not there.
    expect(await t.call('eth_getRawTransactionByBlockNumberAndIndex', '0x1', '0x1')).toBe(
      bytesToHex(txs[1]!.serialize()),
    )
    expect(await t.call('eth_getRawTransactionByBlockHashAndIndex', bytesToHex(block.hash()), '0x0')).toBe(
      bytesToHex(txs[0]!.serialize()),
    )
    expect(await t.call('eth_getRawTransactionByBlockNumberAndIndex', 'latest', '0x2')).toBe('0x')
    expect(await t.call('eth_getRawTransactionByBlockHashAndIndex', bytesToHex(new Uint8Array(32)), '0x0')).toBe('0x')
  })
})

describe('eth_baseFee and eth_pendingTransactions', () => {
  it("give the next block's base fee, and no transactions of the node's own (it holds no keys)", async () => {
    const t = await testChain()
    await t.mine([t.transaction({ nonce: 0, to: DEV_ACCOUNTS[1]!.address as Hex, value: 1n })])
    const head = (await t.call('eth_getBlockByNumber', 'latest', false)) as { baseFeePerGas: Hex }
    const next = await t.call('eth_baseFee')
    expect(BigInt(next as Hex)).toBeLessThan(BigInt(head.baseFeePerGas))
    expect((await t.call('eth_feeHistory', 1, 'latest', [])) as { baseFeePerGas: Hex[] }).toMatchObject({
      baseFeePerGas: [head.baseFeePerGas, next],
    })
    expect(await t.call('eth_pendingTransactions')).toEqual([])
  })
})

describe('eth_getLogs block ranges', () => {
  it('refuses a range past the head and a reversed one with geth’s words, and serves one up to the head', async () => {
    const t = await testChain()
    await t.mine()
    await t.mine()
    const head = 2
    const logs = (fromBlock: string, toBlock: string) => t.call('eth_getLogs', { fromBlock, toBlock })
    const beyond = { rpcCode: -32602, message: 'block range extends beyond current head block' }
    const reversed = { rpcCode: -32602, message: 'invalid block range params' }
    expect(await rejection(logs('0x1', toQuantity(head + 1)))).toEqual(beyond)
    expect(await rejection(logs(toQuantity(head + 1), toQuantity(head + 3)))).toEqual(beyond)
    expect(await rejection(logs(toQuantity(head + 1), 'latest'))).toEqual(reversed)
    expect(await rejection(logs('0x2', '0x1'))).toEqual(reversed)
    expect(await logs('0x0', toQuantity(head))).toEqual([])
    expect(await logs('earliest', 'latest')).toEqual([])
    // geth's filter answers an unknown block hash with a plain error, -32000.
    expect(await rejection(t.call('eth_getLogs', { blockHash: `0x${'ab'.repeat(32)}` }))).toEqual({
      rpcCode: -32000,
      message: 'unknown block',
    })
  })
})
