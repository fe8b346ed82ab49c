import { Counter, Gauge, Histogram, type Registry } from '@cairn/telemetry'
import type { TopicKind } from './topics.ts'

export type ValidationResult = 'accept' | 'reject' | 'ignore'

/** The service's Prometheus series; topic labels are the short kind (`tx`, `preconf-block`). */
export class P2PMetrics {
  readonly peers: Gauge
  readonly bannedPeers: Gauge
  readonly messagesReceived: Counter<'topic'>
  readonly messagesPublished: Counter<'topic'>
  readonly validationResults: Counter<'topic' | 'result' | 'reason'>
  readonly gossipTxs: Counter<'result'>
  readonly blockArrivalLatency: Histogram
  readonly reqRespRequests: Counter<'protocol' | 'direction' | 'result'>
  readonly peerPenalties: Counter<'offence'>
  readonly bans: Counter
  readonly txsReannounced: Counter
  readonly announcedTxHashes: Counter<'result'>
  readonly fetchedTxs: Counter<'result'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.peers = new Gauge({ name: 'cairn_p2p_peers', help: 'Connected peers', registers })
    this.bannedPeers = new Gauge({ name: 'cairn_p2p_banned_peers', help: 'Peers currently banned', registers })
    this.messagesReceived = new Counter({
      name: 'cairn_p2p_messages_received_total',
      help: 'Gossip messages received (first copy, before validation), per topic',
      labelNames: ['topic'],
      registers,
    })
    this.messagesPublished = new Counter({
      name: 'cairn_p2p_messages_published_total',
      help: 'Gossip messages this node published, per topic',
      labelNames: ['topic'],
      registers,
    })
    this.validationResults = new Counter({
      name: 'cairn_p2p_validation_results_total',
      help: 'Gossip validation outcomes per topic; reason says which check decided',
      labelNames: ['topic', 'result', 'reason'],
      registers,
    })
    this.gossipTxs = new Counter({
      name: 'cairn_p2p_gossip_txs_total',
      help: 'Transactions in gossiped batches (first copy of each batch), by validation result (accept, reject, ignore) or shed (the batch was dropped unvalidated under load)',
      labelNames: ['result'],
      registers,
    })
    this.blockArrivalLatency = new Histogram({
      name: 'cairn_p2p_block_arrival_latency_seconds',
      help: 'Time from a preconfirmed block timestamp to its arrival here (timestamps have 1 s resolution)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30],
      registers,
    })
    this.reqRespRequests = new Counter({
      name: 'cairn_p2p_reqresp_requests_total',
      help: 'Request/response exchanges by protocol, direction (inbound: served; outbound: asked) and result',
      labelNames: ['protocol', 'direction', 'result'],
      registers,
    })
    this.peerPenalties = new Counter({
      name: 'cairn_p2p_peer_penalties_total',
      help: 'Score penalties applied to peers, by offence',
      labelNames: ['offence'],
      registers,
    })
    this.bans = new Counter({ name: 'cairn_p2p_bans_total', help: 'Peers banned for misbehaviour', registers })
    this.txsReannounced = new Counter({
      name: 'cairn_p2p_txs_reannounced_total',
      help: 'Hashes of transactions pending here past the re-announce age that this node announced again (once per round, whatever the number of peers)',
      registers,
    })
    this.announcedTxHashes = new Counter({
      name: 'cairn_p2p_announced_tx_hashes_total',
      help: 'Transaction hashes peers announced to this node, by what it did: known (had it), fetch (asked for it), busy (fetches at their limit or the hash fetched recently)',
      labelNames: ['result'],
      registers,
    })
    this.fetchedTxs = new Counter({
      name: 'cairn_p2p_fetched_txs_total',
      help: 'Transactions fetched from a peer after its announcement, by validation result (accept, reject, ignore) or missing (the peer no longer had it)',
      labelNames: ['result'],
      registers,
    })
  }

  validation(topic: TopicKind, result: ValidationResult, reason: string): void {
    this.validationResults.inc({ topic, result, reason })
  }
}
