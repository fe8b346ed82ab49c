import { CairnError } from '@cairn/primitives'

/**
 * Stable codes for every reason the pool turns a transaction away. The `message` of a
 * {@link MempoolError} is geth's text (clients and libraries such as viem match on it); the
 * code is what Cairn's RPC mapping, logs and tests key on.
 */
export const MempoolErrorCode = {
  InvalidEncoding: 'INVALID_ENCODING',
  TxTypeNotSupported: 'TX_TYPE_NOT_SUPPORTED',
  OversizedData: 'OVERSIZED_DATA',
  UnprotectedTx: 'UNPROTECTED_TX',
  InvalidChainId: 'INVALID_CHAIN_ID',
  InvalidSender: 'INVALID_SENDER',
  AlreadyKnown: 'ALREADY_KNOWN',
  NonceTooLow: 'NONCE_TOO_LOW',
  NonceMax: 'NONCE_MAX',
  InsufficientFunds: 'INSUFFICIENT_FUNDS',
  IntrinsicGasTooLow: 'INTRINSIC_GAS_TOO_LOW',
  FloorDataGasTooLow: 'FLOOR_DATA_GAS_TOO_LOW',
  GasLimitExceeded: 'GAS_LIMIT_EXCEEDED',
  TipAboveFeeCap: 'TIP_ABOVE_FEE_CAP',
  TxFeeCapExceeded: 'TX_FEE_CAP_EXCEEDED',
  Underpriced: 'UNDERPRICED',
  ReplacementUnderpriced: 'REPLACEMENT_UNDERPRICED',
  TxPoolFull: 'TXPOOL_FULL',
  AccountLimitExceeded: 'ACCOUNT_LIMIT_EXCEEDED',
  MaxInitCodeSizeExceeded: 'MAX_INITCODE_SIZE_EXCEEDED',
  EmptyAuthorizationList: 'EMPTY_AUTHORIZATION_LIST',
  SetCodeTxCreate: 'SET_CODE_TX_CREATE',
  JournalInvalid: 'MEMPOOL_JOURNAL_INVALID',
  JournalWriteFailed: 'MEMPOOL_JOURNAL_WRITE_FAILED',
  InvalidConfig: 'MEMPOOL_INVALID_CONFIG',
} as const

export type MempoolErrorCode = (typeof MempoolErrorCode)[keyof typeof MempoolErrorCode]

/** A transaction the pool refused, or a pool setting or journal it cannot use. */
export class MempoolError extends CairnError<MempoolErrorCode> {
  override readonly name = 'MempoolError'
}

export function isMempoolError(error: unknown, code?: MempoolErrorCode): error is MempoolError {
  return error instanceof MempoolError && (code === undefined || error.code === code)
}
