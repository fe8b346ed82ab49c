import { CairnError } from '@cairn/primitives'
import { type NestedUint8Array, RLP } from '@ethereumjs/rlp'

/**
 * Transactions travel the gossip topic in batches: an RLP list of raw transactions (each exactly the
 * bytes `eth_sendRawTransaction` takes), as in eth/68's Transactions message. One gossip message per
 * transaction cost every node a gossipsub RPC, a yamux frame, a noise seal and a socket write per
 * copy, for each peer: at a few hundred transactions a second that transport work, not validation or
 * execution, filled the cores (docs/benchmarks.md, p2p section).
 */
export interface TxBatchConfig {
  /** How long the first transaction of a batch waits for others before the batch is sent, ms. */
  delayMs: number
  /** A batch is sent as soon as it holds this many bytes of transactions. */
  maxBytes: number
  /** A batch is sent as soon as it holds this many transactions; receivers refuse more. */
  maxCount: number
}

export const DEFAULT_TX_BATCH: TxBatchConfig = { delayMs: 20, maxBytes: 64 * 1024, maxCount: 512 }

export function encodeTxBatch(raws: readonly Uint8Array[]): Uint8Array {
  return RLP.encode(raws as Uint8Array[])
}

/**
 * The transactions of a gossiped batch. Throws `P2P_BAD_TX_BATCH` for anything an honest node never
 * sends: not an RLP list of byte strings, empty, more than `maxCount` items, or an item over `maxTxBytes`.
 */
export function decodeTxBatch(data: Uint8Array, limits: { maxTxBytes: number; maxCount: number }): Uint8Array[] {
  let decoded: Uint8Array | NestedUint8Array
  try {
    decoded = RLP.decode(data)
  } catch (error) {
    throw new CairnError('P2P_BAD_TX_BATCH', `transaction batch is not valid RLP: ${(error as Error).message}`)
  }
  if (!Array.isArray(decoded)) throw new CairnError('P2P_BAD_TX_BATCH', 'transaction batch is not an RLP list')
  if (decoded.length === 0 || decoded.length > limits.maxCount) {
    throw new CairnError(
      'P2P_BAD_TX_BATCH',
      `transaction batch holds ${decoded.length} items, expected 1..${limits.maxCount}`,
    )
  }
  for (const [i, item] of decoded.entries()) {
    if (!(item instanceof Uint8Array) || item.length === 0) {
      throw new CairnError('P2P_BAD_TX_BATCH', `transaction batch item ${i} is not a non-empty byte string`)
    }
    if (item.length > limits.maxTxBytes) {
      throw new CairnError(
        'P2P_BAD_TX_BATCH',
        `transaction batch item ${i} has ${item.length} bytes, over the ${limits.maxTxBytes}-byte limit`,
      )
    }
  }
  // Copies: the items are views of the whole message, which a pooled transaction must not keep alive.
  return (decoded as Uint8Array[]).map((item) => new Uint8Array(item))
}

/** Largest encoded batch a sender with `config` produces when no transaction exceeds `maxTxBytes`. */
export function maxTxBatchBytes(config: TxBatchConfig, maxTxBytes: number): number {
  // A batch is sent before a transaction would take it past `maxBytes`, so it is either under
  // `maxBytes` or one transaction alone; each item adds at most 9 bytes of RLP header, the list 9.
  return Math.max(config.maxBytes, maxTxBytes) + 9 * config.maxCount + 9
}

/**
 * Collects the transactions a node gossips into batches and hands each batch to `send` when the
 * first one has waited `delayMs`, or when the batch is full. `add` resolves with what `send`
 * returned for the batch (the number of peers it reached).
 */
export class TxBatcher {
  private raws: Uint8Array[] = []
  private bytes = 0
  private waiters: Array<{ resolve: (peers: number) => void; reject: (error: unknown) => void }> = []
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly config: TxBatchConfig,
    private readonly send: (batch: Uint8Array) => Promise<number>,
  ) {}

  add(raw: Uint8Array): Promise<number> {
    if (this.raws.length > 0 && this.bytes + raw.length > this.config.maxBytes) this.flush()
    const sent = new Promise<number>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.raws.push(raw)
    this.bytes += raw.length
    if (this.raws.length >= this.config.maxCount || this.bytes >= this.config.maxBytes) this.flush()
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.config.delayMs)
    return sent
  }

  /** Sends what is queued now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.raws.length === 0) return
    const batch = encodeTxBatch(this.raws)
    const waiters = this.waiters
    this.raws = []
    this.bytes = 0
    this.waiters = []
    this.send(batch).then(
      (peers) => {
        for (const waiter of waiters) waiter.resolve(peers)
      },
      (error) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}
