import {
  type Address,
  type BlobSidecars,
  blobsToCommitments,
  blobsToProofs,
  bytesToHex,
  commitmentsToVersionedHashes,
  type Hex,
  keccak256,
  serializeTransaction,
  toBlobSidecars,
  type TransactionSerializableEIP4844,
} from 'viem'
import { sign } from 'viem/accounts'
import { viemKzg } from '@cairn/l1'

/** Blobs with their commitments, proofs and versioned hashes, computed once per batch and reused by replacements. */
export interface BlobBundle {
  blobs: Hex[]
  versionedHashes: readonly Hex[]
  sidecars: BlobSidecars<Hex>
}

export function bundleBlobs(blobs: readonly Uint8Array[]): BlobBundle {
  const k = viemKzg()
  const hexBlobs: Hex[] = blobs.map((b) => bytesToHex(b))
  const commitments = blobsToCommitments({ blobs: hexBlobs, kzg: k, to: 'hex' })
  const proofs = blobsToProofs({ blobs: hexBlobs, commitments, kzg: k, to: 'hex' })
  return {
    blobs: hexBlobs,
    versionedHashes: commitmentsToVersionedHashes({ commitments }),
    sidecars: toBlobSidecars({ blobs: hexBlobs, commitments, proofs, to: 'hex' }),
  }
}

export interface BlobTxFields {
  chainId: number
  nonce: number
  to: Address
  data: Hex
  gas: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  maxFeePerBlobGas: bigint
}

/**
 * Signs a type-3 transaction locally. Returns the network form (with the blob sidecar) to broadcast and
 * the transaction hash, known before broadcasting so it can be written to the datadir first.
 */
export async function signBlobTransaction(
  privateKey: Hex,
  fields: BlobTxFields,
  bundle: BlobBundle,
): Promise<{ raw: Hex; hash: Hex }> {
  const tx: TransactionSerializableEIP4844 = {
    type: 'eip4844',
    ...fields,
    blobVersionedHashes: bundle.versionedHashes,
  }
  const signature = await sign({ hash: keccak256(serializeTransaction(tx)), privateKey })
  const hash = keccak256(serializeTransaction(tx, signature))
  const raw = serializeTransaction({ ...tx, sidecars: bundle.sidecars }, signature)
  return { raw, hash }
}
