import { Counter, Gauge, type Registry } from '@cairn/telemetry'

/** The proposer's Prometheus metrics (`cairn_proposer_*`). */
export class ProposerMetrics {
  readonly lastProposedBlock: Gauge
  readonly l2Head: Gauge
  readonly batches: Counter
  readonly blocks: Counter
  readonly blobs: Counter
  readonly gasUsed: Counter
  readonly blobGasUsed: Counter
  readonly feesWei: Counter<'kind'>
  readonly failures: Counter<'reason'>
  readonly resubmissions: Counter
  readonly reorgs: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.lastProposedBlock = new Gauge({
      name: 'cairn_proposer_last_proposed_block',
      help: 'Last L2 block proposed on L1 (Inbox lastBlockId at the L1 head)',
      registers,
    })
    this.l2Head = new Gauge({ name: 'cairn_proposer_l2_head', help: 'Latest block of the L2 node', registers })
    this.batches = new Counter({
      name: 'cairn_proposer_batches_total',
      help: 'Batches proposed by this proposer (counted at their confirmations)',
      registers,
    })
    this.blocks = new Counter({ name: 'cairn_proposer_blocks_total', help: 'L2 blocks in those batches', registers })
    this.blobs = new Counter({ name: 'cairn_proposer_blobs_total', help: 'Blobs in those batches', registers })
    this.gasUsed = new Counter({ name: 'cairn_proposer_l1_gas_used_total', help: 'L1 execution gas used', registers })
    this.blobGasUsed = new Counter({
      name: 'cairn_proposer_l1_blob_gas_used_total',
      help: 'L1 blob gas used',
      registers,
    })
    this.feesWei = new Counter({
      name: 'cairn_proposer_l1_fees_wei_total',
      help: 'L1 fees paid in wei, by kind (execution, blob); includes reverted proposals',
      labelNames: ['kind'],
      registers,
    })
    this.failures = new Counter({
      name: 'cairn_proposer_failures_total',
      help: 'Rounds that did not propose because of an error, by reason (revert error name, rpc, send, ...)',
      labelNames: ['reason'],
      registers,
    })
    this.resubmissions = new Counter({
      name: 'cairn_proposer_resubmissions_total',
      help: 'Proposals sent again with the same nonce (stuck, dropped or reorged out)',
      registers,
    })
    this.reorgs = new Counter({
      name: 'cairn_proposer_reorgs_total',
      help: 'Proposals seen mined and then no longer on the canonical L1 chain',
      registers,
    })
  }
}
