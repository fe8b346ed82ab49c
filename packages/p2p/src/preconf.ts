import { CairnError, type Hex, bytesToHex } from '@cairn/primitives'
import { keccak_256 } from '@noble/hashes/sha3.js'
import secp256k1 from 'secp256k1'

/** A preconfirmed block as gossiped: the block's RLP and the sequencer's signature over its hash. */
export interface SignedBlock {
  /** The block's RLP, `[header, transactions, uncles, withdrawals]`. */
  block: Uint8Array
  /** 65 bytes `r ‖ s ‖ v`, `v` ∈ {0, 1} (the recovery id, as op-node's `y_parity`), `s` in the lower half. */
  signature: Uint8Array
}

/** Domain tag, 16 ASCII bytes: a signature for another purpose can never verify as a preconfirmation. */
export const PRECONF_DOMAIN = new TextEncoder().encode('CAIRN_PRECONF_V1')
export const SIGNATURE_LENGTH = 65

// secp256k1 n / 2: signatures with a larger `s` are the malleated twin of a valid one.
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

/** `keccak256(PRECONF_DOMAIN ‖ uint256(chainId) ‖ blockHash)`: the digest the sequencer signs. */
export function preconfSigningHash(blockHash: Uint8Array, chainId: bigint): Uint8Array {
  if (blockHash.length !== 32) {
    throw new CairnError('P2P_BAD_BLOCK_HASH', `block hash has ${blockHash.length} bytes, expected 32`)
  }
  if (chainId < 0n || chainId >= 1n << 256n)
    throw new CairnError('P2P_BAD_CHAIN_ID', `chain id ${chainId} is not a uint256`)
  const message = new Uint8Array(PRECONF_DOMAIN.length + 64)
  message.set(PRECONF_DOMAIN, 0)
  let id = chainId
  for (let i = PRECONF_DOMAIN.length + 31; i >= PRECONF_DOMAIN.length; i--) {
    message[i] = Number(id & 0xffn)
    id >>= 8n
  }
  message.set(blockHash, PRECONF_DOMAIN.length + 32)
  return keccak_256(message)
}

/** Signs a preconfirmed block; the node computes `blockHash` (keccak256 of the header RLP). */
export function signPreconfBlock(
  blockRlp: Uint8Array,
  blockHash: Uint8Array,
  privateKey: Uint8Array,
  chainId: bigint,
): SignedBlock {
  if (privateKey.length !== 32 || !secp256k1.privateKeyVerify(privateKey)) {
    throw new CairnError('P2P_BAD_PRIVATE_KEY', 'the preconfirmation signing key is not a valid 32-byte secp256k1 key')
  }
  // libsecp256k1 signs deterministically (RFC 6979) and always returns a low-s signature.
  const { signature, recid } = secp256k1.ecdsaSign(preconfSigningHash(blockHash, chainId), privateKey)
  const out = new Uint8Array(SIGNATURE_LENGTH)
  out.set(signature, 0)
  out[64] = recid
  return { block: blockRlp, signature: out }
}

/**
 * The address that signed `signed` for `blockHash` on `chainId`, lowercase hex.
 * Throws `P2P_BAD_SIGNATURE` for a malformed, high-s or unrecoverable signature. Whether that
 * address may preconfirm (the L1 whitelist) is the caller's decision.
 */
export function recoverPreconfSigner(signed: SignedBlock, blockHash: Uint8Array, chainId: bigint): Hex {
  const { signature } = signed
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new CairnError('P2P_BAD_SIGNATURE', `signature has ${signature.length} bytes, expected ${SIGNATURE_LENGTH}`)
  }
  const v = signature[64] as number
  if (v !== 0 && v !== 1) throw new CairnError('P2P_BAD_SIGNATURE', `signature v is ${v}, expected 0 or 1`)
  let s = 0n
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i] as number)
  if (s > HALF_N) throw new CairnError('P2P_BAD_SIGNATURE', 'signature s is in the upper half of the curve order')
  let publicKey: Uint8Array
  try {
    publicKey = secp256k1.ecdsaRecover(signature.subarray(0, 64), v, preconfSigningHash(blockHash, chainId), false)
  } catch (error) {
    throw new CairnError('P2P_BAD_SIGNATURE', `signature does not recover a public key: ${(error as Error).message}`)
  }
  return bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12)) as Hex
}

/** Gossip wire form of a signed block: `signature(65) ‖ blockRlp`, as op-node frames its payloads. */
export function encodeSignedBlock(signed: SignedBlock): Uint8Array {
  if (signed.signature.length !== SIGNATURE_LENGTH) {
    throw new CairnError(
      'P2P_BAD_SIGNATURE',
      `signature has ${signed.signature.length} bytes, expected ${SIGNATURE_LENGTH}`,
    )
  }
  const out = new Uint8Array(SIGNATURE_LENGTH + signed.block.length)
  out.set(signed.signature, 0)
  out.set(signed.block, SIGNATURE_LENGTH)
  return out
}

export function decodeSignedBlock(data: Uint8Array): SignedBlock {
  if (data.length <= SIGNATURE_LENGTH) {
    throw new CairnError(
      'P2P_BAD_BLOCK_ENCODING',
      `signed block has ${data.length} bytes, shorter than a signature and a block`,
    )
  }
  // Copies into plain Uint8Arrays: handlers never hold a view into a pooled network Buffer.
  return {
    signature: new Uint8Array(data.subarray(0, SIGNATURE_LENGTH)),
    block: new Uint8Array(data.subarray(SIGNATURE_LENGTH)),
  }
}
