/** The gossip topics: names carry the chain id and a version, so chains and wire formats never mix. */
export type TopicKind = 'tx' | 'preconf-block'

export const TOPIC_KINDS: readonly TopicKind[] = ['tx', 'preconf-block']

/** Wire format versions: transactions went from one per message (1) to batches (2, `tx-batch.ts`). */
const TOPIC_VERSIONS: Record<TopicKind, number> = { tx: 2, 'preconf-block': 1 }

export function topicName(chainId: bigint, kind: TopicKind): string {
  return `/cairn/${chainId}/${kind}/${TOPIC_VERSIONS[kind]}`
}

/**
 * Request/response protocols: block sync by range and by hash, the peer's signed head (asked on
 * connect, to catch up without waiting for the next gossiped block), and transaction hashes
 * announced directly to a peer with the fetch of the ones it lacks (re-announcing what gossip dropped).
 */
export type ReqRespKind = 'blocks-by-range' | 'blocks-by-hash' | 'head' | 'tx-announce' | 'pooled-txs'

export function protocolId(chainId: bigint, kind: ReqRespKind): string {
  return `/cairn/${chainId}/${kind}/1`
}

/** The kad-dht runs on its own protocol per chain: a Cairn node's routing table holds only peers of its chain. */
export function dhtProtocol(chainId: bigint): string {
  return `/cairn/${chainId}/kad/1.0.0`
}

export interface SizeLimits {
  /** Largest raw transaction gossiped, bytes (default 128 KiB, geth's txpool limit). */
  maxTxBytes: number
  /** Largest block RLP gossiped or served, bytes (default 4 MiB). */
  maxBlockBytes: number
}

export const DEFAULT_SIZE_LIMITS: SizeLimits = {
  maxTxBytes: 128 * 1024,
  maxBlockBytes: 4 * 1024 * 1024,
}
