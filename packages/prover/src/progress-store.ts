import type { Transition } from '@cairn/contracts'
import type { Hex } from 'viem'
import { ProgressFile } from '@cairn/l1'

/** One signed transaction (a replacement adds another with the same nonce). */
export interface ProverAttempt {
  hash: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  /** L1 head when it was sent; `--resubmit-after-blocks` counts from here. */
  sentAtL1Block: bigint
}

/** The one transaction the prover is responsible for until it has `--confirmations` L1 blocks. */
export interface ProverInFlight {
  kind: 'register' | 'prove' | 'verify'
  nonce: number
  gas: bigint
  data: Hex
  to: Hex
  /** For `prove`: the batch and the transition the proof attests. */
  batchId?: bigint
  transition?: Transition
  attempts: ProverAttempt[]
}

export interface ProverProgress {
  inFlight?: ProverInFlight
  /** The last proof of this prover that reached its confirmations (informational: L1 stays the source of truth). */
  lastProven?: { batchId: bigint; txHash: Hex; l1Block: bigint }
}

/**
 * The prover's progress in `--datadir`: the transaction it sent and has not yet seen confirmed.
 * Written atomically (temp file, fsync, rename) before the transaction is broadcast, so a restart
 * follows it instead of sending a second proof. A lock file keeps a second process out.
 */
export class ProverProgressStore extends ProgressFile<ProverProgress> {
  static open(dir: string): ProverProgressStore {
    return new ProverProgressStore(dir, ProgressFile.read<ProverProgress>(dir, 'prover'))
  }
}
