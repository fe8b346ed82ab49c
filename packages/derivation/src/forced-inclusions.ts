import { RLP } from '@ethereumjs/rlp'
import { equalsBytes, hexToBytes } from '@ethereumjs/util'
import { type Address, type PublicClient, zeroHash } from 'viem'
import { forcedInclusionStoreAbi, inboxAbi } from '@cairn/contracts'
import { wasmKeccak256 as keccak256 } from '@cairn/executor'
import { CairnError } from '@cairn/primitives'
import type { BlobFetcher } from './pipeline.ts'

/** A consumed forced inclusion as a `BatchProposed` meta lists it (docs/contracts.md). */
export interface ForcedInclusionRef {
  id: bigint
  createdAtBlock: bigint
  blobHash: `0x${string}`
  calldataHash: `0x${string}`
}

export class ForcedInclusionError extends CairnError {
  override readonly name = 'ForcedInclusionError'
}

/**
 * Reads the transactions of consumed forced inclusions (docs/protocol.md, derivation rule 3). An
 * inclusion's `txList` is an RLP list of signed transactions, each as its raw bytes (a legacy one
 * may also be its RLP list), posted as `storeForcedInclusion` calldata or, when that is empty, as
 * the transaction's first blob (packed as a batch's blobs are). Like a batch's blobs, an inclusion
 * that cannot be read stops the step to be retried: it is never skipped unseen. One whose bytes do
 * not match its hash, or do not decode, adds no transaction.
 */
export class ForcedInclusionReader {
  private store: Address | undefined

  constructor(
    private readonly options: {
      l1: PublicClient
      inbox: Address
      blobs: BlobFetcher
      /** The payload of a forced inclusion's blob (the batch codec's unpacking); undefined if it has none. */
      unpackBlob: (blobs: Uint8Array[]) => Uint8Array | undefined
    },
  ) {}

  /** The raw transactions of `inclusions`, oldest first, in the order derivation puts them. */
  async transactions(inclusions: readonly ForcedInclusionRef[]): Promise<Uint8Array[]> {
    const raws: Uint8Array[] = []
    for (const inclusion of inclusions) raws.push(...splitTxList(await this.txList(inclusion)))
    return raws
  }

  private async txList(inclusion: ForcedInclusionRef): Promise<Uint8Array | undefined> {
    const { l1 } = this.options
    this.store ??= (await l1.readContract({
      address: this.options.inbox,
      abi: inboxAbi,
      functionName: 'forcedInclusionStore',
    })) as Address
    const [stored] = await l1.getContractEvents({
      address: this.store,
      abi: forcedInclusionStoreAbi,
      eventName: 'ForcedInclusionStored',
      args: { id: inclusion.id },
      fromBlock: inclusion.createdAtBlock,
      toBlock: inclusion.createdAtBlock,
    })
    if (stored === undefined) {
      throw new ForcedInclusionError(
        'FORCED_INCLUSION_NOT_FOUND',
        `forced inclusion ${inclusion.id} is not in L1 block ${inclusion.createdAtBlock}: the L1 node does not serve its ForcedInclusionStored event yet`,
      )
    }
    if (inclusion.calldataHash !== zeroHash) {
      const txList = hexToBytes((stored.args as { txList: `0x${string}` }).txList)
      return equalsBytes(keccak256(txList), hexToBytes(inclusion.calldataHash)) ? txList : undefined
    }
    const block = await l1.getBlock({ blockNumber: inclusion.createdAtBlock })
    const blobs = await this.options.blobs.getBlobs({
      blockNumber: block.number,
      blockHash: block.hash,
      blockTimestamp: block.timestamp,
      txHash: stored.transactionHash!,
      versionedHashes: [inclusion.blobHash],
    })
    return this.options.unpackBlob(blobs)
  }
}

/** The raw transactions of a txList; none if it is not an RLP list. */
export function splitTxList(txList: Uint8Array | undefined): Uint8Array[] {
  if (txList === undefined) return []
  let items: unknown
  try {
    items = RLP.decode(txList)
  } catch {
    return []
  }
  if (!Array.isArray(items)) return []
  return items.map((item) => (item instanceof Uint8Array ? item : RLP.encode(item as never)))
}
