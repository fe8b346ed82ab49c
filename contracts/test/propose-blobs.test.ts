import { type AnvilInstance, startAnvil } from '@cairn/anvil'
import { createWalletClient, fromBlobs, type Hex, http, keccak256, parseGwei, toBlobs, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batchMetaHash, forcedInclusionStoreAbi, inboxAbi } from '../src-ts/index.ts'
import { loadKzg, proposeWithBlobs, proveWithTee } from './helpers/batches.ts'
import { deployTestSuite, GENESIS_BLOCK_HASH } from './helpers/suite.ts'

describe('Inbox on anvil with real blobs', () => {
  let anvil: AnvilInstance
  let suite: Awaited<ReturnType<typeof deployTestSuite>>

  beforeAll(async () => {
    anvil = await startAnvil({ hardfork: 'prague' })
    suite = await deployTestSuite(anvil.rpcUrl)
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('proposes a batch carried in blobs and emits the metadata derivation needs', async () => {
    const payload = toHex(new TextEncoder().encode('cairn batch '.repeat(12_000))) // ~144 kB: two blobs
    const { hash, receipt, blobs, meta, metaHash } = await proposeWithBlobs(suite, payload)
    expect(blobs.length).toBe(2)

    const tx = await suite.publicClient.getTransaction({ hash })
    expect(tx.type).toBe('eip4844')
    expect(meta.blobHashes).toEqual(tx.blobVersionedHashes)
    expect(meta.batchId).toBe(1n)
    expect(meta.proposer).toBe(suite.proposer.address)
    expect(meta.l1OriginNumber).toBe(receipt.blockNumber - 1n)
    const origin = await suite.publicClient.getBlock({ blockNumber: receipt.blockNumber - 1n })
    expect(meta.l1OriginHash).toBe(origin.hash)
    expect(meta.blocks).toHaveLength(2)
    expect(batchMetaHash(meta)).toBe(metaHash)
    const stored = await suite.publicClient.readContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'getBatchMetaHash',
      args: [1n],
    })
    expect(stored).toBe(metaHash)

    // The blob data comes back from anvil byte for byte.
    const fetched = (await suite.publicClient.request({
      method: 'anvil_getBlobsByTransactionHash' as 'eth_chainId',
      params: [hash] as never,
    })) as unknown as Hex[]
    expect(fromBlobs({ blobs: fetched, to: 'hex' })).toBe(payload)
  })

  it('verifies the batch with a TEE proof over the TypeScript public input hash', async () => {
    const metaHash = await suite.publicClient.readContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'getBatchMetaHash',
      args: [1n],
    })
    const transition = {
      parentHash: GENESIS_BLOCK_HASH,
      blockHash: keccak256(toHex('l2 block 2')),
      stateRoot: keccak256(toHex('l2 state 2')),
    }
    await proveWithTee(suite, [{ batchId: 1n, metaHash, transition }])
    const state = await suite.publicClient.readContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'getState',
    })
    expect(state.lastVerifiedBatchId).toBe(1n)
    const checkpoint = await suite.publicClient.readContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'getCheckpoint',
      args: [2n],
    })
    expect(checkpoint).toEqual({ blockHash: transition.blockHash, stateRoot: transition.stateRoot })
  })

  it('rejects a proposal that skips a due blob forced inclusion and accepts one that consumes it', async () => {
    const user = createWalletClient({
      account: privateKeyToAccount('0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'),
      chain: suite.chain,
      transport: http(anvil.rpcUrl),
    })
    const storeHash = await user.writeContract({
      address: suite.addresses.store,
      abi: forcedInclusionStoreAbi,
      functionName: 'storeForcedInclusion',
      args: ['0x'],
      value: 10n ** 15n,
      blobs: toBlobs({ data: toHex('censored transactions') }),
      kzg: loadKzg(),
      maxFeePerBlobGas: parseGwei('30'),
    })
    await suite.wait(storeHash)
    const storeTx = await suite.publicClient.getTransaction({ hash: storeHash })
    await suite.publicClient.request({ method: 'anvil_mine' as 'eth_chainId', params: ['0x10'] as never })

    await expect(proposeWithBlobs(suite, toHex('batch without it'))).rejects.toThrow(/ForcedInclusionDue\(uint64 id\)/)
    const { meta, metaHash } = await proposeWithBlobs(suite, toHex('batch with it'), 1, 1)
    expect(batchMetaHash(meta)).toBe(metaHash)
    expect(meta.forcedInclusions).toHaveLength(1)
    expect(meta.forcedInclusions[0]!.blobHash).toBe(storeTx.blobVersionedHashes![0])
    expect(meta.forcedInclusions[0]!.calldataHash).toBe(`0x${'00'.repeat(32)}`)
  })
})
