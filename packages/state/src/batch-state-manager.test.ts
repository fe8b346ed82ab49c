import { Common, Mainnet } from '@ethereumjs/common'
import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { Caches, MerkleStateManager } from '@ethereumjs/statemanager'
import { Account, Address, MapDB, bytesToHex, setLengthLeft } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { BatchFlushStateManager } from './batch-state-manager.ts'

const common = new Common({ chain: Mainnet })

function managers() {
  const caches = () => new Caches({ account: { size: 1000 }, storage: { size: 1000 }, code: { size: 100 } })
  const batch = new BatchFlushStateManager({
    common,
    trie: new MerklePatriciaTrie({ useKeyHashing: true }),
    caches: caches(),
  })
  const reference = new MerkleStateManager({
    common,
    trie: new MerklePatriciaTrie({ useKeyHashing: true }),
    caches: caches(),
  })
  return { batch, reference }
}

const address = (n: number) => new Address(setLengthLeft(Uint8Array.of(n >> 8, n & 0xff), 20))
const slot = (n: number) => setLengthLeft(Uint8Array.of(n), 32)

describe('BatchFlushStateManager', () => {
  it('reaches the state roots of ethereumjs’ own flush over blocks of balance, storage, code and deletion changes', async () => {
    const { batch, reference } = managers()
    let seed = 7
    const next = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0
      return seed / 2 ** 32
    }
    for (let block = 0; block < 8; block++) {
      // The same randomly drawn operations go to both managers, inside one checkpoint per block as the executor does.
      const ops: Array<(state: MerkleStateManager) => Promise<void>> = []
      for (let i = 0; i < 60; i++) {
        const who = address(1 + Math.floor(next() * 40))
        const roll = next()
        const value = BigInt(Math.floor(next() * 1000))
        const key = slot(Math.floor(next() * 20))
        if (roll < 0.4) {
          ops.push(async (s) => {
            const account = (await s.getAccount(who)) ?? new Account()
            account.nonce += 1n
            account.balance = value
            await s.putAccount(who, account)
          })
        } else if (roll < 0.8) {
          ops.push(async (s) => {
            if ((await s.getAccount(who)) === undefined) await s.putAccount(who, new Account(0n, 1n))
            // Zero clears the slot.
            await s.putStorage(
              who,
              key,
              value % 4n === 0n ? new Uint8Array(0) : Uint8Array.of(Number(value % 250n) + 1),
            )
          })
        } else if (roll < 0.88) {
          ops.push(async (s) => {
            if ((await s.getAccount(who)) === undefined) await s.putAccount(who, new Account())
            await s.putCode(who, Uint8Array.of(0x60, Number(value % 256n), 0x00))
          })
        } else if (roll < 0.94) {
          // Accounts 41-50 never hold storage: ethereumjs gets a deleted account's storage wrong (see below).
          const plain = address(41 + (Number(value) % 10))
          ops.push(async (s) =>
            value % 2n === 0n ? s.deleteAccount(plain) : s.putAccount(plain, new Account(1n, value)),
          )
        } else {
          ops.push(async (s) => {
            if ((await s.getAccount(who)) !== undefined) await s.clearStorage(who)
          })
        }
      }
      for (const state of [batch, reference]) {
        await state.checkpoint()
        // The last third runs in a reverted inner checkpoint, as a failed transaction's writes do.
        for (const op of ops.slice(0, 40)) await op(state)
        await state.checkpoint()
        for (const op of ops.slice(40)) await op(state)
        await state.revert()
        await state.commit()
      }
      expect(bytesToHex(await batch.getStateRoot()), `block ${block}`).toBe(bytesToHex(await reference.getStateRoot()))
    }
    // Reads after the caches are dropped come from the tries the batch flush wrote.
    batch.clearCaches()
    reference.clearCaches()
    for (let n = 1; n <= 50; n++) {
      expect((await batch.getAccount(address(n)))?.serialize()).toEqual(
        (await reference.getAccount(address(n)))?.serialize(),
      )
      if ((await reference.getAccount(address(n))) === undefined) continue
      for (let k = 0; k < 20; k++) {
        expect(await batch.getStorage(address(n), slot(k))).toEqual(await reference.getStorage(address(n), slot(k)))
      }
      expect(await batch.getCode(address(n))).toEqual(await reference.getCode(address(n)))
    }
  })

  it('forgets the storage of a deleted account when it is created again, in the same block or a later one', async () => {
    for (const sameBlock of [true, false]) {
      const { batch } = managers()
      const { batch: fresh } = managers()
      const contract = address(7)
      await batch.checkpoint()
      await batch.putAccount(contract, new Account(1n, 0n))
      await batch.putStorage(contract, slot(1), Uint8Array.of(1))
      await batch.putStorage(contract, slot(2), Uint8Array.of(2))
      if (!sameBlock) {
        await batch.commit()
        await batch.getStateRoot()
        await batch.checkpoint()
      }
      // A read the cache cannot answer: ethereumjs makes its storage trie for the account here.
      expect(await batch.getStorage(contract, slot(9))).toEqual(new Uint8Array(0))
      await batch.deleteAccount(contract)
      await batch.putAccount(contract, new Account(1n, 0n))
      await batch.putStorage(contract, slot(3), Uint8Array.of(3))
      await batch.commit()
      batch.clearCaches()
      expect(await batch.getStorage(contract, slot(1)), `same block: ${sameBlock}`).toEqual(new Uint8Array(0))
      expect(await batch.getStorage(contract, slot(3))).toEqual(Uint8Array.of(3))
      // The same state built without the first life of the contract.
      await fresh.checkpoint()
      await fresh.putAccount(contract, new Account(1n, 0n))
      await fresh.putStorage(contract, slot(3), Uint8Array.of(3))
      await fresh.commit()
      expect(await batch.getStateRoot()).toEqual(await fresh.getStateRoot())
    }
  })

  it('uses ethereumjs’ flush when it has no caches to batch from', async () => {
    const state = new BatchFlushStateManager({
      common,
      trie: new MerklePatriciaTrie({ db: new MapDB(), useKeyHashing: true }),
    })
    await state.putAccount(address(1), new Account(1n, 2n))
    expect(bytesToHex((await state.getAccount(address(1)))!.serialize())).toBe(
      bytesToHex(new Account(1n, 2n).serialize()),
    )
    expect(await state.getStateRoot()).toHaveLength(32)
  })
})
