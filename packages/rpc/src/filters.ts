import type { Hex, LogRecord } from '@cairn/primitives'
import { filterNotFound, invalidParams, limitExceeded } from './errors.ts'
import { formatLog, type LogJson, type TransactionJson } from './format.ts'
import { logCriteriaSchema, parseParams, type LogCriteria } from './params.ts'
import {
  formattedLog,
  fullTransactionsSchema,
  matchesLogCriteria,
  newSubscriptionId,
  type SubscriptionSource,
} from './subscriptions.ts'
import type { RpcMethods } from './dispatch.ts'
import { z } from 'zod'

/** geth's filter deadline: a filter nobody polls for this long is removed. */
export const FILTER_TIMEOUT_MS = 5 * 60 * 1000

export interface FilterManagerOptions {
  source: SubscriptionSource
  /** Historical logs for eth_getFilterLogs (the lead's eth_getLogs backend). */
  getLogs(criteria: LogCriteria): Promise<LogRecord[]>
  timeoutMs?: number
  /** Injectable clock (ms) for tests. */
  now?: () => number
  /** How often expired filters are swept; 0 disables the timer (call `sweep()` yourself). */
  sweepIntervalMs?: number
  /** Installed filters across all clients. */
  maxFilters?: number
  /** Unpolled hashes or logs a filter keeps; beyond this the oldest are dropped. */
  maxPendingItems?: number
}

type FilterKind = 'logs' | 'blocks' | 'pendingTransactions'

interface InstalledFilter {
  kind: FilterKind
  criteria: LogCriteria | undefined
  lastPolled: number
  pending: Array<Hex | LogJson | TransactionJson>
  unsubscribe: () => void
}

/** geth's eth_newFilter family: filters accumulate events between polls and expire when left alone. */
export class FilterManager {
  readonly #options: Required<Omit<FilterManagerOptions, 'source' | 'getLogs'>> &
    Pick<FilterManagerOptions, 'source' | 'getLogs'>
  readonly #filters = new Map<Hex, InstalledFilter>()
  readonly #sweeper: ReturnType<typeof setInterval> | undefined

  constructor(options: FilterManagerOptions) {
    this.#options = {
      source: options.source,
      getLogs: options.getLogs,
      timeoutMs: options.timeoutMs ?? FILTER_TIMEOUT_MS,
      now: options.now ?? Date.now,
      sweepIntervalMs: options.sweepIntervalMs ?? 60_000,
      maxFilters: options.maxFilters ?? 10_000,
      maxPendingItems: options.maxPendingItems ?? 10_000,
    }
    if (this.#options.sweepIntervalMs > 0) {
      this.#sweeper = setInterval(() => this.sweep(), this.#options.sweepIntervalMs)
      this.#sweeper.unref()
    }
  }

  get size(): number {
    return this.#filters.size
  }

  newFilter(criteria: LogCriteria): Hex {
    const { fromBlock, toBlock } = criteria
    if (typeof fromBlock === 'bigint' && typeof toBlock === 'bigint' && fromBlock > toBlock) {
      throw invalidParams('invalid from and to block combination')
    }
    return this.#install('logs', criteria, (push) =>
      this.#options.source.onLogs((logs) => {
        // Every filter keeps the same formatted log, not a copy of its own.
        for (const log of logs)
          if (logInRange(log, criteria) && matchesLogCriteria(log, criteria)) push(formattedLog(log))
      }),
    )
  }

  newBlockFilter(): Hex {
    return this.#install('blocks', undefined, (push) =>
      this.#options.source.onNewHead((header) => {
        const hash = (header as { hash?: unknown }).hash
        if (typeof hash === 'string') push(hash as Hex)
      }),
    )
  }

  /** Pending transaction hashes, or with `fullTransactions` the transactions themselves. */
  newPendingTransactionFilter(fullTransactions = false): Hex {
    const { source } = this.#options
    if (!fullTransactions)
      return this.#install('pendingTransactions', undefined, (push) => source.onPendingTransaction(push))
    const onFull = source.onPendingTransactionFull
    if (onFull === undefined) {
      throw invalidParams('invalid argument 0: full pending transactions are not supported by this node')
    }
    return this.#install('pendingTransactions', undefined, (push) => onFull.call(source, push))
  }

  /** Everything since the last poll; resets the deadline. */
  getFilterChanges(id: Hex): Hex[] | LogJson[] | TransactionJson[] {
    const filter = this.#live(id)
    filter.lastPolled = this.#options.now()
    const changes = filter.pending
    filter.pending = []
    return changes as Hex[] | LogJson[] | TransactionJson[]
  }

  /** All logs matching a log filter's criteria, from storage. */
  async getFilterLogs(id: Hex): Promise<LogJson[]> {
    const filter = this.#live(id)
    if (filter.kind !== 'logs' || filter.criteria === undefined) throw filterNotFound()
    const logs = await this.#options.getLogs(filter.criteria)
    return logs.map(formatLog)
  }

  uninstallFilter(id: Hex): boolean {
    const filter = this.#filters.get(id)
    if (filter === undefined) return false
    this.#remove(id, filter)
    return true
  }

  /** Removes filters not polled within the timeout. */
  sweep(): void {
    const now = this.#options.now()
    for (const [id, filter] of this.#filters) {
      if (now - filter.lastPolled >= this.#options.timeoutMs) this.#remove(id, filter)
    }
  }

  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper)
    for (const [id, filter] of this.#filters) this.#remove(id, filter)
  }

  #install(
    kind: FilterKind,
    criteria: LogCriteria | undefined,
    subscribe: (push: (item: Hex | LogJson | TransactionJson) => void) => () => void,
  ): Hex {
    if (this.#filters.size >= this.#options.maxFilters) {
      throw limitExceeded(
        `too many filters: ${this.#options.maxFilters} are installed; uninstall unused filters with eth_uninstallFilter or wait for them to expire`,
      )
    }
    const id = newSubscriptionId()
    const filter: InstalledFilter = {
      kind,
      criteria,
      lastPolled: this.#options.now(),
      pending: [],
      unsubscribe: () => {},
    }
    const max = this.#options.maxPendingItems
    filter.unsubscribe = subscribe((item) => {
      filter.pending.push(item)
      if (filter.pending.length > max) filter.pending.splice(0, filter.pending.length - max)
    })
    this.#filters.set(id, filter)
    return id
  }

  /** A filter past its deadline is gone even if the sweeper has not run yet. */
  #live(id: Hex): InstalledFilter {
    const filter = this.#filters.get(id)
    if (filter === undefined) throw filterNotFound()
    if (this.#options.now() - filter.lastPolled >= this.#options.timeoutMs) {
      this.#remove(id, filter)
      throw filterNotFound()
    }
    return filter
  }

  #remove(id: Hex, filter: InstalledFilter): void {
    this.#filters.delete(id)
    filter.unsubscribe()
  }
}

/** Numeric bounds limit which new logs a filter collects; tags (latest, safe...) do not. */
function logInRange(log: LogRecord, criteria: LogCriteria): boolean {
  if (criteria.blockHash !== undefined) {
    return Buffer.compare(criteria.blockHash, log.blockHash) === 0
  }
  if (typeof criteria.fromBlock === 'bigint' && log.blockNumber < criteria.fromBlock) return false
  if (typeof criteria.toBlock === 'bigint' && log.blockNumber > criteria.toBlock) return false
  return true
}

/** geth takes any string as an id; one it never issued is simply `filter not found`. */
const filterIdSchema = z
  .string({ error: 'cannot unmarshal non-string into rpc.ID' })
  .transform((id) => id.toLowerCase() as Hex)

/** The eth_*Filter* methods over a manager, ready to merge into the server's method map. */
export function filterMethods(manager: FilterManager): RpcMethods {
  return {
    eth_newFilter: (params) => {
      const [criteria] = parseParams(params, [logCriteriaSchema])
      return manager.newFilter(criteria)
    },
    eth_newBlockFilter: (params) => {
      parseParams(params, [])
      return manager.newBlockFilter()
    },
    eth_newPendingTransactionFilter: (params) => {
      const [fullTransactions] = parseParams(params, [fullTransactionsSchema], 0)
      return manager.newPendingTransactionFilter(fullTransactions ?? false)
    },
    eth_getFilterChanges: (params) => manager.getFilterChanges(parseParams(params, [filterIdSchema])[0]),
    eth_getFilterLogs: (params) => manager.getFilterLogs(parseParams(params, [filterIdSchema])[0]),
    eth_uninstallFilter: (params) => manager.uninstallFilter(parseParams(params, [filterIdSchema])[0]),
  }
}
