import cKzg from 'c-kzg'
import {
  type Hex,
  InsufficientFundsError,
  NonceTooLowError,
  createPublicClient,
  createWalletClient,
  defineChain,
  defineKzg,
  http,
  keccak256,
  parseEther,
  parseGwei,
  stringToHex,
  encodeErrorResult,
  parseAbi,
  toBlobs,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { type RunningNode, rpc, rpcRaw, startNode } from './src/node-process.ts'

const CHAIN_ID = 77077
const BATCH_LIMIT = 10
const LOG_RANGE = 3
const BODY_LIMIT = 1_000_000

let node: RunningNode

beforeAll(async () => {
  node = await startNode({
    blockTime: 1,
    extraArgs: [
      '--rpc.batch-limit',
      String(BATCH_LIMIT),
      '--rpc.logs.max-range',
      String(LOG_RANGE),
      '--rpc.body-limit',
      String(BODY_LIMIT),
    ],
  })
})

afterAll(async () => {
  await node?.cleanup()
})

interface ErrorResponse {
  jsonrpc: string
  id: unknown
  error: { code: number; message: string; data?: unknown }
}

const call = (method: string, params: unknown[], id = 1) => rpcRaw(node.rpcUrl, { jsonrpc: '2.0', id, method, params })

async function errorOf(method: string, params: unknown[]): Promise<ErrorResponse['error']> {
  const { json } = await call(method, params)
  const body = json as ErrorResponse
  expect(body.error, `${method} should fail`).toBeDefined()
  return body.error
}

/** After every bad request the node must still answer normally. */
async function expectServing(): Promise<void> {
  const { json } = await call('eth_blockNumber', [])
  expect((json as { result: string }).result).toMatch(/^0x[0-9a-f]+$/)
}

function clients(privateKey: Hex) {
  const chain = defineChain({
    id: CHAIN_ID,
    name: 'Cairn dev',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [node.rpcUrl] } },
  })
  const account = privateKeyToAccount(privateKey)
  return {
    account,
    publicClient: createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 200 }),
    wallet: createWalletClient({ account, chain, transport: http(node.rpcUrl), pollingInterval: 200 }),
  }
}

describe('JSON-RPC protocol errors', () => {
  it('answers malformed JSON with -32700 parse error', async () => {
    const { json } = await rpcRaw(node.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId",')
    expect((json as ErrorResponse).error.code).toBe(-32700)
    expect((json as ErrorResponse).id).toBeNull()
    await expectServing()
  })

  it('answers an unknown method with -32601', async () => {
    const error = await errorOf('eth_doesNotExist', [])
    expect(error.code).toBe(-32601)
    expect(error.message).toBe('the method eth_doesNotExist does not exist/is not available')
    await expectServing()
  })

  it('answers bad params with -32602 naming the argument', async () => {
    const badAddress = await errorOf('eth_getBalance', ['0x1234', 'latest'])
    expect(badAddress.code).toBe(-32602)
    expect(badAddress.message).toMatch(/^invalid argument 0: /)

    const badFlag = await errorOf('eth_getBlockByNumber', ['latest', 'yes'])
    expect(badFlag.code).toBe(-32602)
    expect(badFlag.message).toMatch(/^invalid argument 1: /)

    const missing = await errorOf('eth_getTransactionReceipt', [])
    expect(missing.code).toBe(-32602)
    expect(missing.message).toContain('0')
    await expectServing()
  })

  it('refuses an oversized batch with -32600, as geth, and serves a batch within the limit', async () => {
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId', params: [] }))
    const { json: tooBig } = await rpcRaw(node.rpcUrl, batch(BATCH_LIMIT + 1))
    const error = (Array.isArray(tooBig) ? tooBig[0] : tooBig) as ErrorResponse
    expect(error.error.code).toBe(-32600)
    expect(error.error.message).toContain('batch too large')

    const { json: fine } = await rpcRaw(node.rpcUrl, batch(BATCH_LIMIT))
    expect(fine).toHaveLength(BATCH_LIMIT)
    for (const item of fine as { result: string }[]) expect(item.result).toBe('0x12d15')
    await expectServing()
  })

  it('refuses an eth_getLogs range over the limit with -32005 and serves one within it', async () => {
    const { publicClient } = clients(DEV_ACCOUNTS[0]!.privateKey)
    // wait until the chain is long enough for a range over the limit
    while ((await publicClient.getBlockNumber()) < BigInt(LOG_RANGE + 1)) await new Promise((r) => setTimeout(r, 250))
    const error = await errorOf('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])
    expect(error.code).toBe(-32005)
    expect(error.message).toContain(`limit of ${LOG_RANGE} blocks`)

    const { json } = await call('eth_getLogs', [{ fromBlock: '0x0', toBlock: `0x${(LOG_RANGE - 1).toString(16)}` }])
    expect((json as { result: unknown[] }).result).toEqual([])
    await expectServing()
  })
})

describe('JSON-RPC over WebSocket and request limits', () => {
  it('answers malformed JSON and unknown methods over WebSocket and keeps the connection', async () => {
    const socket = new WebSocket(node.wsUrl)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    const replies: unknown[] = []
    const next = () =>
      new Promise<ErrorResponse & { result?: unknown }>((resolve) => {
        socket.once('message', (data) => {
          const reply = JSON.parse(data.toString()) as ErrorResponse & { result?: unknown }
          replies.push(reply)
          resolve(reply)
        })
      })
    try {
      let reply = next()
      socket.send('{"jsonrpc":"2.0","id":1,"method":')
      expect((await reply).error.code).toBe(-32700)
      reply = next()
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_nope', params: [] }))
      expect((await reply).error.code).toBe(-32601)
      reply = next()
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'eth_chainId', params: [] }))
      expect((await reply).result).toBe('0x12d15')
    } finally {
      socket.close()
    }
  })

  it('refuses a body over --rpc.body-limit with HTTP 413 and -32005', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_call',
      params: [{ data: `0x${'00'.repeat(BODY_LIMIT / 2 + 10)}` }],
    })
    const { status, json } = await rpcRaw(node.rpcUrl, big)
    expect(status).toBe(413)
    expect((json as ErrorResponse).error.code).toBe(-32005)
    await expectServing()
  })
})

/** Init code that reverts with `Error("nope")`, so eth_call/eth_estimateGas revert without a contract. */
const REVERT_DATA = encodeErrorResult({ abi: parseAbi(['error Error(string)']), errorName: 'Error', args: ['nope'] })
const REVERTING_INITCODE = `0x606460${(12).toString(16).padStart(2, '0')}60003960646000fd${REVERT_DATA.slice(2)}` as Hex

describe('eth_call and eth_estimateGas errors read like geth', () => {
  it('a revert is code 3 with the decoded reason and the revert data', async () => {
    for (const method of ['eth_call', 'eth_estimateGas']) {
      const error = await errorOf(method, [{ from: DEV_ACCOUNTS[0]!.address, data: REVERTING_INITCODE }])
      expect(error.code).toBe(3)
      expect(error.message).toBe('execution reverted: nope')
      expect(error.data).toBe(REVERT_DATA)
      // a bare revert() still carries its (empty) data, as geth does since 1.15.6
      expect(await errorOf(method, [{ data: '0x60006000fd' }])).toEqual({
        code: 3,
        message: 'execution reverted',
        data: '0x',
      })
    }
    await expectServing()
  })

  it('estimating for a sender that cannot pay says so', async () => {
    const broke = privateKeyToAccount(generatePrivateKey()).address
    const request = { from: broke, to: DEV_ACCOUNTS[0]!.address, maxFeePerGas: `0x${parseGwei('10').toString(16)}` }
    const error = await errorOf('eth_estimateGas', [request])
    expect(error.code).toBe(-32000)
    expect(error.message).toBe('insufficient funds for transfer')

    // a sender whose balance buys less than the intrinsic gas
    const { account, publicClient, wallet } = clients(DEV_ACCOUNTS[7]!.privateKey)
    const poor = privateKeyToAccount(generatePrivateKey()).address
    await publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ to: poor, value: 1000n * parseGwei('10') }),
    })
    expect(account.address).not.toBe(poor)
    const capped = await errorOf('eth_estimateGas', [{ ...request, from: poor }])
    expect(capped.code).toBe(-32000)
    expect(capped.message).toBe('gas required exceeds allowance (1000)')
    // without a fee the balance does not matter
    expect(await rpc(node.rpcUrl, 'eth_estimateGas', [{ from: broke, to: DEV_ACCOUNTS[0]!.address }])).toBe('0x5208')
    // a gas limit below the intrinsic gas is ignored, as geth does
    expect(
      await rpc(node.rpcUrl, 'eth_estimateGas', [{ from: broke, to: DEV_ACCOUNTS[0]!.address, gas: '0x3e8' }]),
    ).toBe('0x5208')
    await expectServing()
  })

  it('state queries for a block that does not exist answer header not found', async () => {
    const error = await errorOf('eth_getBalance', [DEV_ACCOUNTS[0]!.address, '0xffffff'])
    expect(error).toEqual({ code: -32000, message: 'header not found' })
    expect(await rpc(node.rpcUrl, 'eth_getBlockByNumber', ['0xffffff', false])).toBeNull()
  })
})

describe('transaction pool rejections read like geth', () => {
  it('already known', async () => {
    const { account, publicClient } = clients(DEV_ACCOUNTS[8]!.privateKey)
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
    const raw = await account.signTransaction({
      type: 'eip1559',
      chainId: CHAIN_ID,
      nonce: nonce + 5, // queued behind a gap, so it stays in the pool
      to: DEV_ACCOUNTS[0]!.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: parseGwei('10'),
      maxPriorityFeePerGas: parseGwei('1'),
    })
    await rpc(node.rpcUrl, 'eth_sendRawTransaction', [raw])
    const error = await errorOf('eth_sendRawTransaction', [raw])
    expect(error).toEqual({ code: -32000, message: 'already known' })
    await expectServing()
  })

  it('a fee above --rpc.txfeecap (1 ether by default)', async () => {
    const { account, publicClient } = clients(DEV_ACCOUNTS[8]!.privateKey)
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
    const raw = await account.signTransaction({
      type: 'eip1559',
      chainId: CHAIN_ID,
      nonce,
      to: DEV_ACCOUNTS[0]!.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: parseGwei('50000'), // 1.05 ether at most
      maxPriorityFeePerGas: parseGwei('1'),
    })
    const error = await errorOf('eth_sendRawTransaction', [raw])
    expect(error).toEqual({ code: -32000, message: 'tx fee (1.05 ether) exceeds the configured cap (1.00 ether)' })
    expect(await rpc(node.rpcUrl, 'eth_getTransactionByHash', [keccak256(raw)])).toBeNull()
    await expectServing()
  })

  it('nonce too low', async () => {
    const { account, publicClient, wallet } = clients(DEV_ACCOUNTS[1]!.privateKey)
    const hash = await wallet.sendTransaction({ to: DEV_ACCOUNTS[2]!.address, value: 1n })
    await publicClient.waitForTransactionReceipt({ hash })
    const stale = await account.signTransaction({
      type: 'eip1559',
      chainId: CHAIN_ID,
      nonce: 0,
      to: DEV_ACCOUNTS[2]!.address,
      value: 2n,
      gas: 21_000n,
      maxFeePerGas: parseGwei('10'),
      maxPriorityFeePerGas: parseGwei('1'),
    })
    const error = await errorOf('eth_sendRawTransaction', [stale])
    expect(error.code).toBe(-32000)
    expect(error.message).toMatch(/^nonce too low/)
    // viem recognises geth's wording
    const viaViem = await wallet
      .sendTransaction({ nonce: 0, to: DEV_ACCOUNTS[2]!.address, value: 2n })
      .catch((e: unknown) => e)
    expect(
      (viaViem as { walk(fn: (e: unknown) => boolean): unknown }).walk((e) => e instanceof NonceTooLowError),
    ).toBeInstanceOf(NonceTooLowError)
    await expectServing()
  })

  it('replacement transaction underpriced', async () => {
    const { account, publicClient } = clients(DEV_ACCOUNTS[3]!.privateKey)
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
    // a nonce gap keeps the transaction queued, so it cannot be sealed while we replace it
    const sign = (value: bigint, tip: bigint, feeCap: bigint) =>
      account.signTransaction({
        type: 'eip1559',
        chainId: CHAIN_ID,
        nonce: nonce + 1,
        to: DEV_ACCOUNTS[4]!.address,
        value,
        gas: 21_000n,
        maxFeePerGas: feeCap,
        maxPriorityFeePerGas: tip,
      })
    const first = await sign(1n, parseGwei('1'), parseGwei('10'))
    expect(await rpc(node.rpcUrl, 'eth_sendRawTransaction', [first])).toMatch(/^0x[0-9a-f]{64}$/)
    const error = await errorOf('eth_sendRawTransaction', [await sign(2n, parseGwei('1') + 1n, parseGwei('10') + 1n)])
    expect(error.code).toBe(-32000)
    expect(error.message).toBe('replacement transaction underpriced')
    // a 10% bump on both fees replaces it
    const bumped = await sign(3n, parseGwei('1.1'), parseGwei('11'))
    const { json } = await call('eth_sendRawTransaction', [bumped])
    expect((json as { result?: string }).result).toMatch(/^0x[0-9a-f]{64}$/)
    await expectServing()
  })

  it('insufficient funds for gas * price + value', async () => {
    const { account, wallet } = clients(generatePrivateKey())
    const raw = await account.signTransaction({
      type: 'eip1559',
      chainId: CHAIN_ID,
      nonce: 0,
      to: DEV_ACCOUNTS[0]!.address,
      value: parseEther('1'),
      gas: 21_000n,
      maxFeePerGas: parseGwei('10'),
      maxPriorityFeePerGas: parseGwei('1'),
    })
    const error = await errorOf('eth_sendRawTransaction', [raw])
    expect(error.code).toBe(-32000)
    expect(error.message).toMatch(/^insufficient funds for gas \* price \+ value/)
    const viaViem = await wallet
      .sendTransaction({
        to: DEV_ACCOUNTS[0]!.address,
        value: parseEther('1'),
        gas: 21_000n,
        maxFeePerGas: parseGwei('10'),
        maxPriorityFeePerGas: parseGwei('1'),
        nonce: 0,
      })
      .catch((e: unknown) => e)
    expect(
      (viaViem as { walk(fn: (e: unknown) => boolean): unknown }).walk((e) => e instanceof InsufficientFundsError),
    ).toBeInstanceOf(InsufficientFundsError)
    await expectServing()
  })

  const blobTx = {
    type: 'eip4844',
    chainId: CHAIN_ID,
    nonce: 0,
    to: DEV_ACCOUNTS[6]!.address,
    gas: 21_000n,
    maxFeePerGas: parseGwei('10'),
    maxPriorityFeePerGas: parseGwei('1'),
    maxFeePerBlobGas: parseGwei('1'),
  } as const

  it('rejects a blob (type 3) transaction in canonical form (versioned hashes, no sidecar) for its type', async () => {
    const { account } = clients(DEV_ACCOUNTS[5]!.privateKey)
    const raw = await account.signTransaction({ ...blobTx, blobVersionedHashes: [`0x01${'00'.repeat(31)}`] })
    expect(raw.startsWith('0x03')).toBe(true)
    const error = await errorOf('eth_sendRawTransaction', [raw])
    expect(error.code).toBe(-32000)
    expect(error.message).toMatch(/^transaction type not supported/)
    expect(error.message).toContain('blob')
    await expectServing()
  })

  it('rejects a blob (type 3) transaction with its sidecar, as wallets send it, for its type rather than its size', async () => {
    cKzg.loadTrustedSetup(0)
    const kzg = defineKzg(cKzg)
    const { account } = clients(DEV_ACCOUNTS[5]!.privateKey)
    const raw = await account.signTransaction({
      ...blobTx,
      blobs: toBlobs({ data: stringToHex('blobs belong on L1') }),
      kzg,
    })
    expect(raw.startsWith('0x03')).toBe(true)
    // One blob alone is 128 KiB, over the size limit of the other types; geth checks the type first
    // and answers `transaction type not supported`, which tells the sender what is actually wrong.
    const error = await errorOf('eth_sendRawTransaction', [raw])
    expect(error.code).toBe(-32000)
    expect(error.message).toMatch(/^transaction type not supported/)
    expect(error.message).toContain('blob')
    await expectServing()
  })
})
