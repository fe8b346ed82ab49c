/** A log as stored and served: positions are filled in when its block is sealed. */
export interface LogRecord {
  address: Uint8Array
  topics: Uint8Array[]
  data: Uint8Array
  blockNumber: bigint
  blockHash: Uint8Array
  blockTimestamp: bigint
  transactionHash: Uint8Array
  transactionIndex: number
  /** Index of the log within its block. */
  logIndex: number
  /** True only when delivered to a subscriber because its block left the canonical chain. */
  removed: boolean
}

/** A transaction receipt with the fields JSON-RPC serves (positions included). */
export interface ReceiptRecord {
  transactionHash: Uint8Array
  transactionIndex: number
  blockHash: Uint8Array
  blockNumber: bigint
  from: Uint8Array
  /** Undefined for contract creation. */
  to: Uint8Array | undefined
  /** Set for contract creation. */
  contractAddress: Uint8Array | undefined
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  /** 1 success, 0 failure (post-Byzantium status). */
  status: 0 | 1
  logsBloom: Uint8Array
  logs: LogRecord[]
  /** EIP-2718 type: 0 legacy, 1 access list, 2 dynamic fee, 4 set code. */
  type: number
}

/** Block tags JSON-RPC accepts besides numbers and hashes. */
export type BlockTag = 'latest' | 'pending' | 'safe' | 'finalized' | 'earliest'
