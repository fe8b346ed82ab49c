import { CairnError } from '@cairn/primitives'
import { readFileSync } from 'node:fs'
import { type Address, getAddress, type Hex, isAddress } from 'viem'
import { z } from 'zod'

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), 'must be a 20-byte hex address')
  .transform((value) => getAddress(value) as Address)
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex string')
  .refine((value) => !/^0x0{64}$/.test(value), 'must not be zero')
  .transform((value) => value.toLowerCase() as Hex)
const wei = z.string().regex(/^\d+$/, 'must be a decimal string of wei')
const uint = (max: number) => z.number().int().min(0).max(max)
const positive = (max: number) => z.number().int().min(1).max(max)
const UINT64 = Number.MAX_SAFE_INTEGER
const verifierName = z.enum(['TEE', 'ZK_CIRCUIT', 'ZKVM'])

/** The L1 deployment config file (deploy/config/*.json); every field but `l2Genesis` is required, and all are checked. */
export const deployConfigSchema = z
  .object({
    /** The RPC must report this chain id; guards against deploying to the wrong network. */
    l1ChainId: positive(UINT64),
    l2ChainId: positive(UINT64),
    timelock: z
      .object({
        minDelaySeconds: uint(UINT64),
        /** May schedule (and cancel) operations: typically a multisig. */
        proposers: z.array(address).min(1),
        /** May execute ready operations; an empty list is rejected, use the proposers. */
        executors: z.array(address).min(1),
      })
      .strict(),
    /**
     * The L2 genesis block the Inbox starts from (`npm run genesis:l2 -- --update-config` writes it);
     * deploy:l1 refuses one that is not the block 0 of the genesis `l2Genesis` gives (preflight.ts).
     */
    genesis: z.object({ blockHash: bytes32, stateRoot: bytes32 }).strict(),
    /**
     * What `genesis:l2` puts in a public chain's L2 genesis besides the predeploys (the devnet's genesis
     * funds the dev accounts instead).
     */
    l2Genesis: z
      .object({
        /** Accounts funded at genesis, address → balance in wei (a faucet; never a dev mnemonic key). */
        alloc: z.record(z.string().regex(/^0x[0-9a-fA-F]{40}$/), wei, {
          error: (issue) => (issue.code === 'invalid_key' ? 'keys must be 20-byte hex addresses' : undefined),
        }),
        /** Block gas limit (default 60,000,000, the dev chain's). */
        gasLimit: positive(UINT64).optional(),
      })
      .strict()
      .optional(),
    inbox: z
      .object({
        ringBufferSize: positive(UINT64).min(2),
        maxBlocksPerBatch: positive(65535),
        maxBlobsPerBatch: positive(255),
        anchorWindow: positive(256),
        fallbackWindow: uint(UINT64),
        basedMode: z.boolean(),
        maxBatchesToVerify: positive(65535),
      })
      .strict(),
    preconf: z.object({ epochLength: positive(UINT64), operators: z.array(address) }).strict(),
    forcedInclusion: z
      .object({
        feeWei: wei,
        inclusionDelay: uint(UINT64),
        staleWindow: uint(UINT64),
        maxCalldataBytes: uint(2 ** 32 - 1),
      })
      .strict(),
    verifier: z
      .object({
        /** Each entry is one sufficient combination of proof types. */
        sufficient: z.array(z.array(verifierName).min(1)).min(1),
        tee: z.object({ attestationAuthority: address, maxInstanceValiditySeconds: positive(UINT64) }).strict(),
        /** Address of an already deployed zk circuit verifier, if any. */
        zkCircuit: address.optional(),
        /** Address of an already deployed zkVM verifier, if any. */
        zkvm: address.optional(),
      })
      .strict()
      // A chain whose every sufficient combination needs a verifier nobody deployed can never verify a batch.
      .refine((verifier) => verifier.sufficient.some((combo) => combo.every((name) => provable(verifier, name))), {
        path: ['sufficient'],
        message:
          'no combination can be proven: this script deploys only the TEE verifier, ZK_CIRCUIT needs verifier.zkCircuit and ZKVM verifier.zkvm (an address already deployed); add ["TEE"] or set those addresses',
      }),
  })
  .strict()

export type DeployConfig = z.infer<typeof deployConfigSchema>

/** Whether proofs of this kind can be verified once deployed: TEE's verifier is deployed here, the others given. */
function provable(verifier: { zkCircuit?: string; zkvm?: string }, name: z.infer<typeof verifierName>): boolean {
  if (name === 'ZK_CIRCUIT') return verifier.zkCircuit !== undefined
  if (name === 'ZKVM') return verifier.zkvm !== undefined
  return true
}

/** Validates a parsed config; the error names each bad field and what is wrong with it. */
export function parseDeployConfig(input: unknown, source = 'config'): DeployConfig {
  const result = deployConfigSchema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
  throw new CairnError('DEPLOY_CONFIG_INVALID', `${source} is invalid:\n  ${problems.join('\n  ')}`, {
    details: { issues: result.error.issues },
  })
}

export function loadDeployConfig(path: string): DeployConfig {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new CairnError('DEPLOY_CONFIG_UNREADABLE', `Cannot read deploy config ${path}: ${String(cause)}`, { cause })
  }
  return parseDeployConfig(raw, path)
}
