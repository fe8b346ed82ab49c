import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlock } from '@ethereumjs/block'
import { bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { anchorGenesisAlloc } from '@cairn/contracts'
import { ANCHOR_ADDRESS, type L1Anchor, devGenesis } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { anchorOf, arraySource, wasmKeccak256 } from './index.ts'
import { openGenesisChain } from './testing/genesis-chain.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const l1 = (n: number): L1Anchor => ({
  number: BigInt(n),
  hash: setLengthLeft(Uint8Array.of(n, 0xaa), 32),
  stateRoot: setLengthLeft(Uint8Array.of(n, 0xbb), 32),
})

async function anchoredChain() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-anchor-'))
  dirs.push(dir)
  return openGenesisChain(dir, devGenesis({ extraAlloc: anchorGenesisAlloc() }))
}

/** Anchor.l1BlockHashes[l1Number]: the mapping is slot 3 of Anchor.sol, so its entry is at keccak(pad(key) ‖ pad(3)). */
async function anchoredHash(state: StateDB, root: Uint8Array, l1Number: bigint): Promise<string> {
  const slot = wasmKeccak256(
    new Uint8Array([
      ...setLengthLeft(hexToBytes(`0x${l1Number.toString(16).padStart(2, '0')}`), 32),
      ...setLengthLeft(Uint8Array.of(3), 32),
    ]),
  )
  return bytesToHex(setLengthLeft(await state.view(root).getStorage(createAddressFromString(ANCHOR_ADDRESS), slot), 32))
}

describe('the anchor system call', () => {
  it('records each block’s L1 anchor in the predeploy and carries it in the header', async () => {
    const { database, chain, state, executor } = await anchoredChain()
    for (const n of [5, 6, 6, 9]) {
      const parent = chain.head()
      const { executed } = await executor.build(
        parent,
        { timestamp: parent.header.timestamp + 2n, anchor: l1(n) },
        arraySource([]),
      )
      expect(anchorOf(executed.block.header)).toEqual(l1(n))
      await chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        state.pendingBatch(),
      )
    }
    expect(await anchoredHash(state, chain.head().header.stateRoot, 9n)).toBe(bytesToHex(l1(9).hash))
    await database.close()
  })

  it('makes a block invalid when its anchor goes backwards in L1', async () => {
    const { database, chain, state, executor } = await anchoredChain()
    const parent = chain.head()
    const { executed } = await executor.build(parent, { timestamp: 1n, anchor: l1(7) }, arraySource([]))
    await chain.appendBlock(
      { block: executed.block, receipts: executed.receipts, senders: executed.senders },
      state.pendingBatch(),
    )
    await expect(executor.build(chain.head(), { timestamp: 2n, anchor: l1(6) }, arraySource([]))).rejects.toThrow(
      /anchor call failed/,
    )
    await database.close()
  })

  it('rejects an imported block without anchor fields or with a tampered anchor', async () => {
    const { database, chain, executor, common } = await anchoredChain()
    const parent = chain.head()
    const { executed } = await executor.build(parent, { timestamp: 3n, anchor: l1(4) }, arraySource([]))
    const header = executed.block.header.toJSON()
    const noAnchor = createBlock({ header: { ...header, extraData: '0x' }, withdrawals: [] }, { common })
    await expect(executor.import(parent, noAnchor)).rejects.toThrow(/carries no anchor/)
    const tampered = createBlock(
      { header: { ...header, mixHash: bytesToHex(l1(5).hash) }, withdrawals: [] },
      { common },
    )
    await expect(executor.import(parent, tampered)).rejects.toThrow(/stateRoot/)
    expect((await executor.import(parent, executed.block)).block.hash()).toEqual(executed.block.hash())
    await database.close()
  })

  it('builds on a side branch: BLOCKHASH (the anchor’s parent check) follows the branch, not the canonical chain', async () => {
    const { database, chain, state, executor } = await anchoredChain()
    const g = chain.head()
    const a1 = (await executor.build(g, { timestamp: 1n, anchor: l1(1) }, arraySource([]))).executed
    await chain.appendBlock({ block: a1.block, receipts: a1.receipts, senders: a1.senders }, state.pendingBatch())
    const a2 = (await executor.build(a1.block, { timestamp: 2n, anchor: l1(1) }, arraySource([]))).executed
    await chain.appendBlock({ block: a2.block, receipts: a2.receipts, senders: a2.senders }, state.pendingBatch())
    // A competing branch from genesis: its second block's parent is not canonical at height 1.
    const b1 = (await executor.build(g, { timestamp: 5n, anchor: l1(2) }, arraySource([]))).executed
    await chain.putBlock({ block: b1.block, receipts: b1.receipts, senders: b1.senders }, state.pendingBatch())
    const b2 = (await executor.build(b1.block, { timestamp: 6n, anchor: l1(2) }, arraySource([]))).executed
    await chain.putBlock({ block: b2.block, receipts: b2.receipts, senders: b2.senders }, state.pendingBatch())
    const b3 = (await executor.build(b2.block, { timestamp: 7n, anchor: l1(3) }, arraySource([]))).executed
    expect(b3.block.header.number).toBe(3n)
    await database.close()
  })
})
