import type { CustomCrypto } from '@ethereumjs/common'
import { type KZG, type PrefixedHexString as Hex, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { createRequire } from 'node:module'
import { installEthereumjsFixes } from './ethereumjs-fixes.ts'
import { wasmKeccak256 } from './keccak.ts'
import secp256k1 from 'secp256k1'

/**
 * ecrecover on libsecp256k1 (the `secp256k1` native addon): ~75 µs instead of ~1.3 ms for the
 * pure-JS default, which dominates mempool admission and block execution otherwise.
 * Returns the 64-byte public key without the 0x04 prefix, as ethereumjs expects.
 */
export function nativeEcrecover(
  msgHash: Uint8Array,
  v: bigint,
  r: Uint8Array,
  s: Uint8Array,
  chainId?: bigint,
): Uint8Array {
  const recovery = recoveryId(v, chainId)
  const signature = new Uint8Array(64)
  signature.set(setLengthLeft(r, 32), 0)
  signature.set(setLengthLeft(s, 32), 32)
  const publicKey = secp256k1.ecdsaRecover(signature, recovery, msgHash, false)
  return publicKey.subarray(1)
}

export function recoveryId(v: bigint, chainId: bigint | undefined): number {
  if (v === 0n || v === 1n) return Number(v)
  if (chainId === undefined) {
    if (v === 27n || v === 28n) return Number(v - 27n)
    throw new Error(`invalid signature v value ${v}`)
  }
  const id = v - (chainId * 2n + 35n)
  if (id !== 0n && id !== 1n) throw new Error(`invalid signature v value ${v} for chain id ${chainId}`)
  return Number(id)
}

interface CKzg {
  loadTrustedSetup(precompute: number): void
  verifyKzgProof(commitment: Uint8Array, z: Uint8Array, y: Uint8Array, proof: Uint8Array): boolean
}

let ckzg: CKzg | undefined

/**
 * KZG for the point-evaluation precompile (0x0a), on c-kzg with the bundled mainnet setup. The
 * setup takes ~2 s to load, so it loads on the first call to 0x0a, not at node start. L2 blocks
 * carry no blobs, so the blob methods are never reached.
 */
const lazyKzg: KZG = {
  verifyProof(commitment, z, y, proof) {
    if (ckzg === undefined) {
      const loaded = createRequire(import.meta.url)('c-kzg') as CKzg
      loaded.loadTrustedSetup(0)
      ckzg = loaded
    }
    return ckzg.verifyKzgProof(
      hexToBytes(commitment as Hex),
      hexToBytes(z as Hex),
      hexToBytes(y as Hex),
      hexToBytes(proof as Hex),
    )
  },
  blobToKzgCommitment: unsupported,
  computeBlobProof: unsupported,
  verifyBlobProofBatch: unsupported,
  computeCells: unsupported,
  computeCellsAndProofs: unsupported,
  recoverCellsAndProofs: unsupported,
  verifyCellKzgProofBatch: unsupported,
}

function unsupported(): never {
  throw new Error('blob KZG operations are not available on L2: blob transactions are not accepted')
}

/** The crypto Cairn plugs into every ethereumjs Common it creates (and ethereumjs' hot-path fixes with it). */
export function nativeCustomCrypto(): CustomCrypto {
  installEthereumjsFixes()
  return { ecrecover: nativeEcrecover, keccak256: wasmKeccak256, kzg: lazyKzg }
}
