export { type BlockHeaderFields, readBlockHeader } from './block-rlp.ts'
export { P2PMetrics, type ValidationResult } from './metrics.ts'
export { NODE_KEY_FILE, loadOrCreateNodeKey } from './node-key.ts'
export { DEFAULT_PENALTIES, DEFAULT_SCORING, type Offence, PeerScoreBook, type ScoringConfig } from './peer-scoring.ts'
export {
  PRECONF_DOMAIN,
  SIGNATURE_LENGTH,
  type SignedBlock,
  decodeSignedBlock,
  encodeSignedBlock,
  preconfSigningHash,
  recoverPreconfSigner,
  signPreconfBlock,
} from './preconf.ts'
export { KeyedRateLimiter, type RateLimit, TokenBucket } from './rate-limit.ts'
export {
  type BlockProvider,
  DEFAULT_REQRESP_LIMITS,
  MAX_TX_HASHES_PER_REQUEST,
  type PendingTxHash,
  type ReqRespLimits,
  ResponseCode,
  type TxPoolView,
} from './req-resp.ts'
export {
  DEFAULT_RATE_LIMITS,
  type GossipRateLimits,
  type P2PLogger,
  type P2PPeer,
  P2PService,
  type P2PServiceOptions,
  type P2PValidators,
} from './service.ts'
export {
  DEFAULT_SIZE_LIMITS,
  type ReqRespKind,
  type SizeLimits,
  TOPIC_KINDS,
  type TopicKind,
  dhtProtocol,
  protocolId,
  topicName,
} from './topics.ts'
export { DEFAULT_REANNOUNCE, type ReannounceConfig, ReannounceSchedule } from './tx-reannounce.ts'
export { DEFAULT_TX_BATCH, type TxBatchConfig, decodeTxBatch, encodeTxBatch } from './tx-batch.ts'
