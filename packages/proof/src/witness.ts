import { z } from 'zod'
import { WitnessError } from './errors.ts'

type Hex = `0x${string}`

/** One storage slot of a touched account: EIP-1186 `storageProof` item (`value` is the minimal big-endian word). */
export interface StorageWitness {
  key: Hex
  value: Hex
  proof: Hex[]
}

/** A touched account at the parent state: an EIP-1186 proof (the `eth_getProof` shape). */
export interface AccountWitness {
  address: Hex
  nonce: Hex
  balance: Hex
  codeHash: Hex
  storageHash: Hex
  accountProof: Hex[]
  storageProof: StorageWitness[]
}

/**
 * Everything needed to re-execute a run of L2 blocks (a batch) without a database, checked
 * against one number: the parent block's state root. It is JSON (hex strings), which is what
 * `cairn_getBatchWitness` returns and what a prover stores or forwards as is.
 *
 * - `parentHeader`: RLP of the header the first block builds on; its `stateRoot` is the pre-state.
 * - `ancestors`: RLP headers older than the parent, newest first and hash-linked, as far back as
 *   BLOCKHASH reaches in these blocks (none when no block asks).
 * - `blocks`: RLP of the blocks, oldest first.
 * - `accounts`: a pre-state proof of every account the execution touches, with every slot it touches.
 * - `codes`: bytecode of the touched contracts.
 * - `nodes`: other pre-state trie nodes execution reads that are not on a proof path (the sibling a
 *   deletion folds into its parent branch). Nodes are looked up by their own hash, so they cannot lie.
 */
export interface BatchWitness {
  version: 1
  chainId: Hex
  parentHeader: Hex
  ancestors: Hex[]
  blocks: Hex[]
  accounts: AccountWitness[]
  codes: Hex[]
  nodes: Hex[]
}

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, 'expected 0x-prefixed hex') as unknown as z.ZodType<Hex>

const witnessSchema = z.object({
  version: z.literal(1),
  chainId: hex,
  parentHeader: hex,
  ancestors: z.array(hex),
  blocks: z.array(hex).min(1),
  accounts: z.array(
    z.object({
      address: hex,
      nonce: hex,
      balance: hex,
      codeHash: hex,
      storageHash: hex,
      accountProof: z.array(hex),
      storageProof: z.array(z.object({ key: hex, value: hex, proof: z.array(hex) })),
    }),
  ),
  codes: z.array(hex),
  nodes: z.array(hex),
})

/** Parses a witness received as JSON (text or a parsed value); WITNESS_MALFORMED names the bad field. */
export function parseWitness(input: unknown): BatchWitness {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (error) {
      throw new WitnessError('WITNESS_MALFORMED', `the witness is not JSON: ${(error as Error).message}`)
    }
  }
  const parsed = witnessSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new WitnessError(
      'WITNESS_MALFORMED',
      `the witness field ${issue.path.join('.') || '(root)'} is invalid: ${issue.message}`,
    )
  }
  return parsed.data as BatchWitness
}

/** The witness as JSON text. */
export function serializeWitness(witness: BatchWitness): string {
  return JSON.stringify(witness)
}

/** Rough size of a witness in bytes (hex halves), for logs and metrics. */
export function witnessSize(witness: BatchWitness): number {
  let chars = witness.parentHeader.length
  for (const list of [witness.ancestors, witness.blocks, witness.codes, witness.nodes])
    for (const item of list) chars += item.length
  for (const account of witness.accounts) {
    for (const node of account.accountProof) chars += node.length
    for (const slot of account.storageProof) for (const node of slot.proof) chars += node.length
  }
  return Math.round(chars / 2)
}
