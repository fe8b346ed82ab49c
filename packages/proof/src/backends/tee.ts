import type { Common } from '@ethereumjs/common'
import { VERIFIER_IDS, encodeTeeProof } from '@cairn/contracts'
import type { Hex } from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import type { ProofBackend, ProofRequest, ProofResult } from '../backend.ts'
import { checkedTransition } from './checked-transition.ts'

/**
 * The TEE backend: re-executes the batch from its witness and signs the public input with the
 * instance key. In a real enclave the key never leaves it and the L1 trusts it because of a
 * hardware quote; here the "enclave" is this process and the quote is the stub authority's
 * signature (docs/proving.md). The re-execution, the checks and the signature are real.
 */
export class TeeBackend implements ProofBackend {
  readonly name = 'tee'
  readonly verifierId = VERIFIER_IDS.TEE
  private readonly account: PrivateKeyAccount

  constructor(
    private readonly options: {
      common: Common
      /** The instance's private key (registered on the TeeVerifier). */
      instanceKey: Hex
    },
  ) {
    this.account = privateKeyToAccount(options.instanceKey)
  }

  /** The instance address the TeeVerifier knows this backend by. */
  get instance(): `0x${string}` {
    return this.account.address
  }

  async prove(request: ProofRequest): Promise<ProofResult> {
    const started = performance.now()
    const { transition, publicInput } = await checkedTransition(request, this.options.common)
    // The TeeVerifier recovers the signer of the raw hash (no EIP-191 prefix).
    const signature = await this.account.sign({ hash: publicInput })
    return {
      batchId: request.batchId,
      verifierId: this.verifierId,
      transition,
      publicInput,
      proof: encodeTeeProof(this.account.address, signature),
      millis: performance.now() - started,
    }
  }
}
