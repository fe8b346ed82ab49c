import { encodePacked, hexToBytes, keccak256, recoverAddress, bytesToHex as viemBytesToHex } from 'viem'
import { privateKeyToAddress, sign } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  decodeSignedBlock,
  encodeSignedBlock,
  preconfSigningHash,
  recoverPreconfSigner,
  signPreconfBlock,
} from './preconf.ts'

// Test vector: a fixed key, chain id and block hash, checked against viem's independent secp256k1.
const KEY = hexToBytes('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318')
const SIGNER = '0x2c7536e3605d9c16a7a3d7b1898e529396a65c23'
const CHAIN_ID = 167001n
const BLOCK_HASH = hexToBytes(`0x${'ab'.repeat(32)}`)
const DIGEST = '0xf0f2d1fa3097b3b58519dbb5aaf54c701699bb40f1b60e76b27336aeda9b25e6'
const SIGNATURE =
  '0x266757190d6da70a1ff8a87673dd86144bd61cd3a651d327499294ec5643c33762d5ddac3af65d8d38526479f6c141d8573af18e084edb769ed73b3e216926f001'
const BLOCK = new Uint8Array([0xc2, 0xc0, 0xc0])

describe('preconfirmation signatures', () => {
  it('signs keccak256("CAIRN_PRECONF_V1" ‖ uint256 chainId ‖ blockHash), as abi.encodePacked computes it', () => {
    const packed = keccak256(
      encodePacked(['string', 'uint256', 'bytes32'], ['CAIRN_PRECONF_V1', CHAIN_ID, viemBytesToHex(BLOCK_HASH)]),
    )
    expect(viemBytesToHex(preconfSigningHash(BLOCK_HASH, CHAIN_ID))).toBe(DIGEST)
    expect(packed).toBe(DIGEST)
  })

  it('produces the vector signature (r ‖ s ‖ v with v ∈ {0,1}) and viem agrees on r, s and the signer', async () => {
    const signed = signPreconfBlock(BLOCK, BLOCK_HASH, KEY, CHAIN_ID)
    expect(viemBytesToHex(signed.signature)).toBe(SIGNATURE)
    expect(signed.block).toBe(BLOCK)
    const viemSig = await sign({ hash: DIGEST, privateKey: viemBytesToHex(KEY), to: 'hex' })
    // viem writes v as 27/28; the same r and s.
    expect(viemSig.slice(0, 130)).toBe(SIGNATURE.slice(0, 130))
    expect(Number.parseInt(viemSig.slice(130), 16) - 27).toBe(signed.signature[64])
    expect((await recoverAddress({ hash: DIGEST, signature: viemSig })).toLowerCase()).toBe(SIGNER)
    expect(privateKeyToAddress(viemBytesToHex(KEY)).toLowerCase()).toBe(SIGNER)
  })

  it('recovers the signer', () => {
    const signed = signPreconfBlock(BLOCK, BLOCK_HASH, KEY, CHAIN_ID)
    expect(recoverPreconfSigner(signed, BLOCK_HASH, CHAIN_ID)).toBe(SIGNER)
  })

  it('recovers a different address for another chain id or another block hash', () => {
    const signed = signPreconfBlock(BLOCK, BLOCK_HASH, KEY, CHAIN_ID)
    expect(recoverPreconfSigner(signed, BLOCK_HASH, CHAIN_ID + 1n)).not.toBe(SIGNER)
    const otherHash = BLOCK_HASH.slice()
    otherHash[0] = 0
    expect(recoverPreconfSigner(signed, otherHash, CHAIN_ID)).not.toBe(SIGNER)
  })

  it('rejects malformed signatures: wrong length, v outside {0,1}, high s', () => {
    const signed = signPreconfBlock(BLOCK, BLOCK_HASH, KEY, CHAIN_ID)
    expect(() =>
      recoverPreconfSigner({ ...signed, signature: signed.signature.slice(0, 64) }, BLOCK_HASH, CHAIN_ID),
    ).toThrow(/65/)
    const v27 = signed.signature.slice()
    v27[64] = 27
    expect(() => recoverPreconfSigner({ ...signed, signature: v27 }, BLOCK_HASH, CHAIN_ID)).toThrow(/v is 27/)
    // The malleated twin (n - s, flipped v) recovers the same key in plain ECDSA; it must be refused.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(viemBytesToHex(signed.signature.slice(32, 64)))
    const high = signed.signature.slice()
    high.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`), 32)
    high[64] = 1 - (signed.signature[64] as number)
    expect(() => recoverPreconfSigner({ ...signed, signature: high }, BLOCK_HASH, CHAIN_ID)).toThrow(/upper half/)
  })

  it('refuses an invalid signing key and a hash that is not 32 bytes', () => {
    expect(() => signPreconfBlock(BLOCK, BLOCK_HASH, new Uint8Array(32), CHAIN_ID)).toThrow(/signing key/)
    expect(() => signPreconfBlock(BLOCK, BLOCK_HASH.slice(1), KEY, CHAIN_ID)).toThrow(/31 bytes/)
  })

  it('frames a signed block as signature ‖ block and back', () => {
    const signed = signPreconfBlock(BLOCK, BLOCK_HASH, KEY, CHAIN_ID)
    const wire = encodeSignedBlock(signed)
    expect(viemBytesToHex(wire)).toBe(`${SIGNATURE}c2c0c0`)
    expect(decodeSignedBlock(wire)).toEqual(signed)
    expect(() => decodeSignedBlock(wire.slice(0, 65))).toThrow(/shorter than a signature/)
  })
})
