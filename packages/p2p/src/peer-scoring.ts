/** Why a peer lost score; each offence has a fixed penalty (see `DEFAULT_PENALTIES`). */
export type Offence =
  | 'invalid-message' // the node's validator rejected a gossip message
  | 'oversized-message' // a gossip message above the topic's size limit
  | 'rate-limited' // gossip or requests above the per-peer rate
  | 'bad-response' // a req/resp answer that broke the protocol or the chain it claims
  | 'bad-request' // a malformed req/resp request

export interface ScoringConfig {
  /** Score at or below which a peer is disconnected and banned. */
  banThreshold: number
  /** How long a ban lasts, ms. */
  banDurationMs: number
  /** Penalties decay towards zero with this half-life, ms, so an honest peer's occasional slip is forgiven. */
  decayHalfLifeMs: number
  penalties: Record<Offence, number>
}

export const DEFAULT_PENALTIES: Record<Offence, number> = {
  'invalid-message': 10,
  'oversized-message': 20,
  'rate-limited': 1,
  'bad-response': 20,
  'bad-request': 5,
}

export const DEFAULT_SCORING: ScoringConfig = {
  banThreshold: -50,
  banDurationMs: 10 * 60_000,
  decayHalfLifeMs: 60_000,
  penalties: DEFAULT_PENALTIES,
}

interface ScoreEntry {
  score: number
  updatedAt: number
}

/**
 * The application's view of each peer: a score lowered by offences and decaying back to zero, and
 * a ban list with expiry. It is fed to gossipsub as the app-specific score (P5), and the service
 * disconnects and bans a peer the moment `penalize` reports that it crossed the threshold.
 * Pure bookkeeping with an injected clock: no timers, no network.
 */
export class PeerScoreBook {
  private readonly scores = new Map<string, ScoreEntry>()
  private readonly bans = new Map<string, number>()

  constructor(
    readonly config: ScoringConfig = DEFAULT_SCORING,
    private readonly clock: () => number = Date.now,
  ) {}

  score(peer: string): number {
    const entry = this.scores.get(peer)
    if (entry === undefined) return 0
    return this.decayed(entry, this.clock())
  }

  /** Lowers `peer`'s score; returns `true` when this offence took it to the ban threshold (and bans it). */
  penalize(peer: string, offence: Offence): boolean {
    const now = this.clock()
    const entry = this.scores.get(peer)
    const current = entry === undefined ? 0 : this.decayed(entry, now)
    const score = current - this.config.penalties[offence]
    this.scores.set(peer, { score, updatedAt: now })
    if (score <= this.config.banThreshold && !this.isBanned(peer)) {
      this.ban(peer)
      return true
    }
    return false
  }

  ban(peer: string, durationMs = this.config.banDurationMs): void {
    this.bans.set(peer, this.clock() + durationMs)
  }

  isBanned(peer: string): boolean {
    const until = this.bans.get(peer)
    if (until === undefined) return false
    if (until > this.clock()) return true
    // The ban ran out: the peer starts again from a clean score.
    this.bans.delete(peer)
    this.scores.delete(peer)
    return false
  }

  /** Active bans, with their expiry (ms since the epoch). */
  banned(): Array<{ peer: string; until: number }> {
    const out: Array<{ peer: string; until: number }> = []
    for (const [peer, until] of this.bans) if (this.isBanned(peer)) out.push({ peer, until })
    return out
  }

  /** Forgets scores that decayed to nothing and bans that expired. */
  sweep(): void {
    const now = this.clock()
    for (const [peer, entry] of this.scores) {
      if (Math.abs(this.decayed(entry, now)) < 0.01 && !this.bans.has(peer)) this.scores.delete(peer)
    }
    for (const peer of [...this.bans.keys()]) this.isBanned(peer)
  }

  private decayed(entry: ScoreEntry, now: number): number {
    const elapsed = Math.max(0, now - entry.updatedAt)
    return entry.score * 0.5 ** (elapsed / this.config.decayHalfLifeMs)
  }
}
