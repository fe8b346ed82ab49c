import { PollingLoop } from '@cairn/primitives'
import { rpcFailureReason } from './revert.ts'

/** The logger an L1 transaction sender hands in (pino's satisfies it). */
export interface SenderLogger {
  info(context: object, message: string): void
  warn(context: object, message: string): void
}

/** A counter labelled by reason, such as `cairn_proposer_failures_total` (prom-client's satisfies it). */
export interface FailureCounter {
  inc(labels: { reason: string }): void
}

export interface SenderLoopOptions {
  /** Names the sender in the log: "proposer", "prover". */
  role: string
  logger: SenderLogger
  failures: FailureCounter
  intervalMs: number
  round: () => Promise<void>
}

/**
 * The polling loop of an L1 transaction sender (proposer, prover): a failed round is counted under
 * the RPC it failed on (`l1_rpc`, `l2_rpc`), logged, and retried with the loop's backoff.
 */
export function createSenderLoop(options: SenderLoopOptions): PollingLoop {
  const { role, logger, failures } = options
  return new PollingLoop({
    intervalMs: options.intervalMs,
    round: options.round,
    onError: (error, retryInMs) => {
      const reason = rpcFailureReason(error)
      failures.inc({ reason })
      logger.warn({ err: error, reason, retryInMs }, `${role} round failed; retrying`)
    },
  })
}
