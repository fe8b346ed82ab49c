import { Counter, Gauge, Histogram, type Registry } from '@cairn/telemetry'

/** The prover's Prometheus metrics (`cairn_prover_*`). */
export class ProverMetrics {
  readonly latestProvenBatch: Gauge
  readonly latestVerifiedBatch: Gauge
  readonly instanceExpiry: Gauge
  readonly proofSeconds: Histogram
  readonly proofs: Counter
  readonly failures: Counter<'reason'>
  readonly gasUsed: Counter
  readonly feesWei: Counter
  readonly resubmissions: Counter
  readonly reorgs: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.latestProvenBatch = new Gauge({
      name: 'cairn_prover_latest_proven_batch',
      help: 'Last batch whose proof by this prover reached its confirmations',
      registers,
    })
    this.latestVerifiedBatch = new Gauge({
      name: 'cairn_prover_latest_verified_batch',
      help: 'Inbox lastVerifiedBatchId at the L1 head',
      registers,
    })
    this.instanceExpiry = new Gauge({
      name: 'cairn_prover_instance_expiry_seconds',
      help: 'Unix time at which the TeeVerifier registration of the instance key expires (0: not registered)',
      registers,
    })
    this.proofSeconds = new Histogram({
      name: 'cairn_prover_proof_seconds',
      help: 'Time to prove one batch: witness fetch, stateless re-execution and signature',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    })
    this.proofs = new Counter({
      name: 'cairn_prover_proofs_total',
      help: 'Proofs by this prover that reached their confirmations',
      registers,
    })
    this.failures = new Counter({
      name: 'cairn_prover_failures_total',
      help: 'Rounds that did not prove because of an error, by reason (revert error name, witness error code, rpc, ...)',
      labelNames: ['reason'],
      registers,
    })
    this.gasUsed = new Counter({ name: 'cairn_prover_l1_gas_used_total', help: 'L1 gas used', registers })
    this.feesWei = new Counter({
      name: 'cairn_prover_l1_fees_wei_total',
      help: 'L1 fees paid in wei (includes reverted transactions)',
      registers,
    })
    this.resubmissions = new Counter({
      name: 'cairn_prover_resubmissions_total',
      help: 'Transactions sent again with the same nonce and higher fees',
      registers,
    })
    this.reorgs = new Counter({
      name: 'cairn_prover_reorgs_total',
      help: 'Transactions seen mined and then no longer on the canonical L1 chain',
      registers,
    })
  }
}
