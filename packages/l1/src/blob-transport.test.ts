import { type AnvilInstance, startAnvil } from '@cairn/anvil'
import { batchFromBlobs, batchToBlobs } from '@cairn/batch'
import { DEV_ACCOUNTS, type Hex } from '@cairn/primitives'
import { createPublicClient, createWalletClient, http, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { distinctBlobs, nonCanonicalBlob } from '../test/blobs.ts'
import { AnvilBlobSource } from './anvil-blob-source.ts'
import { BeaconBlobSource } from './beacon-blob-source.ts'
import { type BlobRequest, blobRequestForTransaction, FallbackBlobSource } from './blob-source.ts'
import { BlobSourceError } from './errors.ts'
import { loadKzg } from './kzg.ts'
import { bumpFees, sendBlobTransaction } from './send-blob-transaction.ts'

const SENDER = DEV_ACCOUNTS[0]!.privateKey
const RECIPIENT = DEV_ACCOUNTS[1]!.address

let anvil: AnvilInstance
let client: PublicClient

beforeAll(async () => {
  loadKzg()
  anvil = await startAnvil()
  client = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: 100 })
})
afterAll(async () => {
  await anvil?.stop()
})

async function sendAndMine(blobs: Uint8Array[], data: Hex = '0x'): Promise<BlobRequest> {
  const sent = await sendBlobTransaction({ rpcUrl: anvil.rpcUrl, account: SENDER, to: RECIPIENT, data, blobs })
  const receipt = await client.waitForTransactionReceipt({ hash: sent.hash })
  expect(receipt.status).toBe('success')
  const request = await blobRequestForTransaction(client, sent.hash)
  expect(request.versionedHashes).toEqual(sent.versionedHashes)
  return request
}

async function rejection(promise: Promise<unknown>): Promise<BlobSourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BlobSourceError)
  return error as BlobSourceError
}

describe('blob transport on a real anvil', () => {
  it.each([1, 6])(
    'sends %i blob(s) to an EOA and reads them back, in order, from the anvil and beacon sources',
    async (count) => {
      const blobs = distinctBlobs(count, count)
      const request = await sendAndMine(blobs)
      expect(request.versionedHashes).toHaveLength(count)
      for (const source of [new AnvilBlobSource(anvil.rpcUrl), new BeaconBlobSource(anvil.rpcUrl)]) {
        const fetched = await source.getBlobs(request)
        expect(fetched.map((b) => Buffer.from(b).equals(blobs[fetched.indexOf(b)]!))).toEqual(blobs.map(() => true))
        // Asking in another order returns that order.
        const reversed = await source.getBlobs({ ...request, versionedHashes: [...request.versionedHashes].reverse() })
        expect(reversed.map((b, i) => Buffer.from(b).equals(blobs[count - 1 - i]!))).toEqual(blobs.map(() => true))
      }
    },
  )

  it('rejects a versioned hash the transaction does not carry, from both sources', async () => {
    const request = await sendAndMine(distinctBlobs(1, 11))
    const wrong = `0x01${request.versionedHashes[0]!.slice(4, 64)}ff` as Hex
    const bad = { ...request, versionedHashes: [wrong] }
    expect((await rejection(new AnvilBlobSource(anvil.rpcUrl).getBlobs(bad))).code).toBe('BLOB_HASH_MISMATCH')
    expect((await rejection(new BeaconBlobSource(anvil.rpcUrl).getBlobs(bad))).code).toBe('BLOB_NOT_FOUND')
    const unversioned = { ...request, versionedHashes: [`0x02${wrong.slice(4)}` as Hex] }
    expect((await rejection(new AnvilBlobSource(anvil.rpcUrl).getBlobs(unversioned))).code).toBe('INVALID_REQUEST')
  })

  it('reports a transaction anvil does not know as BLOB_NOT_FOUND', async () => {
    const request = await sendAndMine(distinctBlobs(1, 12))
    const unknown = { ...request, txHash: `0x${'22'.repeat(32)}` as Hex }
    expect((await rejection(new AnvilBlobSource(anvil.rpcUrl).getBlobs(unknown))).code).toBe('BLOB_NOT_FOUND')
  })

  it('falls back past an unreachable source, and reports every failure when all fail', async () => {
    const request = await sendAndMine(distinctBlobs(1, 13))
    const dead = new BeaconBlobSource('http://127.0.0.1:9', { timeoutMs: 2_000 })
    const fetched = await new FallbackBlobSource([dead, new AnvilBlobSource(anvil.rpcUrl)]).getBlobs(request)
    expect(fetched).toHaveLength(1)
    const unknown = { ...request, txHash: `0x${'23'.repeat(32)}` as Hex, blockHash: `0x${'24'.repeat(32)}` as Hex }
    const error = await rejection(new FallbackBlobSource([dead, new AnvilBlobSource(anvil.rpcUrl)]).getBlobs(unknown))
    expect(error.code).toBe('ALL_SOURCES_FAILED')
    expect(error.details?.errors).toEqual([
      expect.objectContaining({ source: 'beacon', code: 'UNREACHABLE' }),
      expect.objectContaining({ source: 'anvil', code: 'BLOB_NOT_FOUND' }),
    ])
  })

  it('cannot send a blob that is not canonical (a field element above the BLS modulus)', async () => {
    const sending = sendBlobTransaction({
      rpcUrl: anvil.rpcUrl,
      account: SENDER,
      to: RECIPIENT,
      blobs: [nonCanonicalBlob()],
    })
    await expect(sending).rejects.toMatchObject({ name: 'BlobTransactionError', code: 'INVALID_BLOB' })
  })

  it('carries random canonical blobs that the batch decoder turns into an error result, not a crash', async () => {
    const random = new Uint8Array(131_072)
    for (let i = 0; i < random.length; i++) random[i] = i % 32 === 0 ? 0 : (i * 2_654_435_761) >>> 24
    const request = await sendAndMine([random])
    const [fetched] = await new AnvilBlobSource(anvil.rpcUrl).getBlobs(request)
    const result = batchFromBlobs([fetched!])
    expect(result.ok).toBe(false)
  })

  it('round-trips a batch: batchToBlobs → sendBlobTransaction → AnvilBlobSource/BeaconBlobSource → batchFromBlobs', async () => {
    const coinbase = Uint8Array.from(Buffer.from(RECIPIENT.slice(2), 'hex'))
    const manifest = {
      blocks: Array.from({ length: 20 }, (_, i) => ({
        timestamp: 1_750_000_000n + 2n * BigInt(i),
        gasLimit: 30_000_000n,
        coinbase,
        anchorBlockNumber: 7n,
        transactions: Array.from({ length: 30 }, (_, t) => Uint8Array.from([2, i, t, ...new Uint8Array(100).fill(t)])),
      })),
    }
    const blobs = batchToBlobs(manifest)
    // Through a viem wallet client this time, as a proposer holding one would send it.
    const walletClient = createWalletClient({ account: privateKeyToAccount(SENDER), transport: http(anvil.rpcUrl) })
    const sent = await sendBlobTransaction({ walletClient, to: RECIPIENT, data: '0xca1e', blobs })
    expect((await client.waitForTransactionReceipt({ hash: sent.hash })).status).toBe('success')
    const request = await blobRequestForTransaction(client, sent.hash)
    for (const source of [new AnvilBlobSource(anvil.rpcUrl), new BeaconBlobSource(anvil.rpcUrl)]) {
      expect(batchFromBlobs(await source.getBlobs(request))).toEqual({ ok: true, manifest })
    }
  })
})

describe('replacing a pending blob transaction', () => {
  let pending: AnvilInstance
  beforeAll(async () => {
    pending = await startAnvil({ args: ['--no-mining'] })
  })
  afterAll(async () => {
    await pending?.stop()
  })

  it('replaces it with bumpFees (+100% on all three caps) and only the replacement is mined', async () => {
    const pendingClient = createPublicClient({ transport: http(pending.rpcUrl) })
    const [blob] = distinctBlobs(1, 21)
    const first = await sendBlobTransaction({ rpcUrl: pending.rpcUrl, account: SENDER, to: RECIPIENT, blobs: [blob!] })
    const fees = bumpFees(first.fees)
    expect(fees.maxFeePerBlobGas).toBe(first.fees.maxFeePerBlobGas * 2n)
    const second = await sendBlobTransaction({
      rpcUrl: pending.rpcUrl,
      account: SENDER,
      to: RECIPIENT,
      blobs: [blob!],
      nonce: first.nonce,
      fees,
    })
    expect(second.hash).not.toBe(first.hash)
    await pendingClient.request({ method: 'evm_mine' as never, params: [] as never })
    const receipt = await pendingClient.getTransactionReceipt({ hash: second.hash })
    expect(receipt.status).toBe('success')
    await expect(pendingClient.getTransactionReceipt({ hash: first.hash })).rejects.toThrow(/could not be found/)
    const request = await blobRequestForTransaction(pendingClient, second.hash)
    const [fetched] = await new AnvilBlobSource(pending.rpcUrl).getBlobs(request)
    expect(Buffer.from(fetched!).equals(blob!)).toBe(true)
  })
})
