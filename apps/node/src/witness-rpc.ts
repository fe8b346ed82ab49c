import type { Common } from '@ethereumjs/common'
import type { ChainStore } from '@cairn/chain'
import type { DerivedBatch } from '@cairn/derivation'
import { WitnessError, buildBatchWitness } from '@cairn/proof'
import { SerialLock } from '@cairn/primitives'
import {
  type RpcMethods,
  invalidParams,
  limitExceeded,
  parseParams,
  resourceNotFound,
  serverError,
  uint64Schema,
} from '@cairn/rpc'
import type { StateDB } from '@cairn/state'
import type { Logger } from '@cairn/telemetry'

/** Most blocks one witness may cover (a batch is at most the Inbox's `maxBlocksPerBatch`). */
export const MAX_WITNESS_BLOCKS = 1024

/**
 * `cairn_getBatchWitness(batchId)` and `cairn_getWitness(firstBlock, lastBlock)`: the stateless
 * execution witness of a derived batch or of a range of canonical blocks (`@cairn/proof`), for
 * provers. Witnesses are built one at a time (each re-executes its blocks).
 */
export function witnessMethods(options: {
  common: Common
  chain: ChainStore
  state: StateDB
  /** Where derivation put each batch; undefined on a node without L1. */
  batches: { batch(batchId: bigint): Promise<DerivedBatch | undefined> } | undefined
  logger: Logger
}): RpcMethods {
  const lock = new SerialLock()
  const build = (firstBlock: bigint, lastBlock: bigint) =>
    lock.run(async () => {
      const started = performance.now()
      try {
        const witness = await buildBatchWitness({
          common: options.common,
          chain: options.chain,
          state: options.state,
          firstBlock,
          lastBlock,
        })
        options.logger.debug(
          {
            firstBlock: Number(firstBlock),
            lastBlock: Number(lastBlock),
            accounts: witness.accounts.length,
            ms: Math.round(performance.now() - started),
          },
          'built witness',
        )
        return witness
      } catch (error) {
        if (error instanceof WitnessError) throw resourceNotFound(error.message)
        throw error
      }
    })

  return {
    cairn_getWitness: async (params) => {
      const [first, last] = parseParams(params, [uint64Schema, uint64Schema])
      if (first < 1n || last < first)
        throw invalidParams(`invalid block range ${first}..${last}: need 1 <= first <= last`)
      if (last - first + 1n > BigInt(MAX_WITNESS_BLOCKS))
        throw limitExceeded(`a witness covers at most ${MAX_WITNESS_BLOCKS} blocks; ask for a shorter range`)
      if (last > options.chain.head().header.number)
        throw resourceNotFound(`block ${last} is beyond the head ${options.chain.head().header.number}`)
      return build(first, last)
    },
    cairn_getBatchWitness: async (params) => {
      const [batchId] = parseParams(params, [uint64Schema])
      if (options.batches === undefined)
        throw serverError('this node does not follow L1 (no --l1.rpc), so it knows no batches; use cairn_getWitness', {
          code: 'WITNESS_NO_L1',
        })
      const batch = await options.batches.batch(batchId)
      if (batch === undefined) throw resourceNotFound(`batch ${batchId} is not derived (yet) by this node`)
      return build(batch.firstBlock, batch.lastBlock)
    },
  }
}
