export {
  BlockExecutor,
  BlockExecutionError,
  anchorOf,
  arraySource,
  beginBlock,
  blockchainFor,
  effectiveGasPrice,
  executionHeaderFields,
  storeParentHash,
  type BlockAttributes,
  type BlockHashSource,
  type ExecutedBlock,
  type ExecutedReceipt,
  type RejectedTransaction,
  type TransactionSource,
} from './block-executor.ts'
export { createGenesisBlock } from './genesis.ts'
export { encodeReceiptRlp } from './receipt-rlp.ts'
export { nativeCustomCrypto, nativeEcrecover } from './native-crypto.ts'
export { wasmKeccak256 } from './keccak.ts'
export {
  type SenderRecovery,
  adoptRecoveredSender,
  createSenderRecovery,
  defaultRecoveryThreads,
} from './sender-recovery.ts'
