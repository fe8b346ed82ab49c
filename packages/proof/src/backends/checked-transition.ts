import type { Common } from '@ethereumjs/common'
import type { Transition } from '@cairn/contracts'
import type { Hex } from 'viem'
import type { ProofRequest } from '../backend.ts'
import { batchPublicInput } from '../public-input.ts'
import { executeWitness } from '../stateless.ts'

/**
 * The batch's transition, re-executed here from the request's witness, and the public input hash
 * that binds it to the batch and the prover. Every backend proves this and only this: a witness
 * that fails a check throws its WitnessError before anything is signed or sent.
 */
export async function checkedTransition(
  request: ProofRequest,
  common: Common,
): Promise<{ transition: Transition; publicInput: Hex }> {
  const { transition } = await executeWitness(request.witness, { common, batch: request.meta })
  const { hash } = batchPublicInput({
    chainId: request.chainId,
    meta: request.meta,
    transition,
    prover: request.prover,
  })
  return { transition, publicInput: hash }
}
