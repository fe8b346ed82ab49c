import type { Block } from '@ethereumjs/block'
import { bytesToHex } from '@ethereumjs/util'
import { z } from 'zod'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import type { Hex } from '@cairn/primitives'
import {
  type BlockSelector,
  type RpcMethods,
  addressSchema,
  blockNumberOrTagSchema,
  blockSelectorSchema,
  callRequestSchema,
  hashSchema,
  hexOrDecimal64Schema,
  invalidParams,
  parseParams,
} from '@cairn/rpc'
import {
  type EvmTracer,
  type FlatCallTrace,
  type PrestateAccount,
  createMuxTracer,
  createPrestateTracer,
  createTraceApiTracer,
} from '@cairn/tracer'
import type { TraceService } from './eth-api.ts'
import { blockNumberOf } from './logs.ts'
import { parityStateDiff } from './parity-state-diff.ts'

/**
 * What one trace_filter replays at most: every block of its range is re-executed (there is no index
 * of the addresses calls touched), on the thread that also builds blocks, ~0.5 ms a transaction.
 * 100 blocks as Reth; and as this chain's blocks come every second and can hold thousands of
 * transfers, a count of transactions too.
 */
export const DEFAULT_TRACE_FILTER_LIMITS = { blocks: 100, transactions: 10_000 }

/** The trace types of trace_replay* and trace_call this node serves (not `vmTrace`, the opcode-level one). */
const SUPPORTED_TRACE_TYPES = ['trace', 'stateDiff']

const traceTypesSchema = z
  .array(z.string({ error: 'a trace type is a string: "trace", "stateDiff" or "vmTrace"' }), {
    error: 'trace types are an array, e.g. ["trace"]',
  })
  .transform((types, ctx) => {
    for (const type of types) {
      if (SUPPORTED_TRACE_TYPES.includes(type)) continue
      ctx.addIssue({
        code: 'custom',
        message:
          type === 'vmTrace'
            ? 'trace type "vmTrace" is not supported by this node; ask for ["trace"] or ["stateDiff"] (for each executed opcode, debug_traceTransaction with the struct logger)'
            : `unknown trace type "${type}"; the types are "trace", "stateDiff" and "vmTrace"`,
      })
      return z.NEVER
    }
    return new Set(types)
  })

const traceFilterSchema = z.object(
  {
    fromBlock: blockNumberOrTagSchema.optional(),
    toBlock: blockNumberOrTagSchema.optional(),
    fromAddress: z.array(addressSchema).nullish(),
    toAddress: z.array(addressSchema).nullish(),
    mode: z.enum(['union', 'intersection']).optional(),
    after: hexOrDecimal64Schema.optional(),
    count: hexOrDecimal64Schema.optional(),
  },
  { error: 'the filter is an object: {fromBlock, toBlock, fromAddress, toAddress, mode, after, count}' },
)

export type TraceFilter = z.output<typeof traceFilterSchema>

/** A trace without its place in a block: what the trace_replay* and trace_call results hold. */
type UnplacedTrace = Omit<FlatCallTrace, 'blockHash' | 'blockNumber' | 'transactionHash' | 'transactionPosition'>

export interface ParityTraceOptions {
  chain: ChainStore
  traces: TraceService
  /** A block by number, tag or hash (EIP-1898); undefined when not there. */
  recordFor(selector: BlockSelector): Promise<BlockRecord | undefined>
  /** The block a call reads, as eth_call picks it (geth's `header not found` when there is none). */
  stateBlock(selector: BlockSelector | undefined): Promise<Block>
  filterLimits?: { blocks: number; transactions: number }
}

/**
 * The `trace_` namespace of OpenEthereum, Erigon, Nethermind and Reth, which block explorers and
 * indexers read internal transactions from: Parity-style call traces, each frame of a transaction
 * one trace, depth first. Unknown transactions and blocks answer null, as those clients do.
 */
export function parityTraceMethods(options: ParityTraceOptions): RpcMethods {
  const { chain, traces } = options
  const limits = options.filterLimits ?? DEFAULT_TRACE_FILTER_LIMITS

  /** A stored transaction's tracer result; null (Parity's answer) for a transaction not on the chain. */
  async function traceTransaction<Result>(hash: Uint8Array, tracer: () => EvmTracer): Promise<Result | null> {
    if ((await chain.getTransactionLocation(hash)) === undefined) return null
    return (await traces.traceTransaction(hash, tracer)) as Result
  }

  /** Each transaction's tracer result, in block order. */
  async function traceBlock<Result>(
    record: BlockRecord,
    tracer: () => EvmTracer,
  ): Promise<{ txHash: Hex; result: Result }[]> {
    // Genesis has no transactions, and no parent to replay on (debug_traceBlock* refuses it, as geth).
    if (record.block.transactions.length === 0) return []
    return (await traces.traceBlock(record, tracer)) as { txHash: Hex; result: Result }[]
  }

  const transactionTraces = (hash: Uint8Array) => traceTransaction<FlatCallTrace[]>(hash, createTraceApiTracer)
  const blockTraces = (record: BlockRecord) => traceBlock<FlatCallTrace[]>(record, createTraceApiTracer)

  async function filterTraces(filter: TraceFilter): Promise<FlatCallTrace[]> {
    const from = blockNumberOf(chain, filter.fromBlock ?? 0n)
    const to = blockNumberOf(chain, filter.toBlock ?? 'latest')
    if (from > to) throw invalidParams(`fromBlock (${from}) is after toBlock (${to})`)
    if (to - from + 1n > BigInt(limits.blocks)) {
      throw invalidParams(
        `trace_filter covers ${to - from + 1n} blocks, more than the ${limits.blocks} it replays at once; ask for a narrower fromBlock–toBlock range`,
      )
    }
    const records: BlockRecord[] = []
    let transactions = 0
    for (let number = from; number <= to; number++) {
      const record = await chain.getBlockByNumber(number)
      if (record === undefined) break // past the head
      records.push(record)
      transactions += record.block.transactions.length
    }
    if (transactions > limits.transactions) {
      throw invalidParams(
        `blocks ${from}–${to} hold ${transactions} transactions, more than the ${limits.transactions} trace_filter replays at once; ask for a narrower fromBlock–toBlock range`,
      )
    }
    const matches = traceMatcher(filter)
    const found: FlatCallTrace[] = []
    for (const record of records) {
      for (const { result } of await blockTraces(record)) {
        for (const trace of result) if (matches(trace)) found.push(trace)
      }
    }
    const after = Number(filter.after ?? 0n)
    return filter.count === undefined ? found.slice(after) : found.slice(after, after + Number(filter.count))
  }

  /** What trace_replay* and trace_call answer for one transaction or call. */
  const replayResult = (replayed: Replayed, types: Set<string>) => ({
    output: topLevelOutput(replayed.trace[0]),
    stateDiff: replayed.stateDiff === undefined ? null : parityStateDiff(replayed.stateDiff),
    trace: types.has('trace') ? replayed.trace.map(unplaced) : [],
    vmTrace: null,
  })

  return {
    trace_transaction: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      return transactionTraces(hash)
    },
    trace_get: async (params) => {
      const [hash, indices] = parseParams(params, [hashSchema, z.array(hexOrDecimal64Schema)])
      const found = await transactionTraces(hash)
      // As Erigon and Reth: one index, the trace's position in trace_transaction's list.
      if (found === null || indices.length !== 1) return null
      return found[Number(indices[0])] ?? null
    },
    trace_block: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await options.recordFor(selector)
      if (record === undefined) return null
      return (await blockTraces(record)).flatMap((entry) => entry.result)
    },
    trace_filter: async (params) => {
      const [filter] = parseParams(params, [traceFilterSchema])
      return filterTraces(filter)
    },
    trace_replayTransaction: async (params) => {
      const [hash, types] = parseParams(params, [hashSchema, traceTypesSchema])
      const replayed = await traceTransaction<Replayed>(hash, replayTracer(types))
      return replayed === null ? null : replayResult(replayed, types)
    },
    trace_replayBlockTransactions: async (params) => {
      const [selector, types] = parseParams(params, [blockSelectorSchema, traceTypesSchema])
      const record = await options.recordFor(selector)
      if (record === undefined) return null
      return (await traceBlock<Replayed>(record, replayTracer(types))).map(({ txHash, result }) => ({
        ...replayResult(result, types),
        transactionHash: txHash,
      }))
    },
    trace_call: async (params) => {
      const [request, types, selector] = parseParams(
        params,
        [callRequestSchema, traceTypesSchema, blockSelectorSchema],
        2,
      )
      const block = await options.stateBlock(selector)
      return replayResult((await traces.traceCall(request, block, replayTracer(types))) as Replayed, types)
    },
  }
}

/**
 * Whether a trace passes trace_filter's address lists: a call goes from its caller to its callee, a
 * creation from its creator to the contract created, a self-destruct from the contract to the
 * beneficiary. In `union` mode (the default, as Erigon and Reth) either listed side matching is
 * enough; in `intersection` both must match, an absent list matching anything.
 */
export function traceMatcher(filter: Pick<TraceFilter, 'fromAddress' | 'toAddress' | 'mode'>) {
  const set = (addresses: Uint8Array[] | null | undefined) =>
    addresses === undefined || addresses === null || addresses.length === 0
      ? undefined
      : new Set<string>(addresses.map((address) => bytesToHex(address)))
  const froms = set(filter.fromAddress)
  const tos = set(filter.toAddress)
  const intersection = filter.mode === 'intersection'
  return (trace: FlatCallTrace): boolean => {
    if (froms === undefined && tos === undefined) return true
    const { action } = trace
    const [from, to] =
      trace.type === 'suicide'
        ? [action.address, action.refundAddress]
        : trace.type === 'create'
          ? [action.from, trace.result?.address]
          : [action.from, action.to]
    const fromMatches = froms !== undefined && from !== undefined && froms.has(from.toLowerCase())
    const toMatches = tos !== undefined && to !== undefined && tos.has(to.toLowerCase())
    if (intersection) return (froms === undefined || fromMatches) && (tos === undefined || toMatches)
    return fromMatches || toMatches
  }
}

/** What a replay's tracer gives: the call traces, and the state changes when `stateDiff` was asked for. */
interface Replayed {
  trace: FlatCallTrace[]
  stateDiff?: { pre: Record<string, PrestateAccount>; post: Record<string, PrestateAccount> }
}

/** The traces over one execution, with prestateTracer's diff beside them when `stateDiff` is asked for. */
function replayTracer(types: Set<string>): () => EvmTracer {
  return () => {
    const tracers = new Map<string, EvmTracer>([['trace', createTraceApiTracer()]])
    if (types.has('stateDiff')) tracers.set('stateDiff', createPrestateTracer({ diffMode: true }))
    return createMuxTracer(tracers)
  }
}

/** The transaction's return data: a call's output (a revert's reason too), a creation's code. */
function topLevelOutput(top: FlatCallTrace | undefined): string {
  return top?.result?.output ?? top?.result?.code ?? '0x'
}

function unplaced(trace: FlatCallTrace): UnplacedTrace {
  const { blockHash, blockNumber, transactionHash, transactionPosition, ...rest } = trace
  return rest
}
