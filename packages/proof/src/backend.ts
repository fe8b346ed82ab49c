import type { BatchMeta, Transition, VerifierId } from '@cairn/contracts'
import type { Address, Hex } from 'viem'
import type { BatchWitness } from './witness.ts'

/**
 * What a prover driver asks a backend for: one batch, with everything needed to prove it. The
 * driver (watch L1, fetch the witness, submit) is the same for every proof system; the backend
 * turns a request into a sub-proof for one ComposeVerifier slot.
 */
export interface ProofRequest {
  batchId: bigint
  /** L2 chain id. */
  chainId: bigint
  /** The batch as `BatchProposed` emitted it; its hash goes into the public input. */
  meta: BatchMeta
  /** Sender of `proveBatches`: bound into the public input, so a proof cannot be replayed by another account. */
  prover: Address
  witness: BatchWitness
}

/** A backend's answer: the transition it computed and the sub-proof that attests it. */
export interface ProofResult {
  batchId: bigint
  verifierId: VerifierId
  transition: Transition
  /** The public input hash the proof commits to. */
  publicInput: Hex
  /** Bytes for the verifier (for TEE: `abi.encode(instance, signature)`). */
  proof: Hex
  /** Wall time the backend spent, in milliseconds. */
  millis: number
}

/** One proof system: TEE (an enclave key), a local zk circuit or zkVM, or a remote prover over HTTP. */
export interface ProofBackend {
  readonly name: string
  readonly verifierId: VerifierId
  prove(request: ProofRequest): Promise<ProofResult>
}
