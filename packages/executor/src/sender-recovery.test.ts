import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  type TypedTransaction,
  createAccessList2930Tx,
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
} from '@ethereumjs/tx'
import { SECP256K1_ORDER, bytesToBigInt, bytesToHex, concatBytes, hexToBytes, publicToAddress } from '@ethereumjs/util'
import { RLP } from '@ethereumjs/rlp'
import secp256k1 from 'secp256k1'
import { afterEach, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import {
  type SenderRecovery,
  adoptRecoveredSender,
  createSenderRecovery,
  nativeCustomCrypto,
  wasmKeccak256,
} from './index.ts'
import { signedFieldsOf } from './sender-recovery.ts'

const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const account = DEV_ACCOUNTS[2]!
const key = hexToBytes(account.privateKey)
const to = DEV_ACCOUNTS[1]!.address
const fees = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n }

const recoveries: SenderRecovery[] = []
afterEach(async () => {
  for (const recovery of recoveries.splice(0)) await recovery.close()
})
function recovery(threads: number): SenderRecovery {
  const created = createSenderRecovery(threads)
  recoveries.push(created)
  return created
}

/** One signed transaction of every type the L2 accepts, plus a pre-EIP-155 legacy one. */
function everyType(): TypedTransaction[] {
  const base = { nonce: 3n, to, value: 5n, gasLimit: 60_000n }
  return [
    createLegacyTx({ ...base, gasPrice: 10n ** 10n }, { common }).sign(key),
    unprotectedLegacy(),
    createAccessList2930Tx({ ...base, gasPrice: 10n ** 10n, accessList: [] }, { common }).sign(key),
    createFeeMarket1559Tx({ ...base, ...fees, data: '0xabcdef' }, { common }).sign(key),
    createEOACode7702Tx(
      {
        ...base,
        ...fees,
        authorizationList: [{ chainId: '0x1', address: to, nonce: '0x0', yParity: '0x0', r: '0x01', s: '0x01' }],
      },
      { common },
    ).sign(key),
  ]
}

/** A legacy transaction signed without a chain id (v = 27/28), as old wallets did. */
function unprotectedLegacy(): TypedTransaction {
  const fields = { nonce: 1n, gasPrice: 10n ** 10n, gasLimit: 21_000n, to, value: 1n, data: new Uint8Array() }
  const unsigned = createLegacyTx(fields, { common })
  const message = wasmKeccak256(RLP.encode(unsigned.raw().slice(0, 6) as Uint8Array[]))
  const { signature, recid } = secp256k1.ecdsaSign(message, key)
  return createLegacyTx(
    { ...fields, v: 27n + BigInt(recid), r: signature.slice(0, 32), s: signature.slice(32) },
    { common },
  )
}

function cachedKey(tx: TypedTransaction): Uint8Array | undefined {
  return tx.cache.senderPubKey
}

/** Typed transactions whose encodings exercise every RLP length form the signing payload meets. */
function typedShapes(): TypedTransaction[] {
  const base = { nonce: 3n, to, value: 5n, gasLimit: 900_000n, ...fees }
  return [
    ...everyType().filter((tx) => tx.type !== 0),
    // Calldata and a list over 55 and over 255 bytes: multi-byte RLP lengths.
    createFeeMarket1559Tx({ ...base, data: new Uint8Array(100).fill(7) }, { common }).sign(key),
    createFeeMarket1559Tx({ ...base, data: new Uint8Array(70_000).fill(9) }, { common }).sign(key),
    createFeeMarket1559Tx(
      { ...base, accessList: [{ address: to, storageKeys: [`0x${'11'.repeat(32)}`, `0x${'22'.repeat(32)}`] }] },
      { common },
    ).sign(key),
    createFeeMarket1559Tx({ ...base, to: undefined, data: '0x6000' }, { common }).sign(key),
  ]
}

describe('signedFieldsOf', () => {
  it('finds what the signature signs, and r and s, in the encoding, as ethereumjs computes them', () => {
    for (const tx of typedShapes()) {
      const encoded = tx.serialize()
      const fields = signedFieldsOf(encoded)
      const payload = concatBytes(
        Uint8Array.from(fields.prefix),
        encoded.subarray(fields.fieldsStart, fields.fieldsEnd),
      )
      expect(bytesToHex(wasmKeccak256(payload)), `type ${tx.type}`).toBe(bytesToHex(tx.getMessageToVerifySignature()))
      expect(bytesToBigInt(encoded.subarray(fields.rStart, fields.rEnd))).toBe(tx.r)
      expect(bytesToBigInt(encoded.subarray(fields.sStart, fields.sEnd))).toBe(tx.s)
    }
  })

  it('refuses an encoding that is not a whole signed transaction', () => {
    const encoded = everyType()[3]!.serialize()
    expect(() => signedFieldsOf(encoded.subarray(0, encoded.length - 5))).toThrow()
    expect(() => signedFieldsOf(Uint8Array.of(2, 0xc2, 0x80, 0x80))).toThrow('not a signed typed transaction')
    // Non-canonical headers: a single byte below 0x80 behind a length, a long form for a short string.
    expect(() => signedFieldsOf(Uint8Array.of(2, 0xc4, 0x81, 0x05, 0x80, 0x80))).toThrow('not a signed')
    expect(() => signedFieldsOf(Uint8Array.of(2, 0xc5, 0xb8, 0x01, 0x85, 0x80, 0x80))).toThrow('not a signed')
    expect(() => signedFieldsOf(Uint8Array.of(2, 0xc5, 0x80, 0x80, 0x81, 0x80, 0x80))).not.toThrow()
  })
})

describe('SenderRecovery', () => {
  it('recovers the sender of every transaction type on a worker, matching ethereumjs', async () => {
    const txs = everyType()
    await recovery(1).prime(txs)
    for (const tx of txs) {
      const recovered = cachedKey(tx)
      expect(recovered, `type ${tx.type}`).toBeDefined()
      expect(bytesToHex(publicToAddress(recovered!))).toBe(account.address.toLowerCase())
      expect(tx.getSenderAddress().toString()).toBe(account.address.toLowerCase())
    }
  })

  it('derives the message a typed signature signs on the worker, for every length form of the encoding', async () => {
    const txs = typedShapes()
    await recovery(1).prime(txs)
    for (const tx of txs) {
      expect(cachedKey(tx), `type ${tx.type}, ${tx.data.length} bytes of data`).toBeDefined()
      expect(tx.getSenderAddress().toString()).toBe(account.address.toLowerCase())
    }
  })

  it('spreads a large batch over several workers and gets every sender right', async () => {
    const keys = Array.from({ length: 64 }, (_, i) => wasmKeccak256(new Uint8Array([i, 1])))
    const txs = Array.from({ length: 1500 }, (_, i) =>
      createFeeMarket1559Tx({ nonce: BigInt(i), to, gasLimit: 21_000n, ...fees }, { common }).sign(keys[i % 64]!),
    )
    await recovery(2).prime(txs)
    for (let i = 0; i < txs.length; i++) {
      expect(cachedKey(txs[i]!)).toBeDefined()
      expect(bytesToHex(txs[i]!.getSenderAddress().bytes)).toBe(
        bytesToHex(publicToAddress(secp256k1.publicKeyCreate(keys[i % 64]!, false).slice(1))),
      )
    }
  })

  it('leaves signatures it cannot recover to the caller, which raises ethereumjs error', async () => {
    const good = createLegacyTx({ nonce: 0n, to, gasLimit: 21_000n, gasPrice: 10n ** 10n }, { common }).sign(key)
    // s above n/2 (the same signature's twin, with the other parity): refused by EIP-2, never cached.
    const eip155 = common.chainId() * 2n + 35n
    const twinV = eip155 + 1n - (good.v! - eip155)
    const highS = createLegacyTx({ ...good.toJSON(), v: twinV, s: SECP256K1_ORDER - good.s! } as never, { common })
    // r is not the x-coordinate of a curve point: libsecp256k1 cannot recover any key.
    const unrecoverable = createLegacyTx({ ...good.toJSON(), r: 5n } as never, { common })
    const recover = recovery(1)
    await recover.prime([highS, unrecoverable])
    for (const tx of [highS, unrecoverable]) {
      expect(cachedKey(tx)).toBeUndefined()
      expect(() => tx.getSenderAddress()).toThrow(/Invalid Signature/)
    }
  })

  it('with 0 threads recovers nothing ahead; getSenderAddress still works on the calling thread', async () => {
    const [tx] = everyType()
    const inline = recovery(0)
    expect(inline.threads).toBe(0)
    await inline.prime([tx!])
    expect(cachedKey(tx!)).toBeUndefined()
    expect(tx!.getSenderAddress().toString()).toBe(account.address.toLowerCase())
  })

  it('settles waiting callers when closed', async () => {
    const recover = recovery(1)
    const primed = recover.prime(everyType())
    await recover.close()
    await expect(primed).resolves.toBeUndefined()
    // After close, priming is a no-op rather than a hang.
    await expect(recover.prime(everyType())).resolves.toBeUndefined()
  })

  it('lets a copy of a recovered transaction take its sender, so priming the copy recovers nothing', async () => {
    const recover = recovery(1)
    for (const known of everyType()) {
      await recover.prime([known])
      const copy = createTxFromRLP(known.serialize(), { common })
      adoptRecoveredSender(copy, known)
      expect(cachedKey(copy)).toBe(cachedKey(known))
      expect(copy.getSenderAddress().equals(known.getSenderAddress())).toBe(true)
    }
    // Nothing to take from a transaction not recovered yet; the copy is then recovered as usual.
    const [fresh] = everyType()
    const copy = createTxFromRLP(fresh!.serialize(), { common })
    adoptRecoveredSender(copy, fresh!)
    expect(cachedKey(copy)).toBeUndefined()
    await recover.prime([copy])
    expect(cachedKey(copy)).toBeDefined()
  })
})

describe('SenderRecovery in a process of its own', () => {
  it('keeps the process alive while a batch is in flight and lets it exit once idle', () => {
    // An awaited batch with no other handle open: an unreferenced worker would let Node exit (code 13).
    // Not closed on purpose: an idle worker must not hold the process open either.
    const script = `import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { createChainCommon, devGenesis } from '@cairn/primitives'
import { createSenderRecovery, nativeCustomCrypto } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)}
const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const tx = createFeeMarket1559Tx({ gasLimit: 21000n, maxFeePerGas: 1n }, { common }).sign(new Uint8Array(32).fill(1))
await createSenderRecovery(1).prime([tx])
console.log(tx.cache.senderPubKey === undefined ? 'not recovered' : 'recovered')`
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(output.trim()).toBe('recovered')
  })
})

describe('memoized sender address', () => {
  it('computes the address once per frozen transaction, and the same as ethereumjs', () => {
    const tx = createFeeMarket1559Tx({ nonce: 0n, to, gasLimit: 21_000n, ...fees }, { common }).sign(key)
    const first = tx.getSenderAddress()
    expect(tx.getSenderAddress()).toBe(first)
    expect(bytesToHex(first.bytes)).toBe(bytesToHex(publicToAddress(tx.getSenderPublicKey())))
  })

  it('does not cache on unfrozen transactions, whose fields may change', () => {
    const tx = createFeeMarket1559Tx({ nonce: 0n, to, gasLimit: 21_000n, ...fees }, { common, freeze: false }).sign(key)
    expect(tx.getSenderAddress()).not.toBe(tx.getSenderAddress())
  })
})
