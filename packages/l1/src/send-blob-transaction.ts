import type { Hex } from '@cairn/primitives'
import {
  type Account,
  bytesToHex,
  createPublicClient,
  http,
  type LocalAccount,
  type PublicClient,
  publicActions,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { BlobTransactionError } from './errors.ts'
import { BLOB_SIZE, commitmentToVersionedHash, loadKzg } from './kzg.ts'

/** The three fee caps of a blob (type 3) transaction, in wei. */
export type BlobTxFees = {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  maxFeePerBlobGas: bigint
}

/** Most blobs one transaction may carry (EIP-7594 caps it at 6). */
export const MAX_BLOBS_PER_TRANSACTION = 6

/**
 * Fee bump a replacement needs. geth's blob pool (`--blobpool.pricebump`, default 100) and reth
 * (`REPLACE_BLOB_PRICE_BUMP`) both require +100% on all three caps for a blob transaction, against
 * +10% for other types; a smaller bump is refused as "replacement transaction underpriced".
 */
export const BLOB_REPLACEMENT_BUMP_PERCENT = 100

export type FeeEstimateOptions = {
  /** Extra over the current blob base fee (default 100%: 2×, about six full blocks of blob fee growth). */
  blobFeeHeadroomPercent?: number
  /** Multiplier on the current base fee in `maxFeePerGas` (default 2, the usual wallet choice). */
  baseFeeMultiplier?: bigint
}

/**
 * Fee caps for a blob transaction from the chain's current state: `maxFeePerBlobGas` from
 * `eth_blobBaseFee` plus headroom, `maxPriorityFeePerGas` from `eth_maxPriorityFeePerGas`, and
 * `maxFeePerGas = baseFee × 2 + priority fee`.
 */
export async function estimateBlobTxFees(client: PublicClient, options: FeeEstimateOptions = {}): Promise<BlobTxFees> {
  const headroom = BigInt(Math.round((options.blobFeeHeadroomPercent ?? 100) * 100))
  const [block, priority, blobBaseFee] = await Promise.all([
    client.getBlock({ blockTag: 'latest' }),
    client.estimateMaxPriorityFeePerGas(),
    client.getBlobBaseFee(),
  ])
  const baseFee = block.baseFeePerGas ?? 0n
  return {
    maxPriorityFeePerGas: priority,
    maxFeePerGas: baseFee * (options.baseFeeMultiplier ?? 2n) + priority,
    maxFeePerBlobGas: ceilDiv(blobBaseFee * (10_000n + headroom), 10_000n),
  }
}

/**
 * Fees for a replacement: each cap raised by `percent` (default {@link BLOB_REPLACEMENT_BUMP_PERCENT}),
 * rounded up and at least 1 wei higher, and never below `atLeast` (pass a fresh estimate so a
 * replacement also keeps up with the market).
 */
export function bumpFees(previous: BlobTxFees, options: { percent?: number; atLeast?: BlobTxFees } = {}): BlobTxFees {
  const percent = options.percent ?? BLOB_REPLACEMENT_BUMP_PERCENT
  const bump = (value: bigint, floor: bigint | undefined) => bumpFee(value, percent, floor)
  return {
    maxFeePerGas: bump(previous.maxFeePerGas, options.atLeast?.maxFeePerGas),
    maxPriorityFeePerGas: bump(previous.maxPriorityFeePerGas, options.atLeast?.maxPriorityFeePerGas),
    maxFeePerBlobGas: bump(previous.maxFeePerBlobGas, options.atLeast?.maxFeePerBlobGas),
  }
}

/**
 * One fee field of a replacement: raised by `percent` (rounded up, and by at least 1 wei, as L1 nodes
 * refuse a replacement that is not strictly higher), and to `floor` (the market now) when that is more.
 */
export function bumpFee(value: bigint, percent: number, floor?: bigint): bigint {
  const raised = ceilDiv(value * BigInt(Math.round((100 + percent) * 100)), 10_000n)
  const strictlyHigher = raised > value ? raised : value + 1n
  return floor !== undefined && floor > strictlyHigher ? floor : strictlyHigher
}

export type SendBlobTransactionOptions = {
  /** A wallet client whose account is local (it signs the sidecar-carrying transaction itself). */
  walletClient?: WalletClient<Transport, undefined | import('viem').Chain, Account>
  /** For reads (nonce, fees, gas); derived from `walletClient` or `rpcUrl` when omitted. */
  publicClient?: PublicClient
  /** With `account`, instead of a wallet client. */
  rpcUrl?: string
  /** A local account or a private key; required unless `walletClient` carries one. */
  account?: LocalAccount | Hex
  to: Hex
  data?: Hex
  value?: bigint
  /** 1 to {@link MAX_BLOBS_PER_TRANSACTION} blobs of 131,072 bytes (e.g. from `@cairn/batch`'s `batchToBlobs`). */
  blobs: Uint8Array[]
  /** Default: the account's pending nonce. Set it to replace a stuck transaction. */
  nonce?: number
  /** Default: `eth_estimateGas` with the blob versioned hashes in the call, so `blobhash` works. */
  gas?: bigint
  /** Caps to use instead of the estimate; any one omitted is estimated. */
  fees?: Partial<BlobTxFees>
} & FeeEstimateOptions

export type SentBlobTransaction = {
  hash: Hex
  from: Hex
  nonce: number
  gas: bigint
  fees: BlobTxFees
  /** In blob order; what `blobhash(i)` returns on L1 and what a blob source is asked for. */
  versionedHashes: Hex[]
}

/**
 * Signs and sends a blob transaction carrying `blobs`, computing KZG commitments and proofs with
 * c-kzg (trusted setup loaded once per process). Resolves once the node accepted it (not mined).
 * Throws {@link BlobTransactionError}: `INVALID_OPTIONS`, `INVALID_BLOB`, or `REJECTED` with the node's reason.
 */
export async function sendBlobTransaction(options: SendBlobTransactionOptions): Promise<SentBlobTransaction> {
  const { account, client } = resolveClients(options)
  if (options.blobs.length === 0 || options.blobs.length > MAX_BLOBS_PER_TRANSACTION) {
    throw new BlobTransactionError(
      'INVALID_OPTIONS',
      `A blob transaction carries 1 to ${MAX_BLOBS_PER_TRANSACTION} blobs, not ${options.blobs.length}.`,
    )
  }
  const sidecars = commitBlobs(options.blobs)
  const versionedHashes = sidecars.map((s) => s.versionedHash)

  const [chainId, nonce, estimated] = await Promise.all([
    client.getChainId(),
    options.nonce ?? client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
    options.fees?.maxFeePerGas !== undefined &&
    options.fees.maxPriorityFeePerGas !== undefined &&
    options.fees.maxFeePerBlobGas !== undefined
      ? undefined
      : estimateBlobTxFees(client, options),
  ])
  const fees: BlobTxFees = {
    maxFeePerGas: options.fees?.maxFeePerGas ?? estimated!.maxFeePerGas,
    maxPriorityFeePerGas: options.fees?.maxPriorityFeePerGas ?? estimated!.maxPriorityFeePerGas,
    maxFeePerBlobGas: options.fees?.maxFeePerBlobGas ?? estimated!.maxFeePerBlobGas,
  }
  const call = { to: options.to, data: options.data ?? '0x', value: options.value ?? 0n }
  try {
    const gas =
      options.gas ??
      (await client.estimateGas({
        account: account.address,
        ...call,
        blobVersionedHashes: versionedHashes,
        maxFeePerBlobGas: fees.maxFeePerBlobGas,
      }))
    const serializedTransaction = await account.signTransaction({
      type: 'eip4844',
      chainId,
      nonce,
      gas,
      ...call,
      ...fees,
      blobVersionedHashes: versionedHashes,
      sidecars: sidecars.map(({ blob, commitment, proof }) => ({ blob, commitment, proof })),
    })
    const hash = await client.sendRawTransaction({ serializedTransaction })
    return { hash, from: account.address, nonce, gas, fees, versionedHashes }
  } catch (cause) {
    throw new BlobTransactionError(
      'REJECTED',
      `The node refused the blob transaction (nonce ${nonce}): ${(cause as { shortMessage?: string; message?: string }).shortMessage ?? String(cause)}`,
      { cause, details: { nonce, from: account.address, fees, versionedHashes } },
    )
  }
}

function resolveClients(options: SendBlobTransactionOptions): { account: LocalAccount; client: PublicClient } {
  const given = options.account ?? options.walletClient?.account
  const account = typeof given === 'string' ? privateKeyToAccount(given) : given
  if (account === undefined || account.type !== 'local') {
    throw new BlobTransactionError(
      'INVALID_OPTIONS',
      'sendBlobTransaction needs a local account (a private key or viem LocalAccount): nodes do not sign blob transactions.',
    )
  }
  const client =
    options.publicClient ??
    (options.walletClient?.extend(publicActions) as PublicClient | undefined) ??
    (options.rpcUrl === undefined ? undefined : createPublicClient({ transport: http(options.rpcUrl) }))
  if (client === undefined) {
    throw new BlobTransactionError(
      'INVALID_OPTIONS',
      'sendBlobTransaction needs a walletClient, a publicClient or an rpcUrl.',
    )
  }
  return { account: account as LocalAccount, client }
}

type Sidecar = { blob: Hex; commitment: Hex; proof: Hex; versionedHash: Hex }

function commitBlobs(blobs: Uint8Array[]): Sidecar[] {
  const kzg = loadKzg()
  return blobs.map((blob, index) => {
    if (blob.length !== BLOB_SIZE) {
      throw new BlobTransactionError('INVALID_BLOB', `Blob ${index} has ${blob.length} bytes, not ${BLOB_SIZE}.`)
    }
    try {
      const commitment = kzg.blobToKzgCommitment(blob)
      const proof = kzg.computeBlobKzgProof(blob, commitment)
      return {
        blob: bytesToHex(blob),
        commitment: bytesToHex(commitment),
        proof: bytesToHex(proof),
        versionedHash: commitmentToVersionedHash(commitment),
      }
    } catch (cause) {
      throw new BlobTransactionError(
        'INVALID_BLOB',
        `Blob ${index} is not canonical: a field element is ≥ the BLS modulus, so it cannot be committed to.`,
        { cause, details: { index } },
      )
    }
  })
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}
