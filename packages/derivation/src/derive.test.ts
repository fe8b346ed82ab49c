import { createBlob4844Tx, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { nativeCustomCrypto } from '@cairn/executor'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { type ProposedBatch, deriveBlockInputs } from './derive.ts'

const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
const anchor = { number: 7n, hash: new Uint8Array(32).fill(1), stateRoot: new Uint8Array(32).fill(2) }
const batch: ProposedBatch = {
  batchId: 3n,
  firstBlockId: 10n,
  anchorBlockId: 7n,
  anchorBlockHash: anchor.hash,
  blocks: [
    { timestamp: 100n, gasLimit: 30_000_000n, coinbase: '0x00000000000000000000000000000000000000c0' },
    { timestamp: 102n, gasLimit: 30_000_000n, coinbase: '0x00000000000000000000000000000000000000c0' },
  ],
  forcedInclusions: [],
}
const transfer = (nonce: number) =>
  createFeeMarket1559Tx(
    { nonce, to: DEV_ACCOUNTS[1]!.address, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n },
    { common },
  ).sign(key)
const hashes = (txs: { hash(): Uint8Array }[]) => txs.map((tx) => bytesToHex(tx.hash()))

describe('deriveBlockInputs', () => {
  it('takes block parameters from the L1 event and transactions from the payload, forced inclusions first', () => {
    const [a, b, c, forced] = [transfer(0), transfer(1), transfer(2), transfer(9)]
    const inputs = deriveBlockInputs(
      batch,
      { ok: true, blocks: [{ transactions: [a.serialize()] }, { transactions: [b.serialize(), c.serialize()] }] },
      anchor,
      common,
      [forced.serialize()],
    )
    expect(inputs.map((i) => i.number)).toEqual([10n, 11n])
    expect(inputs.map((i) => i.attributes.timestamp)).toEqual([100n, 102n])
    expect(inputs[0]!.attributes.anchor).toEqual(anchor)
    expect(hashes(inputs[0]!.transactions)).toEqual(hashes([forced, a]))
    expect(hashes(inputs[1]!.transactions)).toEqual(hashes([b, c]))
  })

  it('makes every block empty when the payload does not decode', () => {
    const inputs = deriveBlockInputs(batch, { ok: false, reason: 'RLP_INVALID' }, anchor, common)
    expect(inputs).toHaveLength(2)
    expect(inputs.every((i) => i.transactions.length === 0)).toBe(true)
  })

  it('makes every block empty when the payload’s block count differs from the event’s', () => {
    const inputs = deriveBlockInputs(
      batch,
      { ok: true, blocks: [{ transactions: [transfer(0).serialize()] }] },
      anchor,
      common,
    )
    expect(inputs.map((i) => i.transactions.length)).toEqual([0, 0])
  })

  it('skips transaction bytes that do not decode and blob transactions, keeping the rest', () => {
    const good = transfer(0)
    const blobTx = createBlob4844Tx(
      {
        nonce: 1,
        to: DEV_ACCOUNTS[1]!.address,
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        maxFeePerBlobGas: 1n,
        blobVersionedHashes: [`0x01${'00'.repeat(31)}`],
      },
      { common },
    ).sign(key)
    const garbage = Uint8Array.of(0x02, 0xff, 0x00, 0x13)
    const inputs = deriveBlockInputs(
      batch,
      { ok: true, blocks: [{ transactions: [garbage, blobTx.serialize(), good.serialize()] }, { transactions: [] }] },
      anchor,
      common,
    )
    expect(hashes(inputs[0]!.transactions)).toEqual(hashes([good]))
  })
})
