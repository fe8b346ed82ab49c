export {
  BlockExecutor,
  BlockExecutionError,
  anchorOf,
  arraySource,
  blockchainFor,
  effectiveGasPrice,
  type BlockAttributes,
  type BlockHashSource,
  type ExecutedBlock,
  type ExecutedReceipt,
  type RejectedTransaction,
  type TransactionSource,
} from './block-executor.ts'
export { createGenesisBlock } from './genesis.ts'
export { nativeCustomCrypto, nativeEcrecover, nativeKeccak256 } from './native-crypto.ts'
