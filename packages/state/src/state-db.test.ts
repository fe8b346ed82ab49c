import { verifyMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import type { StorageProof } from '@ethereumjs/statemanager'
import {
  Address,
  KECCAK256_NULL_S,
  KECCAK256_RLP,
  KECCAK256_RLP_S,
  type PrefixedHexString,
  bytesToBigInt,
  bytesToHex,
  createAccountFromRLP,
  hexToBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { StateDB, writeGenesisState } from './state-db.ts'

const ZERO_HASH = `0x${'00'.repeat(32)}`
const contract = new Address(setLengthLeft(Uint8Array.of(0xc0), 20))
const eoa = new Address(setLengthLeft(Uint8Array.of(0xe0), 20))
const nobody = new Address(setLengthLeft(Uint8Array.of(0xde, 0xad), 20))
const slot = (n: number) => setLengthLeft(Uint8Array.of(n), 32)

/** A state with a contract holding two slots and an account without code or storage, kept in memory. */
async function stateWithAccounts() {
  const genesis = devGenesis({
    extraAlloc: {
      [contract.toString()]: { balance: '0x1', code: '0x6000', storage: { '0x01': '0x2a', '0x02': '0x07' } },
      [eoa.toString()]: { balance: '0x5' },
    },
  })
  const common = createChainCommon(genesis)
  const state = new StateDB({ get: async () => undefined }, common)
  const root = await writeGenesisState(state.headState(KECCAK256_RLP), genesis)
  return { state, root }
}

/** The value the storage proof proves under `storageHash`, checked independently of the state code. */
async function provenSlot(entry: StorageProof, storageHash: PrefixedHexString): Promise<bigint> {
  const value = await verifyMerkleProof(setLengthLeft(hexToBytes(entry.key), 32), entry.proof.map(hexToBytes), {
    useKeyHashing: true,
    root: hexToBytes(storageHash),
  })
  return value === null ? 0n : bytesToBigInt(RLP.decode(value) as Uint8Array)
}

describe('StateDB.view', () => {
  it('is shared per root and keeps its caches bounded however many accounts are read through it', async () => {
    const genesis = devGenesis()
    const state = new StateDB({ get: async () => undefined }, createChainCommon(genesis), { viewCacheSize: 2 })
    const root = await writeGenesisState(state.headState(KECCAK256_RLP), genesis)
    const view = state.view(root)
    expect(state.view(root)).toBe(view)
    for (let round = 0; round < 2; round++) {
      for (const account of DEV_ACCOUNTS) {
        const read = await view.getAccount(new Address(hexToBytes(account.address)))
        expect(read?.balance).toBe(10n ** 22n)
      }
    }
    const caches = (view as unknown as { _caches: { account: { size(): number } } })._caches
    expect(caches.account.size()).toBeLessThanOrEqual(2)
  })
})

describe('StateDB.getProof', () => {
  it('proves an account and each requested slot, present or not', async () => {
    const { state, root } = await stateWithAccounts()
    const proof = await state.getProof(root, contract, [slot(1), slot(9), slot(2)])
    const account = await verifyMerkleProof(contract.bytes, proof.accountProof.map(hexToBytes), {
      useKeyHashing: true,
      root,
    })
    expect(bytesToHex(createAccountFromRLP(account!).storageRoot)).toBe(proof.storageHash)
    expect(proof.storageProof.map((entry) => entry.value)).toEqual(['0x2a', '0x0', '0x07'])
    expect(await Promise.all(proof.storageProof.map((entry) => provenSlot(entry, proof.storageHash)))).toEqual([
      42n,
      0n,
      7n,
    ])
  })

  it('reports a missing account like geth: zero hashes and an empty proof for every slot', async () => {
    const { state, root } = await stateWithAccounts()
    const proof = await state.getProof(root, nobody, [slot(1), slot(3)])
    expect(
      await verifyMerkleProof(nobody.bytes, proof.accountProof.map(hexToBytes), { useKeyHashing: true, root }),
    ).toBeNull()
    expect(proof).toMatchObject({ balance: '0x0', nonce: '0x0', codeHash: ZERO_HASH, storageHash: ZERO_HASH })
    expect(proof.storageProof).toEqual([
      { key: bytesToHex(slot(1)), value: '0x0', proof: [] },
      { key: bytesToHex(slot(3)), value: '0x0', proof: [] },
    ])
  })

  it('gives an existing account without storage the empty-trie hashes and empty slot proofs', async () => {
    const { state, root } = await stateWithAccounts()
    const proof = await state.getProof(root, eoa, [slot(1)])
    expect(proof).toMatchObject({ balance: '0x5', codeHash: KECCAK256_NULL_S, storageHash: KECCAK256_RLP_S })
    expect(proof.storageProof).toEqual([{ key: bytesToHex(slot(1)), value: '0x0', proof: [] }])
  })
})
