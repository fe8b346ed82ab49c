import type { Hex } from '@cairn/primitives'
import { describe, expect, it } from 'vitest'
import { blobRequestForTransaction } from './blob-source.ts'

const TX = `0x${'ab'.repeat(32)}` as Hex
const BLOCK = `0x${'cd'.repeat(32)}` as Hex
const VERSIONED = [`0x01${'ee'.repeat(31)}`] as Hex[]

/** An L1 RPC whose transaction lookup and receipt disagree, as a node's pool and chain can for a moment. */
function rpc(listed: bigint | null, receipt: bigint | undefined) {
  return {
    getTransaction: async () => ({ blockNumber: listed, blobVersionedHashes: VERSIONED }),
    getTransactionReceipt: async () => {
      if (receipt === undefined) throw new Error(`Transaction receipt with hash "${TX}" could not be found.`)
      return { blockNumber: receipt }
    },
    getBlock: async ({ blockNumber }: { blockNumber: bigint }) => ({ hash: BLOCK, timestamp: 1_000n + blockNumber }),
  }
}

describe('blobRequestForTransaction', () => {
  it('reads the block of a mined transaction', async () => {
    expect(await blobRequestForTransaction(rpc(7n, 7n), TX)).toEqual({
      blockNumber: 7n,
      blockHash: BLOCK,
      blockTimestamp: 1_007n,
      txHash: TX,
      versionedHashes: VERSIONED,
    })
  })

  it('takes the block from the receipt when the node still lists the mined transaction as pending', async () => {
    const request = await blobRequestForTransaction(rpc(null, 9n), TX)
    expect(request.blockNumber).toBe(9n)
    expect(request.blockTimestamp).toBe(1_009n)
  })

  it('says a transaction with no receipt is not mined yet', async () => {
    await expect(blobRequestForTransaction(rpc(null, undefined), TX)).rejects.toMatchObject({
      name: 'BlobSourceError',
      code: 'BLOB_NOT_FOUND',
      message: `Transaction ${TX} is not mined yet.`,
    })
  })
})
