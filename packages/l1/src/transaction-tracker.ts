import type { Abi, Address, Hex, PublicClient, TransactionReceipt } from 'viem'
import { replayRevertName } from './revert.ts'
import type { SenderLogger } from './sender-loop.ts'

/** The transaction a sender is responsible for: one nonce, sent once and then replaced with higher fees. */
export interface InFlightTransaction {
  nonce: number
  /** Every signed version, oldest first. */
  attempts: readonly { hash: Hex; sentAtL1Block: bigint }[]
}

/** What the sender does with its transaction in flight after a round of {@link TransactionTracker.follow}. */
export type InFlightStatus =
  /** Nothing this round: not mined yet and not stuck, mined without its confirmations, or a used nonce not yet lasting. */
  | { kind: 'pending' }
  /** Mined on the canonical chain and `confirmations` deep. */
  | { kind: 'confirmed'; receipt: TransactionReceipt }
  /** Mined and reverted; `reason` is the error the replay names (or `'reverted'`). */
  | { kind: 'reverted'; receipt: TransactionReceipt; reason: string }
  /**
   * It can never land (`nonce_taken`: another transaction of the key used its nonce), or no node knows
   * it any more (`dropped`, when the sender forgets dropped transactions).
   */
  | { kind: 'lost'; reason: 'nonce_taken' | 'dropped'; latestNonce: number }
  /** To be signed again at `nonce` with higher fees: stuck for `resubmitAfterBlocks`, dropped, or behind a nonce gap. */
  | { kind: 'resend'; why: 'stuck' | 'dropped' | 'nonce_gap'; nonce: number; latestNonce: number }

export interface TransactionTrackerOptions {
  l1: PublicClient
  /** The sender's address, whose L1 nonce the transactions use. */
  address: Address
  confirmations: number
  resubmitAfterBlocks: number
  /** The errors a reverted transaction can name. */
  errorAbi: Abi
  /** A transaction no node knows (dropped, or a crash before it was broadcast): sent again, or forgotten so the sender decides afresh. */
  whenDropped: 'resend' | 'forget'
  /** When the L1 nonce is below the one in flight (an earlier transaction never landed), send again at the L1 nonce. */
  fillNonceGap: boolean
  logger: SenderLogger
  /** Counts transactions seen mined that a reorg took off the canonical chain. */
  reorgs: { inc(): void }
  /** The log lines, in the sender's words; `mined` (optional) is logged when a receipt appears, again after a reorg. */
  messages: { mined?: string; reorged: string }
}

/** Rounds and milliseconds a used nonce without a visible receipt must persist before the transaction counts as lost. */
const NONCE_TAKEN_ROUNDS = 3
const NONCE_TAKEN_MS = 2_000

/**
 * Follows the one L1 transaction a sender has in flight, round after round: finds the receipt of any of
 * its attempts on the canonical chain and waits for its confirmations, notices when a reorg takes a
 * mined one away, and tells a used nonce, a dropped transaction and a stuck one apart. It reads L1 and
 * remembers what it saw between rounds, until it reports the transaction confirmed or reverted; sending,
 * and what the transaction was for, stay with the sender.
 */
export class TransactionTracker {
  /** The receipt last seen on the canonical chain: to tell a reorg from a slow inclusion. */
  private seenMined: { hash: Hex; blockNumber: bigint } | undefined
  private nonceTakenSince: { nonce: number; rounds: number; at: number } | undefined

  constructor(private readonly options: TransactionTrackerOptions) {}

  async follow(inFlight: InFlightTransaction, head: bigint): Promise<InFlightStatus> {
    const { l1, logger } = this.options
    const receipt = await this.canonicalReceipt(inFlight)
    if (receipt !== undefined) {
      this.nonceTakenSince = undefined
      if (this.seenMined?.hash !== receipt.transactionHash || this.seenMined.blockNumber !== receipt.blockNumber) {
        this.seenMined = { hash: receipt.transactionHash, blockNumber: receipt.blockNumber }
        const { mined } = this.options.messages
        if (mined !== undefined) {
          logger.info({ txHash: receipt.transactionHash, l1Block: receipt.blockNumber, status: receipt.status }, mined)
        }
      }
      if (receipt.status === 'reverted') {
        this.seenMined = undefined
        const reason = await replayRevertName(l1, receipt, this.options.errorAbi).catch(() => 'reverted')
        return { kind: 'reverted', receipt, reason }
      }
      if (head - receipt.blockNumber + 1n < BigInt(this.options.confirmations)) return { kind: 'pending' }
      this.seenMined = undefined
      return { kind: 'confirmed', receipt }
    }

    if (this.seenMined !== undefined) {
      this.options.reorgs.inc()
      logger.warn({ txHash: this.seenMined.hash, l1Block: this.seenMined.blockNumber }, this.options.messages.reorged)
      this.seenMined = undefined
    }
    const latestNonce = await l1.getTransactionCount({ address: this.options.address, blockTag: 'latest' })
    if (latestNonce > inFlight.nonce) {
      // The nonce is used, but no receipt of ours is visible. Nodes can expose the new nonce before the
      // receipt (anvil does, for a few milliseconds), so only a lasting observation counts.
      const since = this.nonceTakenSince
      if (since === undefined || since.nonce !== inFlight.nonce) {
        this.nonceTakenSince = { nonce: inFlight.nonce, rounds: 1, at: Date.now() }
        return { kind: 'pending' }
      }
      since.rounds++
      if (since.rounds < NONCE_TAKEN_ROUNDS || Date.now() - since.at < NONCE_TAKEN_MS) return { kind: 'pending' }
      this.nonceTakenSince = undefined
      return { kind: 'lost', reason: 'nonce_taken', latestNonce }
    }

    if (this.options.fillNonceGap && latestNonce < inFlight.nonce) {
      return { kind: 'resend', why: 'nonce_gap', nonce: latestNonce, latestNonce }
    }
    if (!(await this.known(inFlight))) {
      if (this.options.whenDropped === 'forget') return { kind: 'lost', reason: 'dropped', latestNonce }
      return { kind: 'resend', why: 'dropped', nonce: inFlight.nonce, latestNonce }
    }
    const last = inFlight.attempts.at(-1)
    if (last !== undefined && head - last.sentAtL1Block < BigInt(this.options.resubmitAfterBlocks)) {
      return { kind: 'pending' }
    }
    return { kind: 'resend', why: 'stuck', nonce: inFlight.nonce, latestNonce }
  }

  /** The receipt of the newest attempt mined in a block that is still canonical. */
  private async canonicalReceipt(inFlight: InFlightTransaction): Promise<TransactionReceipt | undefined> {
    const { l1 } = this.options
    for (const attempt of [...inFlight.attempts].reverse()) {
      const found = await l1.getTransactionReceipt({ hash: attempt.hash }).catch(() => undefined)
      if (found === undefined) continue
      const canonical = await l1.getBlock({ blockNumber: found.blockNumber }).catch(() => undefined)
      if (canonical?.hash !== found.blockHash) continue // a receipt from a block that was reorged out
      return found
    }
    return undefined
  }

  /** Whether the L1 node still knows any attempt (in its mempool). */
  private async known(inFlight: InFlightTransaction): Promise<boolean> {
    for (const attempt of inFlight.attempts) {
      const tx = await this.options.l1.getTransaction({ hash: attempt.hash }).catch(() => undefined)
      if (tx !== undefined) return true
    }
    return false
  }
}
