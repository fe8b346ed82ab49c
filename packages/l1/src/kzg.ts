import { createHash } from 'node:crypto'
import { bytesToHex, type Hex } from '@cairn/primitives'
import cKzg from 'c-kzg'
import { defineKzg, type Kzg } from 'viem'

export const BLOB_SIZE = 131_072

let loaded = false
let sharedViemKzg: Kzg | undefined

/**
 * c-kzg with its bundled mainnet trusted setup, loaded on first use and then shared (~2 s once per
 * process). Another module that loaded the setup first makes c-kzg refuse a second load; that is fine.
 */
export function loadKzg(): typeof cKzg {
  if (!loaded) {
    try {
      cKzg.loadTrustedSetup(0)
    } catch (error) {
      if (!/already loaded/i.test(String(error))) throw error
    }
    loaded = true
  }
  return cKzg
}

/** viem's KZG interface over the shared c-kzg (viem's `setupKzg` cannot load c-kzg 4's setup). */
export function viemKzg(): Kzg {
  sharedViemKzg ??= defineKzg(loadKzg())
  return sharedViemKzg
}

/** EIP-4844 versioned hash of a commitment: 0x01 ‖ sha256(commitment)[1:]. */
export function commitmentToVersionedHash(commitment: Uint8Array): Hex {
  const hash = createHash('sha256').update(commitment).digest()
  hash[0] = 0x01
  return bytesToHex(hash)
}

/** Commits to a blob and returns its versioned hash; throws if the blob is not canonical. */
export function blobVersionedHash(blob: Uint8Array): Hex {
  return commitmentToVersionedHash(loadKzg().blobToKzgCommitment(blob))
}
