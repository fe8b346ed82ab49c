import { CairnError } from '@cairn/primitives'

/**
 * Codes a witness is rejected with. A prover never signs a transition it computed from a witness
 * that failed one of these checks.
 */
export type WitnessErrorCode =
  /** The JSON or RLP of the witness does not parse, or a field has the wrong shape. */
  | 'WITNESS_MALFORMED'
  /** The blocks, the parent and the ancestor headers do not hash-link into one chain. */
  | 'WITNESS_CHAIN_BROKEN'
  /** A Merkle proof does not verify against the parent state root (or its account's storage root). */
  | 'WITNESS_PROOF_INVALID'
  /** An account's claimed nonce, balance, code hash or storage root differs from what its proof proves. */
  | 'WITNESS_ACCOUNT_MISMATCH'
  /** A storage slot's claimed value differs from what its proof proves. */
  | 'WITNESS_STORAGE_MISMATCH'
  /** Execution needed state, code or an ancestor header the witness does not carry. */
  | 'WITNESS_INCOMPLETE'
  /** The blocks do not execute to their own headers (state root, receipts, gas) on the witnessed state. */
  | 'WITNESS_EXECUTION_MISMATCH'
  /** The blocks do not match the batch they claim to be (count, numbers, parameters, anchor). */
  | 'WITNESS_BATCH_MISMATCH'

export class WitnessError extends CairnError<WitnessErrorCode> {
  override readonly name = 'WitnessError'
}
