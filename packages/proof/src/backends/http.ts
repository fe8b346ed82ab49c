import type { Common } from '@ethereumjs/common'
import type { VerifierId } from '@cairn/contracts'
import { CairnError } from '@cairn/primitives'
import type { Hex } from 'viem'
import type { ProofBackend, ProofRequest, ProofResult } from '../backend.ts'
import { serializeWitness } from '../witness.ts'
import { checkedTransition } from './checked-transition.ts'

export class RemoteProverError extends CairnError {
  override readonly name = 'RemoteProverError'
}

/**
 * A remote prover behind a raiko-style HTTP API (for a production zkEVM prover): the request is
 * POSTed to `{url}/v2/proof/batch`; the server answers `{status: "ok", data: {status: "registered" |
 * "work_in_progress"}}` while it works (the same request is re-sent to poll), then
 * `{status: "ok", data: {proof: "0x…"}}`, or `{status: "error", message}`.
 *
 * The transition is computed here first, from the same witness (stateless re-execution), and sent
 * along: the driver never submits a transition it has not checked itself, and a remote prover that
 * disagrees simply produces a proof the L1 rejects.
 */
export class HttpProofBackend implements ProofBackend {
  readonly name: string

  constructor(
    private readonly options: {
      url: string
      verifierId: VerifierId
      /** `proof_type` sent to the server (raiko: `sp1`, `risc0`, …). */
      proofType: string
      common: Common
      pollIntervalMs?: number
      timeoutMs?: number
      fetch?: typeof fetch
    },
  ) {
    this.name = `http:${options.proofType}`
  }

  get verifierId(): VerifierId {
    return this.options.verifierId
  }

  async prove(request: ProofRequest): Promise<ProofResult> {
    const started = performance.now()
    const { transition, publicInput } = await checkedTransition(request, this.options.common)
    const body = `{"proof_type":${JSON.stringify(this.options.proofType)},"batch_id":"${request.batchId}","chain_id":"${request.chainId}","prover":"${request.prover}","public_input":"${publicInput}","transition":${JSON.stringify(transition)},"witness":${serializeWitness(request.witness)}}`
    const doFetch = this.options.fetch ?? fetch
    const deadline = Date.now() + (this.options.timeoutMs ?? 3_600_000)
    for (;;) {
      const response = await doFetch(`${this.options.url.replace(/\/$/, '')}/v2/proof/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      const answer = (await response.json().catch(() => undefined)) as
        | { status?: string; message?: string; data?: { status?: string; proof?: Hex | { proof?: Hex } } }
        | undefined
      if (!response.ok || answer === undefined || answer.status !== 'ok')
        throw new RemoteProverError(
          'REMOTE_PROVER_FAILED',
          `the prover at ${this.options.url} refused batch ${request.batchId}: ${answer?.message ?? `HTTP ${response.status}`}`,
        )
      const proof = typeof answer.data?.proof === 'string' ? answer.data.proof : answer.data?.proof?.proof
      if (proof !== undefined)
        return {
          batchId: request.batchId,
          verifierId: this.options.verifierId,
          transition,
          publicInput,
          proof,
          millis: performance.now() - started,
        }
      if (Date.now() > deadline)
        throw new RemoteProverError(
          'REMOTE_PROVER_TIMEOUT',
          `the prover at ${this.options.url} took too long for batch ${request.batchId}`,
        )
      await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMs ?? 5_000))
    }
  }
}
