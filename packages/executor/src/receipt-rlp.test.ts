import { TransactionType } from '@ethereumjs/tx'
import { type TxReceipt, encodeReceipt } from '@ethereumjs/vm'
import { describe, expect, it } from 'vitest'
import { encodeReceiptRlp } from './receipt-rlp.ts'

const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff)

describe('encodeReceiptRlp', () => {
  it("matches ethereumjs' encodeReceipt for every transaction type, both statuses, pre-Byzantium roots and logs", () => {
    const logs: TxReceipt['logs'] = [
      [bytes(20, 1), [bytes(32, 2), bytes(32, 3)], bytes(0, 0)],
      [bytes(20, 4), [], bytes(300, 5)],
    ]
    const receipts: TxReceipt[] = [
      { status: 1, cumulativeBlockGasUsed: 21_000n, bitvector: bytes(256, 0), logs: [] },
      { status: 0, cumulativeBlockGasUsed: 30_000_000n, bitvector: bytes(256, 9), logs },
      { stateRoot: bytes(32, 7), cumulativeBlockGasUsed: 1n, bitvector: new Uint8Array(256), logs },
    ]
    const types = [
      TransactionType.Legacy,
      TransactionType.AccessListEIP2930,
      TransactionType.FeeMarketEIP1559,
      TransactionType.EOACodeEIP7702,
    ]
    for (const receipt of receipts)
      for (const type of types) expect(encodeReceiptRlp(receipt, type)).toEqual(encodeReceipt(receipt, type))
  })
})
