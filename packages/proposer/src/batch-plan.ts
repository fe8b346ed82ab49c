import { type BatchBlock, BatchEncodeError, splitIntoBatches } from '@cairn/batch'
import { lastAcceptingL1Block } from '@cairn/contracts'
import { hexToBytes } from 'viem'
import type { L2Block } from './l2-source.ts'

/** What closes a batch and makes it ready to propose. */
export type ProposeTrigger =
  | 'full'
  | 'anchor_changed'
  | 'age'
  | 'forced_inclusion_due'
  | 'anchor_expiring'
  | 'replacement'

/** Why nothing is proposed this round. */
export type WaitReason = 'no_blocks' | 'filling' | 'anchor_ahead_of_l1' | 'anchor_out_of_window' | 'block_too_large'

export type BatchPlan =
  | { kind: 'propose'; blocks: L2Block[]; payload: Uint8Array; trigger: ProposeTrigger }
  | { kind: 'wait'; reason: WaitReason; message?: string }

export interface PlanInput {
  /** Consecutive L2 blocks starting at the next block to propose. */
  blocks: readonly L2Block[]
  maxBlocks: number
  maxPayloadBytes: number
  maxBatchAgeSeconds: number
  nowSeconds: number
  /** Number of the latest L1 block; the proposal lands in a later one. */
  l1Head: bigint
  /** Inbox `anchorWindow`: the anchor must be within this many L1 blocks of the proposal block. */
  anchorWindow: number
  /** Propose early when the anchor would leave the window within this many L1 blocks. */
  anchorMargin: number
  forcedInclusionsDue: boolean
  /** Propose whatever is ready (a replacement of a proposal already sent). */
  force?: boolean
}

export function toBatchBlock(block: L2Block): BatchBlock {
  return {
    timestamp: block.timestamp,
    gasLimit: block.gasLimit,
    coinbase: hexToBytes(block.coinbase),
    anchorBlockNumber: block.anchorBlockNumber,
    transactions: block.transactions,
  }
}

/**
 * Decides the next batch: the longest run of blocks from the start that share one anchor L1 block
 * (a batch has one `anchorBlockId`), is at most `maxBlocks` long and whose payload fits the blobs.
 * It is proposed once it cannot grow (full, or the anchor changes after it) or when waiting longer
 * would cost: its oldest block reached `maxBatchAgeSeconds`, a forced inclusion is due, or the
 * anchor is about to leave the Inbox's window. Pure: the proposer loop supplies every input.
 */
export function planBatch(input: PlanInput): BatchPlan {
  // A block stamped after the L1 clock would revert with TimestampInFuture; it waits.
  const ready: L2Block[] = []
  for (const block of input.blocks) {
    if (block.timestamp > BigInt(Math.floor(input.nowSeconds))) break
    ready.push(block)
  }
  const first = ready[0]
  if (first === undefined) return { kind: 'wait', reason: 'no_blocks' }
  const anchor = first.anchorBlockNumber
  if (anchor > input.l1Head) {
    return {
      kind: 'wait',
      reason: 'anchor_ahead_of_l1',
      message: `L2 block ${first.number} anchors to L1 block ${anchor}, past the L1 head ${input.l1Head}`,
    }
  }
  if (lastAcceptingL1Block(anchor, input.anchorWindow) < input.l1Head + 1n) {
    return {
      kind: 'wait',
      reason: 'anchor_out_of_window',
      message: `L2 block ${first.number} anchors to L1 block ${anchor}, more than anchorWindow=${input.anchorWindow} blocks behind the next L1 block; the Inbox will refuse it (the nodes drop it and the blocks after it, and the sequencer builds them again)`,
    }
  }

  let count = 0
  while (count < ready.length && count < input.maxBlocks && ready[count]!.anchorBlockNumber === anchor) count++
  const anchorChanged = count < ready.length && count < input.maxBlocks
  const group = ready.slice(0, count)

  let encoded: ReturnType<typeof splitIntoBatches>
  try {
    encoded = splitIntoBatches(group.map(toBatchBlock), {
      maxPayloadBytes: input.maxPayloadBytes,
      maxBlocksPerBatch: input.maxBlocks,
    })
  } catch (error) {
    if (error instanceof BatchEncodeError) return { kind: 'wait', reason: 'block_too_large', message: error.message }
    throw error
  }
  const batch = encoded[0]!
  const taken = batch.manifest.blocks.length
  const blocks = group.slice(0, taken)
  const payload = batch.payload

  let trigger: ProposeTrigger | undefined
  if (encoded.length > 1 || taken === input.maxBlocks) trigger = 'full'
  else if (anchorChanged) trigger = 'anchor_changed'
  else if (input.forcedInclusionsDue) trigger = 'forced_inclusion_due'
  else if (input.nowSeconds - Number(first.timestamp) >= input.maxBatchAgeSeconds) trigger = 'age'
  else if (input.l1Head + 1n + BigInt(input.anchorMargin) >= lastAcceptingL1Block(anchor, input.anchorWindow))
    trigger = 'anchor_expiring'
  else if (input.force) trigger = 'replacement'
  if (trigger === undefined) return { kind: 'wait', reason: 'filling' }
  return { kind: 'propose', blocks, payload, trigger }
}
