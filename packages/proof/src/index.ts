export type { ProofBackend, ProofRequest, ProofResult } from './backend.ts'
export { HttpProofBackend, RemoteProverError } from './backends/http.ts'
export { TeeBackend } from './backends/tee.ts'
export { WitnessError, type WitnessErrorCode } from './errors.ts'
export { aggregatePublicInputs, batchMetaHash, batchPublicInput, publicInputHash } from './public-input.ts'
export { type BatchShape, type StatelessResult, executeWitness } from './stateless.ts'
export {
  type AccountWitness,
  type BatchWitness,
  type StorageWitness,
  parseWitness,
  serializeWitness,
  witnessSize,
} from './witness.ts'
export { type WitnessChainSource, buildBatchWitness } from './witness-builder.ts'
