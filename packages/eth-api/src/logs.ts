import type { ChainStore } from '@cairn/chain'
import type { LogRecord } from '@cairn/primitives'
import { type BlockNumberOrTag, type LogCriteria, invalidParams, limitExceeded, serverError } from '@cairn/rpc'

export interface LogLimits {
  maxLogBlockRange: number
  maxLogResults: number
}

/** Number of a block tag or number, against the current heads. */
export function blockNumberOf(chain: ChainStore, value: BlockNumberOrTag | undefined): bigint {
  if (typeof value === 'bigint') return value
  switch (value) {
    case 'earliest':
      return 0n
    case 'safe':
    case 'finalized':
      return chain.head(value).header.number
    default:
      return chain.head('latest').header.number
  }
}

/**
 * eth_getLogs semantics shared by the method and by log filters: resolve the range (or block
 * hash), refuse one past the head, enforce the range and result limits with errors that say what to do.
 */
export function createLogReader(chain: ChainStore, limits: LogLimits): (criteria: LogCriteria) => Promise<LogRecord[]> {
  return async (criteria) => {
    let from: bigint
    let to: bigint
    if (criteria.blockHash !== undefined) {
      const record = await chain.getBlockRecord(criteria.blockHash)
      if (record === undefined) throw serverError('unknown block')
      from = to = record.block.header.number
    } else {
      const latest = chain.head('latest').header.number
      from = blockNumberOf(chain, criteria.fromBlock)
      to = blockNumberOf(chain, criteria.toBlock)
      if (from > to) throw invalidParams('invalid block range params')
      // As geth and reth (execution-apis' eth_getLogs tests): a block not built yet is an
      // error, not an empty answer a client would take for "no logs there".
      if (to > latest) throw invalidParams('block range extends beyond current head block')
      if (to - from + 1n > BigInt(limits.maxLogBlockRange)) {
        throw limitExceeded(
          `block range ${from}-${to} is wider than the limit of ${limits.maxLogBlockRange} blocks; split the query into smaller ranges`,
        )
      }
    }
    try {
      return await chain.getLogs(
        { fromBlock: from, toBlock: to, addresses: criteria.addresses, topics: criteria.topics },
        { maxResults: limits.maxLogResults },
      )
    } catch (error) {
      if ((error as { code?: string }).code === 'LOG_RESULT_LIMIT') {
        throw limitExceeded(
          `query returned more than ${limits.maxLogResults} results; narrow the block range or add address/topic filters`,
        )
      }
      throw error
    }
  }
}
