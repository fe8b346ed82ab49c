import {
  type BatchMeta,
  type PublicInput,
  type Transition,
  aggregatePublicInputs,
  batchMetaHash,
  publicInputHash,
} from '@cairn/contracts'
import type { Address, Hex } from 'viem'

/**
 * The public input of one batch's proof, built exactly as `LibPublicInput.hash` builds it on L1
 * (the hashing itself is `@cairn/contracts`' `publicInputHash`, checked against the shared vectors).
 */
export function batchPublicInput(input: {
  /** L2 chain id. */
  chainId: bigint
  /** The batch's L1 metadata, or its hash. */
  meta: BatchMeta | Hex
  transition: Transition
  /** The account that will call `proveBatches` (the Inbox passes `msg.sender`). */
  prover: Address
}): { fields: PublicInput; hash: Hex } {
  const fields: PublicInput = {
    chainId: input.chainId,
    batchMetaHash: typeof input.meta === 'string' ? input.meta : batchMetaHash(input.meta),
    parentHash: input.transition.parentHash,
    blockHash: input.transition.blockHash,
    stateRoot: input.transition.stateRoot,
    prover: input.prover,
  }
  return { fields, hash: publicInputHash(fields) }
}

export { aggregatePublicInputs, batchMetaHash, publicInputHash }
