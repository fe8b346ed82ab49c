import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { bytesToHex, equalBytes, type Hex, type LogRecord, type ReceiptRecord } from '@cairn/primitives'
import { invalidParams, limitExceeded, RpcError, RpcErrorCode } from './errors.ts'
import { formatLog, formatReceipt, type ReceiptJson, type TransactionJson } from './format.ts'
import { hashSchema, logCriteriaSchema, parseParam, type LogCriteria } from './params.ts'

/** Where chain events come from; each `on*` returns its unsubscribe function. */
export interface SubscriptionSource {
  /** `header` is already the JSON geth would send (see formatHeader). */
  onNewHead(listener: (header: unknown) => void): () => void
  /** Logs of a new canonical block, or of a dropped block with `removed: true` (reorg). */
  onLogs(listener: (logs: LogRecord[]) => void): () => void
  onPendingTransaction(listener: (hash: Hex) => void): () => void
  /** The receipts of each block that joins the canonical chain, in block order. */
  onReceipts(listener: (receipts: readonly ReceiptRecord[]) => void): () => void
  /**
   * Full pending transactions (formatted as geth's pending transactions) for `newPendingTransactions`
   * with `true` and full pending-transaction filters; a source without it refuses those.
   */
  onPendingTransactionFull?(listener: (tx: TransactionJson) => void): () => void
}

/** Address and topic part of log criteria; block bounds are the caller's business. */
export type LogMatchCriteria = Pick<LogCriteria, 'addresses' | 'topics'>

/**
 * geth's filterLogs: the address must be one of `addresses` (if any), and for each topic
 * position the log's topic must be one of the alternatives (null: anything). A log with fewer
 * topics than positions never matches.
 */
export function matchesLogCriteria(log: LogRecord, criteria: LogMatchCriteria): boolean {
  if (criteria.addresses.length > 0 && !criteria.addresses.some((address) => equalBytes(address, log.address))) {
    return false
  }
  if (criteria.topics.length > log.topics.length) return false
  for (let position = 0; position < criteria.topics.length; position++) {
    const alternatives = criteria.topics[position]
    if (alternatives === null || alternatives === undefined || alternatives.length === 0) continue
    const topic = log.topics[position]!
    if (!alternatives.some((alternative) => equalBytes(alternative, topic))) return false
  }
  return true
}

/** geth's random ids: 16 random bytes in hex, leading zeros trimmed. */
export function newSubscriptionId(): Hex {
  const hex = randomBytes(16).toString('hex').replace(/^0+/, '')
  return `0x${hex === '' ? '0' : hex}`
}

export type SubscriptionKind = 'newHeads' | 'logs' | 'newPendingTransactions' | 'transactionReceipts' | 'syncing'

/** Called for each notification's `result`. */
export type SubscriptionNotify = (result: unknown) => void

/**
 * Starts one eth_subscribe subscription from its params (`[kind, ...args]`) and returns its
 * cancel function. Throws geth's errors for unknown kinds and bad arguments.
 */
export function startSubscription(
  source: SubscriptionSource,
  params: readonly unknown[],
  notify: SubscriptionNotify,
): () => void {
  const kind = params[0]
  if (typeof kind !== 'string') throw invalidParams('expected subscription name as first argument')
  switch (kind) {
    case 'newHeads':
      if (params.length > 1) throw invalidParams('too many arguments, want at most 1')
      return source.onNewHead(notify)
    case 'logs':
      return startLogsSubscription(source, params, notify)
    case 'newPendingTransactions':
      return startPendingSubscription(source, params, notify)
    case 'transactionReceipts':
      return startReceiptsSubscription(source, params, notify)
    case 'syncing':
      // geth notifies only when syncing starts or stops; this node answers eth_syncing `false`
      // throughout (it follows its chain block by block), so the subscription stays silent.
      if (params.length > 1) throw invalidParams('too many arguments, want at most 1')
      return () => {}
    default:
      throw new RpcError(RpcErrorCode.MethodNotFound, `no "${kind}" subscription in eth namespace`, {
        code: 'RPC_SUBSCRIPTION_NOT_FOUND',
      })
  }
}

/**
 * The optional argument after a subscription's name, parsed with `schema`; undefined when absent or
 * null. More arguments than that are refused, as geth does.
 */
function subscriptionArgument<T extends z.ZodType>(params: readonly unknown[], schema: T): z.output<T> | undefined {
  if (params.length > 2) throw invalidParams('too many arguments, want at most 2')
  return params[1] === undefined || params[1] === null ? undefined : parseParam(schema, params[1], 1)
}

function startLogsSubscription(
  source: SubscriptionSource,
  params: readonly unknown[],
  notify: SubscriptionNotify,
): () => void {
  const criteria: LogMatchCriteria = subscriptionArgument(params, logCriteriaSchema) ?? { addresses: [], topics: [] }
  return source.onLogs((logs) => {
    // One notification per log, like geth.
    for (const log of logs) if (matchesLogCriteria(log, criteria)) notify(formattedLog(log))
  })
}

/**
 * The same record reaches every subscriber: `format` runs once per record (and the server serializes
 * each result once).
 */
export function formattedOnce<Item extends object, Json>(format: (item: Item) => Json): (item: Item) => Json {
  const formatted = new WeakMap<Item, Json>()
  return (item) => {
    let json = formatted.get(item)
    if (json === undefined) {
      json = format(item)
      formatted.set(item, json)
    }
    return json
  }
}

export const formattedLog = formattedOnce(formatLog)

/** geth's optional `fullTx` flag of newPendingTransactions and eth_newPendingTransactionFilter. */
export const fullTransactionsSchema = z.boolean({ error: 'cannot unmarshal non-bool into bool' })

function startPendingSubscription(
  source: SubscriptionSource,
  params: readonly unknown[],
  notify: SubscriptionNotify,
): () => void {
  const fullTransactions = subscriptionArgument(params, fullTransactionsSchema) ?? false
  if (!fullTransactions) return source.onPendingTransaction(notify)
  if (source.onPendingTransactionFull === undefined) {
    throw invalidParams(
      'invalid argument 1: full pending transactions are not supported by this node; subscribe with false',
    )
  }
  return source.onPendingTransactionFull(notify)
}

/** geth's cap on the hashes one transactionReceipts subscription may name. */
const MAX_RECEIPT_SUBSCRIPTION_HASHES = 200

const receiptsQuerySchema = z.object(
  { transactionHashes: z.array(hashSchema, { error: 'cannot unmarshal non-array into []common.Hash' }).nullish() },
  { error: 'cannot unmarshal non-object into TransactionReceiptsQuery' },
)

/**
 * geth's `transactionReceipts` (2025): each new canonical block's receipts, as eth_getTransactionReceipt
 * gives them, in one notification per block; with `transactionHashes`, only those transactions' receipts,
 * and blocks with none of them send nothing. Dropped blocks send nothing either.
 */
function startReceiptsSubscription(
  source: SubscriptionSource,
  params: readonly unknown[],
  notify: SubscriptionNotify,
): () => void {
  const hashes = subscriptionArgument(params, receiptsQuerySchema)?.transactionHashes ?? []
  if (hashes.length > MAX_RECEIPT_SUBSCRIPTION_HASHES) {
    throw limitExceeded(
      `exceed max number of transaction hashes allowed per transactionReceipts subscription (${MAX_RECEIPT_SUBSCRIPTION_HASHES}); open several subscriptions`,
    )
  }
  const wanted = hashes.length === 0 ? undefined : new Set(hashes.map((hash) => bytesToHex(hash)))
  return source.onReceipts((receipts) => {
    const matched: ReceiptJson[] = []
    for (const receipt of receipts) {
      if (wanted === undefined || wanted.has(bytesToHex(receipt.transactionHash)))
        matched.push(formattedReceipt(receipt))
    }
    if (matched.length > 0) notify(matched)
  })
}

const formattedReceipt = formattedOnce(formatReceipt)
