import { createHash } from 'node:crypto'
import { CairnError, bytesToHex, isCairnError } from '@cairn/primitives'
import { Registry } from '@cairn/telemetry'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import {
  type GossipSub,
  type GossipsubMessage,
  type SubscriptionChangeData,
  TopicValidatorResult,
  gossipsub,
} from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { readBlockHeader } from './block-rlp.ts'
import { P2PMetrics, type ValidationResult } from './metrics.ts'
import { loadOrCreateNodeKey } from './node-key.ts'
import { DEFAULT_SCORING, type Offence, PeerScoreBook, type ScoringConfig } from './peer-scoring.ts'
import { type SignedBlock, decodeSignedBlock, encodeSignedBlock } from './preconf.ts'
import { KeyedRateLimiter, type RateLimit } from './rate-limit.ts'
import {
  type BlockProvider,
  DEFAULT_REQRESP_LIMITS,
  MAX_REQUEST_BYTES,
  type ReqRespLimits,
  ResponseCode,
  type TxPoolView,
  decodeHashList,
  decodeHeadRequest,
  decodeRangeRequest,
  encodeHashList,
  encodeHeadRequest,
  encodeRangeRequest,
  errorFrame,
  frame,
  hashChecker,
  headChecker,
  isMalformedFrame,
  rangeChecker,
  readResponse,
  txChecker,
  writeFrames,
} from './req-resp.ts'
import {
  DEFAULT_SIZE_LIMITS,
  type ReqRespKind,
  type SizeLimits,
  TOPIC_KINDS,
  type TopicKind,
  dhtProtocol,
  protocolId,
  topicName,
} from './topics.ts'
import { DEFAULT_TX_BATCH, type TxBatchConfig, TxBatcher, decodeTxBatch, maxTxBatchBytes } from './tx-batch.ts'
import { DEFAULT_REANNOUNCE, type ReannounceConfig, ReannounceSchedule } from './tx-reannounce.ts'

/** The node's checks, run before a gossip message is delivered or forwarded. */
export interface P2PValidators {
  /**
   * Decode, signature, chain id, size, nonce/balance sanity. Answer `reject` only for what is wrong
   * everywhere (bad encoding, bad signature, wrong chain): it costs the sending peer score. Answer
   * `ignore` for what depends on local state (nonce already used, balance): peers may see a different
   * head, and ignoring neither forwards the message nor punishes the peer.
   */
  transaction(raw: Uint8Array, from: PeerId): Promise<ValidationResult>
  /** Signature (see `recoverPreconfSigner`) against the current preconfer, block sanity. Same rule for reject/ignore. */
  block(signed: SignedBlock, from: PeerId): Promise<ValidationResult>
}

/** A pino-compatible logger: the service only calls these four levels with `(object, message)`. */
export interface P2PLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface GossipRateLimits {
  /** Per peer, transactions received (default 1,000/s, burst 2,000). */
  tx: RateLimit
  /** Per peer, preconfirmed blocks received (default 20/s, burst 40). */
  block: RateLimit
  /** Per peer, req/resp requests served (default 10/s, burst 20). */
  requests: RateLimit
}

export const DEFAULT_RATE_LIMITS: GossipRateLimits = {
  tx: { ratePerSecond: 1_000, burst: 2_000 },
  block: { ratePerSecond: 20, burst: 40 },
  requests: { ratePerSecond: 10, burst: 20 },
}

export interface P2PServiceOptions {
  /** The node key lives at `<datadir>/p2p-key`. */
  datadir: string
  /** IP to listen on (default 127.0.0.1). */
  listenAddress?: string
  /** TCP port, 0 for any free port. */
  port: number
  /** Multiaddrs with a `/p2p/<peerId>` suffix, e.g. another node's `multiaddrs()[0]`. */
  bootnodes: string[]
  /** Most peers connected at once; inbound connections and dials past it are refused. */
  maxPeers: number
  chainId: bigint
  logger: P2PLogger
  metrics?: Registry
  validators: P2PValidators
  limits?: Partial<SizeLimits>
  reqResp?: Partial<ReqRespLimits>
  scoring?: Partial<ScoringConfig>
  rateLimits?: Partial<GossipRateLimits>
  /** A validator that has not answered in this long counts as `ignore` (default 5 s). */
  validationTimeoutMs?: number
  /** Messages awaiting the node's validators beyond this are ignored (default 4,096). */
  maxPendingValidations?: number
  /** How often the service tops up peers from the peer store and the DHT (default 2 s). */
  discoveryIntervalMs?: number
  /** Re-announcing pooled transactions to peers (see `ReannounceSchedule`); `ageMs: 0` turns it off. */
  reannounce?: Partial<ReannounceConfig>
  /** How gossiped transactions are gathered into batches (see `TxBatcher`). */
  txBatch?: Partial<TxBatchConfig>
}

export interface P2PPeer {
  peerId: string
  /** Remote address of the first open connection. */
  address: string | undefined
  direction: 'inbound' | 'outbound' | undefined
  /** The application score (penalties, decaying to 0); the peer is banned at `scoring.banThreshold`. */
  score: number
  /** Gossipsub's own score for the peer, which includes the application score. */
  gossipScore: number
}

type Services = { identify: Identify; ping: Ping; dht: KadDHT; pubsub: GossipSub }

/** The parts of the gossipsub router used here that its public interface type leaves out. */
interface GossipRouter extends GossipSub {
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: TopicValidatorResult): void
  getScore(peerId: string): number
}

type Handler<T> = (value: T, from: PeerId) => void

/** Fetches of announced transactions running at once; announcements beyond it wait for the next round. */
const MAX_TX_FETCHES_IN_FLIGHT = 4
/** A hash fetched (or being fetched) is not fetched again for this long, from any peer. */
const TX_FETCH_MEMORY_MS = 30_000
/** Most hashes remembered as recently fetched; announcements beyond it are skipped until the memory clears. */
const MAX_TX_FETCH_MEMORY = 65_536

const RESULT: Record<ValidationResult, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  reject: TopicValidatorResult.Reject,
  ignore: TopicValidatorResult.Ignore,
}

/** Message id: the first 20 bytes of sha256(data), so the same payload is one message whoever sends it. */
function messageId(msg: { data: Uint8Array }): Uint8Array {
  return createHash('sha256').update(msg.data).digest().subarray(0, 20)
}

/**
 * Cairn's peer-to-peer network: TCP + noise + yamux, discovery through bootnodes and a
 * chain-specific kad-dht, gossip of transactions and signed preconfirmed blocks with the node's
 * validators in front of forwarding, block sync by request/response, and peer scoring with bans.
 * One instance per node; the node supplies validators and a block provider and consumes the
 * handlers' output.
 */
export class P2PService {
  readonly peerId: PeerId
  readonly chainId: bigint
  private readonly metrics: P2PMetrics
  private readonly scores: PeerScoreBook
  private readonly limits: SizeLimits
  private readonly reqRespLimits: ReqRespLimits
  private readonly gossipLimiters: Record<TopicKind, KeyedRateLimiter>
  private readonly requestLimiter: KeyedRateLimiter
  private readonly topics: Record<TopicKind, string>
  private readonly topicKinds: Map<string, TopicKind>
  private readonly txHandlers = new Set<Handler<Uint8Array>>()
  private readonly blockHandlers = new Set<Handler<SignedBlock>>()
  private readonly blockPeerHandlers = new Set<(peer: PeerId) => void>()
  private readonly lastDialAttempt = new Map<string, number>()
  private readonly reannounceSchedule: ReannounceSchedule
  private readonly txBatch: TxBatchConfig
  private readonly txBatcher: TxBatcher
  /** Hashes of announced transactions fetched lately, with expiry: one fetch per hash, whoever announces it. */
  private readonly recentTxFetches = new Map<string, number>()
  private provider: BlockProvider | undefined
  private pool: TxPoolView | undefined
  private pendingValidations = 0
  private txFetchesInFlight = 0
  private announcing = false
  private timer: NodeJS.Timeout | undefined
  private reannounceTimer: NodeJS.Timeout | undefined
  private lastDhtWalk = 0
  private lastBootnodeDial = 0
  private running = false

  private constructor(
    private readonly node: Libp2p<Services>,
    private readonly options: P2PServiceOptions,
    scores: PeerScoreBook,
    limits: SizeLimits,
  ) {
    this.peerId = node.peerId
    this.chainId = options.chainId
    this.metrics = new P2PMetrics(options.metrics ?? new Registry())
    this.scores = scores
    this.limits = limits
    this.reqRespLimits = { ...DEFAULT_REQRESP_LIMITS, ...options.reqResp }
    const rates = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits }
    this.gossipLimiters = { tx: new KeyedRateLimiter(rates.tx), 'preconf-block': new KeyedRateLimiter(rates.block) }
    this.requestLimiter = new KeyedRateLimiter(rates.requests)
    this.topics = { tx: topicName(options.chainId, 'tx'), 'preconf-block': topicName(options.chainId, 'preconf-block') }
    this.topicKinds = new Map(TOPIC_KINDS.map((kind) => [this.topics[kind], kind]))
    this.reannounceSchedule = new ReannounceSchedule({ ...DEFAULT_REANNOUNCE, ...options.reannounce })
    this.txBatch = { ...DEFAULT_TX_BATCH, ...options.txBatch }
    this.txBatcher = new TxBatcher(this.txBatch, (batch) => this.publish('tx', batch))
  }

  static async create(options: P2PServiceOptions): Promise<P2PService> {
    if (!Number.isInteger(options.maxPeers) || options.maxPeers < 1) {
      throw new CairnError('P2P_BAD_CONFIG', `p2p max peers must be a positive integer, got ${options.maxPeers}`)
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
      throw new CairnError('P2P_BAD_CONFIG', `p2p port must be 0..65535, got ${options.port}`)
    }
    for (const addr of options.bootnodes) {
      if (!/\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(addr)) {
        throw new CairnError('P2P_BAD_CONFIG', `bootnode ${addr} must end in /p2p/<peer id>`)
      }
    }
    const limits = { ...DEFAULT_SIZE_LIMITS, ...options.limits }
    const scores = new PeerScoreBook({ ...DEFAULT_SCORING, ...options.scoring })
    const { key, created } = await loadOrCreateNodeKey(options.datadir)
    const host = options.listenAddress ?? '127.0.0.1'
    const family = host.includes(':') ? 'ip6' : 'ip4'
    const topics = TOPIC_KINDS.map((kind) => topicName(options.chainId, kind))
    // Filled in below; the gater consults the service for bans and capacity.
    let service: P2PService | undefined
    const refuse = (peer: PeerId, outbound: boolean): boolean => {
      if (service === undefined) return false
      const id = peer.toString()
      if (scores.isBanned(id)) return true
      return outbound ? false : service.atCapacity(id)
    }
    const node = await createLibp2p<Services>({
      privateKey: key,
      start: false,
      addresses: { listen: [`/${family}/${host}/tcp/${options.port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: options.bootnodes.length > 0 ? [bootstrap({ list: options.bootnodes, timeout: 100 })] : [],
      connectionManager: { maxConnections: options.maxPeers },
      connectionGater: {
        denyDialPeer: (peer) => refuse(peer, true) || (service?.atCapacity(peer.toString()) ?? false),
        denyInboundEncryptedConnection: (peer) => refuse(peer, false),
        denyOutboundEncryptedConnection: (peer) => refuse(peer, true),
      },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: dhtProtocol(options.chainId),
          clientMode: false,
          // Keep loopback and private addresses: devnets and tests run on one host.
          peerInfoMapper: passthroughMapper,
        }),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: messageId,
          asyncValidation: true,
          emitSelf: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          allowedTopics: topics,
          maxInboundDataLength: limits.maxBlockBytes + 64 * 1024,
          scoreParams: {
            appSpecificScore: (peer: string) => scores.score(peer),
            appSpecificWeight: 1,
            // Devnets put every node on one IP; colocation would penalize them all alike.
            IPColocationFactorWeight: 0,
          },
        }),
      },
    })
    service = new P2PService(node, options, scores, limits)
    options.logger.info(
      { peerId: node.peerId.toString(), created, keyFile: `${options.datadir}/p2p-key` },
      created ? 'created p2p node key' : 'loaded p2p node key',
    )
    return service
  }

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    const pubsub = this.node.services.pubsub
    pubsub.addEventListener('gossipsub:message', this.onGossipMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.node.addEventListener('peer:connect', this.onPeerConnect)
    this.node.addEventListener('peer:disconnect', this.onPeerDisconnect)
    const streamOptions = { maxInboundStreams: 8, maxOutboundStreams: 8 }
    await this.node.handle(this.protocol('blocks-by-range'), this.serveRange, streamOptions)
    await this.node.handle(this.protocol('blocks-by-hash'), this.serveHash, streamOptions)
    await this.node.handle(this.protocol('head'), this.serveHead, streamOptions)
    await this.node.handle(this.protocol('tx-announce'), this.serveAnnounce, streamOptions)
    await this.node.handle(this.protocol('pooled-txs'), this.servePooledTxs, streamOptions)
    try {
      await this.node.start()
    } catch (error) {
      throw systemListenError(error) ?? error
    }
    for (const kind of TOPIC_KINDS) pubsub.subscribe(this.topics[kind])
    const interval = this.options.discoveryIntervalMs ?? 2_000
    this.timer = setInterval(() => void this.maintain(), interval)
    this.timer.unref()
    const { ageMs } = this.reannounceSchedule.config
    if (ageMs > 0) {
      // Rounds a few times per age (at most every second), so a transaction is announced close to its due time.
      this.reannounceTimer = setInterval(() => void this.reannounce(), Math.min(1_000, Math.max(50, ageMs / 4)))
      this.reannounceTimer.unref()
    }
    this.options.logger.info(
      { peerId: this.peerId.toString(), addresses: this.multiaddrs(), chainId: this.chainId.toString() },
      'p2p started',
    )
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.txBatcher.flush()
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.reannounceTimer !== undefined) clearInterval(this.reannounceTimer)
    this.node.services.pubsub.removeEventListener('gossipsub:message', this.onGossipMessage)
    this.node.services.pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    this.node.removeEventListener('peer:connect', this.onPeerConnect)
    this.node.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.node.stop()
    this.metrics.peers.set(0)
    this.options.logger.info({ peerId: this.peerId.toString() }, 'p2p stopped')
  }

  /** Listen addresses with `/p2p/<peerId>`, usable as other nodes' bootnodes. */
  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((addr) => addr.toString())
  }

  peerCount(): number {
    return this.node.getPeers().length
  }

  peers(): P2PPeer[] {
    const router = this.node.services.pubsub as GossipRouter
    return this.node.getPeers().map((peer) => {
      const id = peer.toString()
      const connection = this.node.getConnections(peer)[0]
      return {
        peerId: id,
        address: connection?.remoteAddr.toString(),
        direction: connection?.direction,
        score: this.scores.score(id),
        gossipScore: router.getScore(id),
      }
    })
  }

  /** Peers we know to be subscribed to a gossip topic (the peers a publish can reach). */
  gossipPeers(kind: TopicKind): number {
    return this.node.services.pubsub.getSubscribers(this.topics[kind]).length
  }

  /** Peers banned now, with expiry in ms since the epoch. */
  bannedPeers(): Array<{ peer: string; until: number }> {
    return this.scores.banned()
  }

  isBanned(peer: PeerId | string): boolean {
    return this.scores.isBanned(peer.toString())
  }

  /** Bans a peer (for example one whose gossiped block later failed execution) and disconnects it. */
  async banPeer(peer: PeerId | string, durationMs?: number): Promise<void> {
    this.scores.ban(peer.toString(), durationMs)
    this.metrics.bans.inc()
    await this.hangUp(peer.toString())
  }

  /** Lowers a peer's score for something the node found (a synced block that failed import); bans at the threshold. */
  penalizePeer(peer: PeerId | string, offence: Offence): void {
    this.penalize(peer.toString(), offence)
  }

  /** Connects to a peer by multiaddr (with `/p2p/<id>`); mostly for tests and admin RPCs. */
  async connect(address: string): Promise<void> {
    try {
      await this.node.dial(multiaddr(address), { signal: AbortSignal.timeout(this.reqRespLimits.requestTimeoutMs) })
    } catch (error) {
      throw new CairnError('P2P_DIAL_FAILED', `cannot connect to ${address}: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }

  // ---- gossip ---------------------------------------------------------------------------------

  /**
   * Gossips a raw transaction the node has already admitted, in the next batch (at most
   * `txBatch.delayMs` later); resolves with how many peers the batch was sent to.
   */
  async publishTransaction(raw: Uint8Array): Promise<number> {
    if (!this.running) throw new CairnError('P2P_NOT_STARTED', 'the p2p service is not running')
    if (raw.length > this.limits.maxTxBytes) {
      throw new CairnError(
        'P2P_MESSAGE_TOO_LARGE',
        `transaction of ${raw.length} bytes exceeds the ${this.limits.maxTxBytes}-byte gossip limit`,
      )
    }
    // Nobody to send to: skip the batch (see `publish`).
    if (this.node.services.pubsub.getSubscribers(this.topics.tx).length === 0) return 0
    return this.txBatcher.add(raw)
  }

  /** Gossips a signed preconfirmed block; returns how many peers it was sent to. */
  async publishBlock(signed: SignedBlock): Promise<number> {
    return this.publish('preconf-block', encodeSignedBlock(signed))
  }

  /** Called for each transaction that passed `validators.transaction`; returns an unsubscribe function. */
  onTransaction(handler: Handler<Uint8Array>): () => void {
    this.txHandlers.add(handler)
    return () => this.txHandlers.delete(handler)
  }

  /** Called for each preconfirmed block that passed `validators.block`; returns an unsubscribe function. */
  onBlock(handler: Handler<SignedBlock>): () => void {
    this.blockHandlers.add(handler)
    return () => this.blockHandlers.delete(handler)
  }

  /**
   * Called when a peer (not banned) subscribes to the preconfirmed-block topic: just after it
   * connects, and again after a reconnect. From then on it gets and sends this node's block gossip,
   * so it is the moment to ask it for its head. Returns an unsubscribe function.
   */
  onBlockTopicPeer(handler: (peer: PeerId) => void): () => void {
    this.blockPeerHandlers.add(handler)
    return () => this.blockPeerHandlers.delete(handler)
  }

  private async publish(kind: TopicKind, data: Uint8Array): Promise<number> {
    if (!this.running) throw new CairnError('P2P_NOT_STARTED', 'the p2p service is not running')
    const limit = this.sizeLimit(kind)
    if (data.length > limit) {
      throw new CairnError(
        'P2P_MESSAGE_TOO_LARGE',
        `${kind} message of ${data.length} bytes exceeds the ${limit}-byte gossip limit`,
      )
    }
    const pubsub = this.node.services.pubsub
    // Nobody to send to: skip gossipsub's work (encoding, caching; ~60 µs a transaction). A peer that
    // joins later catches up another way: re-announced transactions, heads asked for by followers.
    if (pubsub.getSubscribers(this.topics[kind]).length === 0) return 0
    const result = await pubsub.publish(this.topics[kind], data)
    this.metrics.messagesPublished.inc({ topic: kind })
    return result.recipients.length
  }

  private sizeLimit(kind: TopicKind): number {
    return kind === 'tx' ? maxTxBatchBytes(this.txBatch, this.limits.maxTxBytes) : this.limits.maxBlockBytes + 65
  }

  private readonly onGossipMessage = (event: CustomEvent<GossipsubMessage>): void => {
    void this.validateGossip(event.detail)
  }

  private async validateGossip({ propagationSource, msgId, msg }: GossipsubMessage): Promise<void> {
    const router = this.node.services.pubsub as GossipRouter
    const from = propagationSource.toString()
    const kind = this.topicKinds.get(msg.topic)
    if (kind === undefined) {
      router.reportMessageValidationResult(msgId, from, TopicValidatorResult.Ignore)
      return
    }
    this.metrics.messagesReceived.inc({ topic: kind })
    const settle = (result: ValidationResult, reason: string): void => {
      router.reportMessageValidationResult(msgId, from, RESULT[result])
      this.metrics.validation(kind, result, reason)
      if (result === 'reject') {
        this.options.logger.debug({ topic: kind, peer: from, reason }, 'rejected gossip message')
        this.penalize(from, reason === 'too-large' ? 'oversized-message' : 'invalid-message')
      }
    }
    if (this.scores.isBanned(from)) return settle('ignore', 'banned-peer')
    if (msg.data.length > this.sizeLimit(kind)) return settle('reject', 'too-large')
    if (kind === 'tx') return this.validateTxBatch(msg.data, propagationSource, settle)

    if (!this.gossipLimiters[kind].allow(from)) return this.rateLimited(from, settle)
    let signed: SignedBlock
    try {
      signed = decodeSignedBlock(msg.data)
    } catch {
      return settle('reject', 'decode')
    }
    const result = await this.runValidator(kind, from, () => this.options.validators.block(signed, propagationSource))
    settle(result, 'validator')
    if (result !== 'accept') return
    this.observeBlockLatency(signed.block)
    this.deliver(this.blockHandlers, signed, propagationSource)
  }

  /**
   * A gossiped transaction batch: each transaction goes through the node's validator. The message is
   * rejected (not forwarded, the peer penalized) if any transaction is invalid everywhere, accepted
   * (forwarded) if any was new and valid here, and ignored otherwise.
   */
  private async validateTxBatch(
    data: Uint8Array,
    source: PeerId,
    settle: (result: ValidationResult, reason: string) => void,
  ): Promise<void> {
    const from = source.toString()
    let raws: Uint8Array[]
    try {
      raws = decodeTxBatch(data, { maxTxBytes: this.limits.maxTxBytes, maxCount: this.txBatch.maxCount })
    } catch {
      return settle('reject', 'decode')
    }
    // The rate limit and the validation budget count transactions, not messages.
    if (!this.gossipLimiters.tx.allow(from, raws.length)) return this.rateLimited(from, settle)
    // Only transactions are shed under load: a flood of them must never crowd out preconfirmed blocks.
    if (this.overloaded()) {
      this.metrics.gossipTxs.inc({ result: 'shed' }, raws.length)
      return settle('ignore', 'overloaded')
    }
    const { validators } = this.options
    const results = await Promise.all(
      raws.map((raw) => this.runValidator('tx', from, () => validators.transaction(raw, source))),
    )
    const count: Record<ValidationResult, number> = { accept: 0, reject: 0, ignore: 0 }
    for (const result of results) count[result]++
    for (const result of ['accept', 'reject', 'ignore'] as const) {
      if (count[result] > 0) this.metrics.gossipTxs.inc({ result }, count[result])
    }
    settle(count.reject > 0 ? 'reject' : count.accept > 0 ? 'accept' : 'ignore', 'validator')
    for (const [i, raw] of raws.entries()) {
      if (results[i] === 'accept') this.deliver(this.txHandlers, raw, source)
    }
  }

  private rateLimited(peer: string, settle: (result: ValidationResult, reason: string) => void): void {
    settle('ignore', 'rate-limited')
    this.penalize(peer, 'rate-limited')
  }

  private overloaded(): boolean {
    return this.pendingValidations >= (this.options.maxPendingValidations ?? 4_096)
  }

  /** Runs one of the node's validators, counted against the pending budget; a failure or timeout is `ignore`. */
  private async runValidator(
    kind: TopicKind,
    peer: string,
    validate: () => Promise<ValidationResult>,
  ): Promise<ValidationResult> {
    this.pendingValidations++
    try {
      return await this.withTimeout(validate())
    } catch (error) {
      this.options.logger.warn({ topic: kind, peer, err: error }, 'p2p validator failed; ignoring the message')
      return 'ignore'
    } finally {
      this.pendingValidations--
    }
  }

  private async withTimeout(promise: Promise<ValidationResult>): Promise<ValidationResult> {
    const ms = this.options.validationTimeoutMs ?? 5_000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<ValidationResult>((resolve) => {
      timer = setTimeout(() => resolve('ignore'), ms)
    })
    try {
      const result = await Promise.race([promise, timeout])
      if (result !== 'accept' && result !== 'reject' && result !== 'ignore') {
        throw new CairnError('P2P_BAD_VALIDATION_RESULT', `validator returned ${String(result)}`)
      }
      return result
    } finally {
      clearTimeout(timer)
    }
  }

  private deliver<T>(handlers: Set<Handler<T>>, value: T, from: PeerId): void {
    for (const handler of handlers) {
      try {
        handler(value, from)
      } catch (error) {
        this.options.logger.error({ err: error }, 'p2p message handler threw')
      }
    }
  }

  private observeBlockLatency(blockRlp: Uint8Array): void {
    try {
      const { timestamp } = readBlockHeader(blockRlp)
      const seconds = Date.now() / 1000 - Number(timestamp)
      this.metrics.blockArrivalLatency.observe(Math.max(0, seconds))
    } catch {
      // The validator accepted a block we cannot read the header of: nothing to time.
    }
  }

  // ---- request/response ---------------------------------------------------------------------

  /** Serves blocks-by-range and blocks-by-hash from `provider` (plain block RLP), and head when it has `signedHead`. */
  serveBlocks(provider: BlockProvider): void {
    this.provider = provider
  }

  /**
   * Gives the service the node's pool: pending transactions are re-announced to peers once they are
   * older than the re-announce age, peers' announcements are checked against it, and pooled-txs
   * requests are answered from it.
   */
  serveTransactions(pool: TxPoolView): void {
    this.pool = pool
  }

  /**
   * Asks `peer` for up to `count` consecutive blocks starting at `from`. Returns the run the peer
   * has (possibly fewer, possibly none), checked to be numbered `from, from+1, …` and linked by
   * parent hash. Anchoring the run to a trusted hash is the caller's job.
   */
  async requestBlocksByRange(peer: PeerId | string, from: bigint, count: number): Promise<Uint8Array[]> {
    const max = this.reqRespLimits.maxBlocksPerRequest
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new CairnError('P2P_REQUEST_INVALID', `blocks-by-range count must be 1..${max}, got ${count}`)
    }
    if (from < 0n || from + BigInt(count) > 2n ** 64n) {
      throw new CairnError('P2P_REQUEST_INVALID', `blocks-by-range start ${from} is out of the uint64 range`)
    }
    return this.exchange(peer, 'blocks-by-range', encodeRangeRequest(from, count), count, rangeChecker(from))
  }

  /**
   * Asks `peer` for its newest signed preconfirmed block if it is above `after` (this node's latest).
   * The block comes with its signature, so the caller can check the preconfer and anchor a catch-up to it.
   */
  async requestHead(peer: PeerId | string, after: bigint): Promise<SignedBlock | undefined> {
    if (after < 0n || after >= 2n ** 64n) {
      throw new CairnError('P2P_REQUEST_INVALID', `head request number ${after} is out of the uint64 range`)
    }
    const [item] = await this.exchange(peer, 'head', encodeHeadRequest(after), 1, headChecker(after))
    return item === undefined ? undefined : decodeSignedBlock(item)
  }

  /** Asks `peer` for pooled transactions by hash; returns the ones it has (raw), each checked to hash to one asked for. */
  async requestPooledTransactions(peer: PeerId | string, hashes: Uint8Array[]): Promise<Uint8Array[]> {
    return this.exchange(peer, 'pooled-txs', encodeHashList(hashes), hashes.length, txChecker(hashes))
  }

  /** Tells `peer` this node has these transactions pooled; the peer fetches the ones it lacks. */
  async announceTransactions(peer: PeerId | string, hashes: Uint8Array[]): Promise<void> {
    // Answered by an end frame alone: any item breaks the protocol (maxItems 0).
    await this.exchange(peer, 'tx-announce', encodeHashList(hashes), 0, () => undefined)
  }

  /** Asks `peer` for the block with `hash`; `undefined` when the peer does not have it. */
  async requestBlockByHash(peer: PeerId | string, hash: Uint8Array): Promise<Uint8Array | undefined> {
    if (hash.length !== 32)
      throw new CairnError('P2P_REQUEST_INVALID', `block hash has ${hash.length} bytes, expected 32`)
    const blocks = await this.exchange(peer, 'blocks-by-hash', hash, 1, hashChecker(hash))
    return blocks[0]
  }

  private protocol(kind: ReqRespKind): string {
    return protocolId(this.chainId, kind)
  }

  private async exchange(
    peer: PeerId | string,
    kind: ReqRespKind,
    request: Uint8Array,
    maxItems: number,
    check: (item: Uint8Array, index: number) => string | undefined,
  ): Promise<Uint8Array[]> {
    if (!this.running) throw new CairnError('P2P_NOT_STARTED', 'the p2p service is not running')
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const id = peerId.toString()
    if (this.scores.isBanned(id)) throw new CairnError('P2P_PEER_BANNED', `peer ${id} is banned`)
    const timeoutMs = this.reqRespLimits.requestTimeoutMs
    const signal = AbortSignal.timeout(timeoutMs)
    const count = (result: string): void => {
      this.metrics.reqRespRequests.inc({ protocol: kind, direction: 'outbound', result })
    }
    let stream: Stream
    try {
      stream = await this.node.dialProtocol(peerId, this.protocol(kind), { signal })
    } catch (error) {
      count('dial-failed')
      if (signal.aborted) {
        throw new CairnError('P2P_REQUEST_TIMEOUT', `opening ${kind} to ${id} took longer than ${timeoutMs} ms`)
      }
      throw new CairnError('P2P_DIAL_FAILED', `cannot open ${kind} to ${id}: ${(error as Error).message}`, {
        cause: error,
      })
    }
    const lp = lpStream(stream, { maxDataLength: this.limits.maxBlockBytes + 1 })
    try {
      await lp.write(request, { signal })
      const items = await readResponse(lp, { maxItems, signal, check })
      await stream.close({ signal }).catch(() => undefined)
      count('ok')
      return items
    } catch (error) {
      stream.abort(error as Error)
      if (signal.aborted) {
        count('timeout')
        throw new CairnError('P2P_REQUEST_TIMEOUT', `peer ${id} did not complete ${kind} within ${timeoutMs} ms`)
      }
      if (isCairnError(error)) {
        count(error.code)
        if (error.details?.blamePeer === true) {
          this.options.logger.warn({ peer: id, protocol: kind, reason: error.message }, 'peer sent a bad response')
          this.penalize(id, 'bad-response')
        }
        throw new CairnError(error.code, `${kind} from ${id}: ${error.message}`, { details: error.details })
      }
      count('stream-error')
      throw new CairnError('P2P_STREAM_ERROR', `${kind} from ${id} failed: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }

  private readonly serveRange = (stream: Stream, connection: Connection): Promise<void> =>
    this.serve('blocks-by-range', stream, connection, async function* (service, request) {
      const { from, count } = decodeRangeRequest(request)
      const max = service.reqRespLimits.maxBlocksPerRequest
      if (count < 1 || count > max) {
        yield errorFrame(ResponseCode.invalidRequest, `count must be 1..${max}, got ${count}`)
        return
      }
      let bytes = 0
      for (let i = 0; i < count; i++) {
        const block = await service.provider?.byNumber(from + BigInt(i))
        if (block === undefined) break
        bytes += block.length
        if (bytes > service.reqRespLimits.maxResponseBytes && i > 0) break
        yield frame(ResponseCode.item, block)
      }
      yield frame(ResponseCode.end)
    })

  private readonly serveHead = (stream: Stream, connection: Connection): Promise<void> =>
    this.serve('head', stream, connection, async function* (service, request) {
      const after = decodeHeadRequest(request)
      const signed = await service.provider?.signedHead?.(after)
      if (signed !== undefined && readBlockHeader(signed.block).number > after) {
        yield frame(ResponseCode.item, encodeSignedBlock(signed))
      }
      yield frame(ResponseCode.end)
    })

  /** Acknowledges at once; fetching what this node lacks runs afterwards, so the announcer never waits on it. */
  private readonly serveAnnounce = (stream: Stream, connection: Connection): Promise<void> =>
    this.serve('tx-announce', stream, connection, async function* (service, request, peer) {
      const hashes = decodeHashList(request)
      void service.fetchAnnounced(peer, hashes)
      yield frame(ResponseCode.end)
    })

  private readonly servePooledTxs = (stream: Stream, connection: Connection): Promise<void> =>
    this.serve('pooled-txs', stream, connection, async function* (service, request) {
      const hashes = decodeHashList(request)
      let bytes = 0
      for (const hash of hashes) {
        const raw = service.pool?.rawTransaction(hash)
        if (raw === undefined) continue
        bytes += raw.length
        if (bytes > service.reqRespLimits.maxResponseBytes) break
        yield frame(ResponseCode.item, raw)
      }
      yield frame(ResponseCode.end)
    })

  private readonly serveHash = (stream: Stream, connection: Connection): Promise<void> =>
    this.serve('blocks-by-hash', stream, connection, async function* (service, request) {
      if (request.length !== 32) {
        throw new CairnError('P2P_BAD_REQUEST', `blocks-by-hash request has ${request.length} bytes, expected 32`)
      }
      const block = await service.provider?.byHash(request)
      if (block !== undefined) yield frame(ResponseCode.item, block)
      yield frame(ResponseCode.end)
    })

  /** Common server side: bans, rate limit, request read with a deadline, errors as terminal frames. */
  private async serve(
    kind: ReqRespKind,
    stream: Stream,
    connection: Connection,
    respond: (service: P2PService, request: Uint8Array, peer: string) => AsyncGenerator<Uint8Array>,
  ): Promise<void> {
    const peer = connection.remotePeer.toString()
    const count = (result: string): void => {
      this.metrics.reqRespRequests.inc({ protocol: kind, direction: 'inbound', result })
    }
    if (this.scores.isBanned(peer)) {
      count('banned')
      stream.abort(new Error('peer is banned'))
      return
    }
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES[kind] })
    const signal = AbortSignal.timeout(this.reqRespLimits.requestTimeoutMs)
    try {
      let request: Uint8Array
      const readSignal = AbortSignal.timeout(this.reqRespLimits.inboundRequestTimeoutMs)
      try {
        request = (await lp.read({ signal: readSignal })).subarray()
      } catch (error) {
        // An oversized or garbled request breaks the protocol. One that never came (our deadline, or the
        // peer hung up) is not held against the peer: under load it is as likely our own slowness.
        const malformed = isMalformedFrame(error)
        count(malformed ? 'bad-request' : readSignal.aborted ? 'timeout' : 'stream-error')
        if (malformed) this.penalize(peer, 'bad-request')
        stream.abort(error as Error)
        return
      }
      if (!this.requestLimiter.allow(peer)) {
        count('rate-limited')
        this.penalize(peer, 'rate-limited')
        await writeFrames(lp, [errorFrame(ResponseCode.rateLimited, 'too many requests, slow down')], signal)
        return
      }
      const servesTxs = kind === 'tx-announce' || kind === 'pooled-txs'
      if ((servesTxs ? this.pool : this.provider) === undefined) {
        count('not-serving')
        const what = servesTxs ? 'transactions' : 'blocks'
        await writeFrames(lp, [errorFrame(ResponseCode.serverError, `this node does not serve ${what}`)], signal)
        return
      }
      const frames: Uint8Array[] = []
      try {
        for await (const f of respond(this, request, peer)) frames.push(f)
      } catch (error) {
        if (isCairnError(error, 'P2P_BAD_REQUEST')) {
          count('bad-request')
          this.penalize(peer, 'bad-request')
          await writeFrames(lp, [errorFrame(ResponseCode.invalidRequest, error.message)], signal)
          return
        }
        this.options.logger.error({ err: error, protocol: kind, peer }, 'failed while serving a request')
        frames.push(errorFrame(ResponseCode.serverError, 'internal error'))
      }
      await writeFrames(lp, frames, signal)
      count('ok')
    } catch (error) {
      count('stream-error')
      this.options.logger.debug({ err: error, protocol: kind, peer }, 'serving request failed')
      stream.abort(error as Error)
    }
  }

  // ---- transaction re-announce ---------------------------------------------------------------

  /**
   * One round: hashes of transactions pending here past their due time (see `ReannounceSchedule`)
   * go to every peer on the transaction topic in one tx-announce request each. Only what this node
   * holds is announced; nothing it hears is passed on, so there is no echo between peers.
   */
  private async reannounce(): Promise<void> {
    if (!this.running || this.pool === undefined || this.announcing) return
    this.announcing = true
    try {
      const peers = this.node.services.pubsub.getSubscribers(this.topics.tx)
      // Without peers there is no one to announce to, and while the node lags its pending set is
      // stale; either way the pool is not even walked: each transaction's age counts from its
      // `addedAt`, so the schedule picks up where it would be.
      if (peers.length === 0 || this.pool.lagging?.() === true) return
      this.reannounceSchedule.observe(this.pool.pendingHashes())
      const hashes = this.reannounceSchedule.due()
      if (hashes.length === 0) return
      this.metrics.txsReannounced.inc(hashes.length)
      const results = await Promise.allSettled(peers.map((peer) => this.announceTransactions(peer, hashes)))
      const failed = results.filter((r) => r.status === 'rejected')
      this.options.logger.debug(
        {
          txs: hashes.length,
          peers: peers.length,
          failed: failed.length,
          err: failed[0]?.status === 'rejected' ? (failed[0].reason as Error).message : undefined,
        },
        're-announced pending transactions',
      )
    } catch (error) {
      this.options.logger.debug({ err: error }, 're-announce round failed')
    } finally {
      this.announcing = false
    }
  }

  /**
   * Fetches the announced transactions this node lacks from `peer` and runs them through the
   * transaction validator, as if they came by gossip (a `reject` costs the peer score). Bounded: a
   * few fetches at a time, none while validations are shed, each hash fetched once per
   * `TX_FETCH_MEMORY_MS` whoever announces it. Fetched transactions are not gossiped on.
   */
  private async fetchAnnounced(peer: string, hashes: Uint8Array[]): Promise<void> {
    const pool = this.pool
    if (pool === undefined) return
    if (
      this.txFetchesInFlight >= MAX_TX_FETCHES_IN_FLIGHT ||
      this.overloaded() ||
      this.recentTxFetches.size >= MAX_TX_FETCH_MEMORY
    ) {
      this.metrics.announcedTxHashes.inc({ result: 'busy' }, hashes.length)
      return
    }
    this.txFetchesInFlight++
    const wanted: Uint8Array[] = []
    try {
      const expires = Date.now() + TX_FETCH_MEMORY_MS
      for (const hash of hashes) {
        const key = bytesToHex(hash)
        if (await pool.knows(hash)) {
          this.metrics.announcedTxHashes.inc({ result: 'known' })
        } else if (this.recentTxFetches.has(key)) {
          this.metrics.announcedTxHashes.inc({ result: 'busy' })
        } else {
          this.recentTxFetches.set(key, expires)
          wanted.push(hash)
        }
      }
      if (wanted.length === 0) return
      this.metrics.announcedTxHashes.inc({ result: 'fetch' }, wanted.length)
      const raws = await this.requestPooledTransactions(peer, wanted)
      this.metrics.fetchedTxs.inc({ result: 'missing' }, wanted.length - raws.length)
      const results: Record<ValidationResult, number> = { accept: 0, reject: 0, ignore: 0 }
      // One at a time, in the announcer's order (oldest first): a sender's nonces arrive in order.
      for (const raw of raws) results[await this.admitFetched(peer, raw)]++
      this.options.logger.debug(
        { peer, asked: wanted.length, got: raws.length, ...results },
        'fetched announced transactions',
      )
    } catch (error) {
      // Let another announcer supply them.
      for (const hash of wanted) this.recentTxFetches.delete(bytesToHex(hash))
      this.options.logger.debug({ peer, err: error }, 'fetching announced transactions failed')
    } finally {
      this.txFetchesInFlight--
    }
  }

  private async admitFetched(peer: string, raw: Uint8Array): Promise<ValidationResult> {
    const from = peerIdFromString(peer)
    const result = await this.runValidator('tx', peer, () => this.options.validators.transaction(raw, from))
    this.metrics.fetchedTxs.inc({ result })
    if (result === 'reject') this.penalize(peer, 'invalid-message')
    if (result === 'accept') this.deliver(this.txHandlers, raw, from)
    return result
  }

  // ---- peers, scores, bans --------------------------------------------------------------------

  private penalize(peer: string, offence: Offence): void {
    this.metrics.peerPenalties.inc({ offence })
    const banned = this.scores.penalize(peer, offence)
    if (!banned) return
    this.metrics.bans.inc()
    this.options.logger.warn(
      { peer, offence, score: this.scores.score(peer), banMs: this.scores.config.banDurationMs },
      'banning misbehaving peer',
    )
    void this.hangUp(peer)
  }

  private async hangUp(peer: string): Promise<void> {
    try {
      await this.node.hangUp(peerIdFromString(peer))
    } catch (error) {
      this.options.logger.debug({ peer, err: error }, 'hang up failed')
    }
  }

  /** True when a new peer (not `peer`, if already connected) would exceed `maxPeers`. */
  private atCapacity(peer: string): boolean {
    const peers = this.node.getPeers()
    if (peers.some((p) => p.toString() === peer)) return false
    return peers.length >= this.options.maxPeers
  }

  private readonly onPeerConnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail.toString()
    if (this.scores.isBanned(peer)) {
      void this.hangUp(peer)
      return
    }
    this.metrics.peers.set(this.peerCount())
    this.options.logger.debug({ peer, peers: this.peerCount() }, 'peer connected')
  }

  private readonly onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void => {
    const { peerId, subscriptions } = event.detail
    const joined = subscriptions.some((s) => s.subscribe && s.topic === this.topics['preconf-block'])
    if (!joined || this.scores.isBanned(peerId.toString())) return
    for (const handler of this.blockPeerHandlers) {
      try {
        handler(peerId)
      } catch (error) {
        this.options.logger.error({ err: error }, 'p2p block-topic peer handler threw')
      }
    }
  }

  private readonly onPeerDisconnect = (event: CustomEvent<PeerId>): void => {
    this.metrics.peers.set(this.peerCount())
    this.options.logger.debug({ peer: event.detail.toString(), peers: this.peerCount() }, 'peer disconnected')
  }

  /** Periodic upkeep: gauges, sweeping limiter and score state, and topping up peers. */
  private async maintain(): Promise<void> {
    if (!this.running) return
    this.metrics.peers.set(this.peerCount())
    this.metrics.bannedPeers.set(this.scores.banned().length)
    for (const limiter of Object.values(this.gossipLimiters)) limiter.sweep()
    this.requestLimiter.sweep()
    this.scores.sweep()
    const now = Date.now()
    // Inserted with one lifetime, so in expiry order: stop at the first live one.
    for (const [hash, expires] of this.recentTxFetches) {
      if (expires > now) break
      this.recentTxFetches.delete(hash)
    }
    for (const banned of this.scores.banned()) {
      if (this.node.getConnections(peerIdFromString(banned.peer)).length > 0) await this.hangUp(banned.peer)
    }
    try {
      await this.topUpPeers()
    } catch (error) {
      this.options.logger.debug({ err: error }, 'peer discovery round failed')
    }
  }

  /** Dials known-but-unconnected peers up to `maxPeers`; when none are known, asks the DHT for more. */
  private async topUpPeers(): Promise<void> {
    const free = this.options.maxPeers - this.peerCount()
    if (free <= 0) return
    await this.redialBootnodes()
    let candidates = await this.dialCandidates(free)
    const now = Date.now()
    if (candidates.length === 0 && this.peerCount() > 0 && now - this.lastDhtWalk >= 5_000) {
      this.lastDhtWalk = now
      await this.walkDht()
      candidates = await this.dialCandidates(free)
    }
    await Promise.all(
      candidates.map(async (id) => {
        this.lastDialAttempt.set(id.toString(), Date.now())
        try {
          await this.node.dial(id, { signal: AbortSignal.timeout(5_000) })
        } catch (error) {
          this.options.logger.debug({ peer: id.toString(), err: (error as Error).message }, 'dial failed')
        }
      }),
    )
  }

  /**
   * With no peer at all, dials the configured bootnodes again (every 10 s at most). The bootstrap
   * module dials them once, at start; a node whose first dial failed (the bootnode was not up yet, a
   * loaded machine) or that lost every peer (a bootnode paused or restarted) may have no address
   * left in its peer store, and would otherwise stay alone for good.
   */
  private async redialBootnodes(): Promise<void> {
    const now = Date.now()
    if (this.peerCount() > 0 || this.options.bootnodes.length === 0 || now - this.lastBootnodeDial < 10_000) return
    this.lastBootnodeDial = now
    await Promise.all(
      this.options.bootnodes.map(async (address) => {
        try {
          await this.node.dial(multiaddr(address), { signal: AbortSignal.timeout(5_000) })
        } catch (error) {
          this.options.logger.debug({ bootnode: address, err: (error as Error).message }, 'bootnode dial failed')
        }
      }),
    )
  }

  /** Peers in the peer store with addresses, not connected, not banned, not tried in the last 30 s. */
  private async dialCandidates(free: number): Promise<PeerId[]> {
    const now = Date.now()
    const connected = new Set(this.node.getPeers().map((p) => p.toString()))
    return (await this.node.peerStore.all())
      .filter((p) => {
        const id = p.id.toString()
        if (p.id.equals(this.peerId) || connected.has(id) || p.addresses.length === 0) return false
        if (this.scores.isBanned(id)) return false
        return now - (this.lastDialAttempt.get(id) ?? 0) > 30_000
      })
      .slice(0, Math.min(free, 4))
      .map((p) => p.id)
  }

  /** A closest-peers walk towards our own id: fills the peer store with peers of this chain's DHT. */
  private async walkDht(): Promise<void> {
    const signal = AbortSignal.timeout(5_000)
    for await (const event of this.node.services.dht.getClosestPeers(this.peerId.toMultihash().bytes, { signal })) {
      if (event.name === 'PEER_RESPONSE') {
        for (const peer of event.closer) {
          if (peer.id.equals(this.peerId) || peer.multiaddrs.length === 0) continue
          await this.node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs })
        }
      }
    }
  }
}

/**
 * libp2p reports a failed listen as one error with each address's system error in its text. The first
 * of those becomes the error, its code (`EADDRINUSE`, ...) included, as a failed `net.Server` listen reports it.
 */
function systemListenError(error: unknown): Error | undefined {
  if (!(error instanceof Error) || error.name !== 'UnsupportedListenAddressesError') return undefined
  const failed = /Error: (listen (E[A-Z]+): [^\n]*)/.exec(error.message)
  if (failed === null) return undefined
  return Object.assign(new Error(failed[1], { cause: error }), { code: failed[2] })
}
