import type { Common } from '@ethereumjs/common'
import { type TypedTransaction, createTxFromRLP } from '@ethereumjs/tx'
import { createAddressFromString } from '@ethereumjs/util'
import type { BlockAttributes } from '@cairn/executor'
import type { L1Anchor } from '@cairn/primitives'
import type { ForcedInclusionRef } from './forced-inclusions.ts'

/** The parts of a `BatchProposed` meta derivation reads. */
export interface ProposedBatch {
  batchId: bigint
  firstBlockId: bigint
  anchorBlockId: bigint
  anchorBlockHash: Uint8Array
  blocks: { timestamp: bigint; gasLimit: bigint; coinbase: `0x${string}` }[]
  /** Forced inclusions the proposal consumed, oldest first: their transactions open block 0. */
  forcedInclusions: ForcedInclusionRef[]
}

/** What the batch codec produced from the blobs: per-block raw transactions, or nothing usable. */
export type DecodedPayload = { ok: true; blocks: { transactions: Uint8Array[] }[] } | { ok: false; reason: string }

export interface DerivedBlockInput {
  number: bigint
  attributes: BlockAttributes
  /** Transactions in order; undecodable bytes are already dropped (rule 5). */
  transactions: TypedTransaction[]
}

/**
 * The fixed derivation rules of docs/protocol.md, as a pure function: block parameters from the
 * L1 event, transactions from the decoded blobs (forced inclusions first in block 0), and empty
 * blocks when the payload does not decode or does not match the event's block count.
 */
export function deriveBlockInputs(
  batch: ProposedBatch,
  payload: DecodedPayload,
  anchor: L1Anchor,
  common: Common,
  forced: Uint8Array[] = [],
): DerivedBlockInput[] {
  const usable = payload.ok && payload.blocks.length === batch.blocks.length
  return batch.blocks.map((params, i) => {
    const raw = [...(i === 0 ? forced : []), ...(usable ? payload.blocks[i]!.transactions : [])]
    return {
      number: batch.firstBlockId + BigInt(i),
      attributes: {
        timestamp: params.timestamp,
        gasLimit: params.gasLimit,
        coinbase: createAddressFromString(params.coinbase),
        anchor,
      },
      transactions: decodeTransactions(raw, common),
    }
  })
}

/** Decodes raw transactions, dropping any that do not decode or are blob transactions (not allowed on L2). */
export function decodeTransactions(raws: Uint8Array[], common: Common): TypedTransaction[] {
  const txs: TypedTransaction[] = []
  for (const raw of raws) {
    try {
      const tx = createTxFromRLP(raw, { common })
      if (tx.type !== 3) txs.push(tx)
    } catch {
      // Rule 5: a transaction that does not decode is skipped.
    }
  }
  return txs
}
