import { type AbiParameterToPrimitiveType, type Address, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem'

/** `keccak256("CAIRN_PUBLIC_INPUT_V1")`, the domain of every proof's public input. */
export const PUBLIC_INPUT_DOMAIN: Hex = keccak256(toHex('CAIRN_PUBLIC_INPUT_V1'))

/** Domain of the stub attestation quote (AuthorityAttestationVerifier). */
export const ATTESTATION_DOMAIN: Hex = keccak256(toHex('CAIRN_TEE_ATTESTATION_V1'))

/** Verifier ids in ComposeVerifier; a policy mask sets bit `1 << id`. */
export const VERIFIER_IDS = { TEE: 0, ZK_CIRCUIT: 1, ZKVM: 2 } as const
export type VerifierId = (typeof VERIFIER_IDS)[keyof typeof VERIFIER_IDS]

/**
 * The last L1 block in which the Inbox accepts a proposal whose blocks anchor to `anchorBlockId`:
 * `Inbox._checkAnchor` refuses `anchorBlockId + anchorWindow < block.number`.
 */
export function lastAcceptingL1Block(anchorBlockId: bigint, anchorWindow: number): bigint {
  return anchorBlockId + BigInt(anchorWindow)
}

export const blockParamsAbiParameter = {
  type: 'tuple',
  components: [
    { name: 'timestamp', type: 'uint64' },
    { name: 'gasLimit', type: 'uint32' },
    { name: 'coinbase', type: 'address' },
  ],
} as const

export const forcedInclusionAbiParameter = {
  type: 'tuple',
  components: [
    { name: 'id', type: 'uint64' },
    { name: 'createdAtBlock', type: 'uint64' },
    { name: 'feePaid', type: 'uint128' },
    { name: 'blobHash', type: 'bytes32' },
    { name: 'calldataHash', type: 'bytes32' },
  ],
} as const

/** ABI of `IInbox.BatchMeta`; `batchMetaHash = keccak256(abi.encode(meta))`. */
export const batchMetaAbiParameter = {
  type: 'tuple',
  components: [
    { name: 'batchId', type: 'uint64' },
    { name: 'proposer', type: 'address' },
    { name: 'proposedAt', type: 'uint64' },
    { name: 'l1OriginNumber', type: 'uint64' },
    { name: 'l1OriginHash', type: 'bytes32' },
    { name: 'anchorBlockId', type: 'uint64' },
    { name: 'anchorBlockHash', type: 'bytes32' },
    { name: 'firstBlockId', type: 'uint64' },
    { name: 'parentMetaHash', type: 'bytes32' },
    { name: 'blobHashes', type: 'bytes32[]' },
    { name: 'blocks', type: 'tuple[]', components: blockParamsAbiParameter.components },
    { name: 'forcedInclusions', type: 'tuple[]', components: forcedInclusionAbiParameter.components },
  ],
} as const

export type BlockParams = AbiParameterToPrimitiveType<typeof blockParamsAbiParameter>
export type ForcedInclusion = AbiParameterToPrimitiveType<typeof forcedInclusionAbiParameter>
export type BatchMeta = AbiParameterToPrimitiveType<typeof batchMetaAbiParameter>

/** `IInbox.Transition`: the result a proof claims for one batch. */
export type Transition = { parentHash: Hex; blockHash: Hex; stateRoot: Hex }

export type ProposeParams = {
  parentMetaHash: Hex
  anchorBlockId: bigint
  numBlobs: number
  numForcedInclusions: number
  blocks: readonly BlockParams[]
}

export function batchMetaHash(meta: BatchMeta): Hex {
  return keccak256(encodeAbiParameters([batchMetaAbiParameter], [meta]))
}

export type PublicInput = {
  /** L2 chain id. */
  chainId: bigint
  batchMetaHash: Hex
  parentHash: Hex
  blockHash: Hex
  stateRoot: Hex
  prover: Address
}

/**
 * `keccak256(abi.encode(PUBLIC_INPUT_DOMAIN, chainId, batchMetaHash, parentHash, blockHash, stateRoot, prover))`,
 * the value every proof for one batch commits to (LibPublicInput.hash on L1).
 */
export function publicInputHash(input: PublicInput): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'bytes32' },
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'address' },
      ],
      [
        PUBLIC_INPUT_DOMAIN,
        input.chainId,
        input.batchMetaHash,
        input.parentHash,
        input.blockHash,
        input.stateRoot,
        input.prover,
      ],
    ),
  )
}

/** What a proof over several batches proves: the single hash, or keccak256 of all packed in id order. */
export function aggregatePublicInputs(hashes: readonly Hex[]): Hex {
  if (hashes.length === 1) return hashes[0]!
  return keccak256(`0x${hashes.map((h) => h.slice(2)).join('')}`)
}

/** The digest the attestation authority signs to admit an enclave key (stub for a DCAP quote). */
export function attestationDigest(instance: Address, l1ChainId: bigint, expiry: bigint): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint64' }],
      [ATTESTATION_DOMAIN, instance, l1ChainId, expiry],
    ),
  )
}

/** TEE proof bytes: `abi.encode(instance, signature over the public input hash)`. */
export function encodeTeeProof(instance: Address, signature: Hex): Hex {
  return encodeAbiParameters([{ type: 'address' }, { type: 'bytes' }], [instance, signature])
}

/** ComposeVerifier proof bytes: sub-proofs sorted by verifier id. */
export function encodeComposeProof(subProofs: readonly { verifierId: VerifierId; proof: Hex }[]): Hex {
  const sorted = [...subProofs].sort((a, b) => a.verifierId - b.verifierId)
  return encodeAbiParameters(
    [
      {
        type: 'tuple[]',
        components: [
          { name: 'verifierId', type: 'uint8' },
          { name: 'proof', type: 'bytes' },
        ],
      },
    ],
    [sorted],
  )
}
