import { MAX_TX_HASHES_PER_REQUEST, type PendingTxHash } from './req-resp.ts'

export interface ReannounceConfig {
  /** A pending transaction's hash is first announced again after this long in the pool, ms; 0 turns re-announcing off. */
  ageMs: number
  /** Later announcements back off (age, 2×age, 4×age, …) up to this gap, ms. */
  maxIntervalMs: number
  /** Most hashes announced per round (one request per peer). */
  maxPerRound: number
}

export const DEFAULT_REANNOUNCE: ReannounceConfig = {
  ageMs: 5_000,
  maxIntervalMs: 60_000,
  maxPerRound: MAX_TX_HASHES_PER_REQUEST,
}

interface Entry {
  hash: Uint8Array
  nextAt: number
  announced: number
  /** The last `observe` round that saw it pending. */
  seen: number
}

/**
 * Which pooled transactions to announce again, and when. Gossip carries a transaction once: a peer
 * that dropped it (validation timed out, shed under load, not connected yet) keeps its message id
 * in gossipsub's seen-cache and never takes the same bytes from the topic again. So a node announces
 * the hashes of transactions that stayed pending in its own pool straight to its peers, who fetch
 * only the ones they lack. Each is announced `ageMs` after it entered the pool, then with doubling
 * gaps up to `maxIntervalMs`, oldest first, at most `maxPerRound` at a time: the traffic follows the
 * pool's size, never how often peers echo each other. Pure bookkeeping with an injected clock.
 *
 * Only transactions past their first due time are tracked: on a busy node most are included
 * younger than that, and keeping an entry for each of them cost the node's main thread (the
 * entries, and the collector copying them) several microseconds per transaction.
 */
export class ReannounceSchedule {
  /** Insertion order is due order, so iterating yields the oldest first. */
  private readonly entries = new Map<string, Entry>()
  private round = 0

  constructor(
    readonly config: ReannounceConfig = DEFAULT_REANNOUNCE,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Takes the pool's pending hashes: those past their age join the schedule (due from `addedAt` +
   * `ageMs`), those no longer pending are forgotten.
   */
  observe(pending: Iterable<PendingTxHash>): void {
    const now = this.clock()
    const round = ++this.round
    const { ageMs } = this.config
    const joining: PendingTxHash[] = []
    for (const tx of pending) {
      const entry = this.entries.get(tx.hashHex)
      if (entry !== undefined) entry.seen = round
      else if (tx.addedAt + ageMs <= now) joining.push(tx)
    }
    for (const [key, entry] of this.entries) if (entry.seen !== round) this.entries.delete(key)
    joining.sort((a, b) => a.addedAt - b.addedAt)
    for (const { hash, hashHex, addedAt } of joining) {
      this.entries.set(hashHex, { hash, nextAt: addedAt + ageMs, announced: 0, seen: round })
    }
  }

  /** The hashes due now, oldest first, at most `maxPerRound`; each is rescheduled after a doubled gap. */
  due(): Uint8Array[] {
    const now = this.clock()
    const { ageMs, maxIntervalMs, maxPerRound } = this.config
    const out: Uint8Array[] = []
    for (const entry of this.entries.values()) {
      if (out.length >= maxPerRound) break
      if (entry.nextAt > now) continue
      entry.announced++
      entry.nextAt = now + Math.min(ageMs * 2 ** entry.announced, maxIntervalMs)
      out.push(entry.hash)
    }
    return out
  }

  /** Transactions tracked (the pool's pending ones past their age at the last `observe`). */
  get size(): number {
    return this.entries.size
  }
}
