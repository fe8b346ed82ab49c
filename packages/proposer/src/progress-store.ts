import type { Hex } from 'viem'
import { ProgressFile } from '@cairn/l1'

/** One signed transaction sent for a proposal (a replacement adds another, same nonce). */
export interface Attempt {
  hash: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  maxFeePerBlobGas: bigint
  /** L1 head when it was sent; `--resubmit-after-blocks` counts from here. */
  sentAtL1Block: bigint
}

/** The proposal the proposer is responsible for until it has `--confirmations` L1 blocks. */
export interface InFlight {
  nonce: number
  firstBlock: bigint
  lastBlock: bigint
  numBlobs: number
  parentMetaHash: Hex
  attempts: Attempt[]
}

export interface ProposerProgress {
  inFlight?: InFlight
  /** The last proposal that reached its confirmations (informational: L1 stays the source of truth). */
  lastConfirmed?: { batchId: bigint; firstBlock: bigint; lastBlock: bigint; txHash: Hex; l1Block: bigint }
}

/**
 * The proposer's own progress in `--datadir`: what it sent and not yet saw confirmed. Written
 * atomically (temp file, fsync, rename) before a transaction is broadcast, so a restart always knows
 * the nonce and hashes it may have in the L1 mempool. A lock file keeps a second process out.
 */
export class ProgressStore extends ProgressFile<ProposerProgress> {
  static open(dir: string): ProgressStore {
    return new ProgressStore(dir, ProgressFile.read<ProposerProgress>(dir, 'proposer'))
  }
}
