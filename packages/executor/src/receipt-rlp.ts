import { TransactionType } from '@ethereumjs/tx'
import { bigIntToBytes } from '@ethereumjs/util'
import type { TxReceipt } from '@ethereumjs/vm'
import { encodeRlp } from '@cairn/primitives'

const EMPTY = new Uint8Array(0)
const ONE = Uint8Array.of(1)

/**
 * A receipt's consensus encoding, as the receipts root commits to it: ethereumjs' `encodeReceipt`,
 * byte for byte, written in one allocation (see `encodeRlp`). Typed transactions' receipts are
 * `type ‖ rlp(fields)` (EIP-2718).
 */
export function encodeReceiptRlp(receipt: TxReceipt, txType: TransactionType): Uint8Array {
  const outcome = 'stateRoot' in receipt ? receipt.stateRoot : receipt.status === 0 ? EMPTY : ONE
  return encodeRlp(
    [outcome, bigIntToBytes(receipt.cumulativeBlockGasUsed), receipt.bitvector, receipt.logs],
    txType === TransactionType.Legacy ? undefined : txType,
  )
}
