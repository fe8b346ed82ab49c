import type { Hex, LogRecord, ReceiptRecord } from '@cairn/primitives'
import type { TransactionJson } from '../format.ts'
import type { SubscriptionSource } from '../subscriptions.ts'

/** An in-memory SubscriptionSource for tests: push events, count listeners. */
export class FakeSubscriptionSource implements SubscriptionSource {
  readonly heads = new Set<(header: unknown) => void>()
  readonly logs = new Set<(logs: LogRecord[]) => void>()
  readonly pending = new Set<(hash: Hex) => void>()
  readonly receipts = new Set<(receipts: readonly ReceiptRecord[]) => void>()
  readonly pendingFull = new Set<(tx: TransactionJson) => void>()
  /** Absent when built with `fullPending: false`: a source that cannot send full transactions. */
  readonly onPendingTransactionFull?: (listener: (tx: TransactionJson) => void) => () => void

  constructor(options: { fullPending?: boolean } = {}) {
    if (options.fullPending === false) return
    this.onPendingTransactionFull = (listener) => {
      this.pendingFull.add(listener)
      return () => this.pendingFull.delete(listener)
    }
  }

  onNewHead(listener: (header: unknown) => void): () => void {
    this.heads.add(listener)
    return () => this.heads.delete(listener)
  }

  onLogs(listener: (logs: LogRecord[]) => void): () => void {
    this.logs.add(listener)
    return () => this.logs.delete(listener)
  }

  onPendingTransaction(listener: (hash: Hex) => void): () => void {
    this.pending.add(listener)
    return () => this.pending.delete(listener)
  }

  onReceipts(listener: (receipts: readonly ReceiptRecord[]) => void): () => void {
    this.receipts.add(listener)
    return () => this.receipts.delete(listener)
  }

  get listenerCount(): number {
    return this.heads.size + this.logs.size + this.pending.size + this.pendingFull.size + this.receipts.size
  }

  pushReceipts(receipts: readonly ReceiptRecord[]): void {
    for (const listener of this.receipts) listener(receipts)
  }

  pushHead(header: unknown): void {
    for (const listener of this.heads) listener(header)
  }

  pushLogs(logs: LogRecord[]): void {
    for (const listener of this.logs) listener(logs)
  }

  pushPending(hash: Hex): void {
    for (const listener of this.pending) listener(hash)
  }

  pushPendingFull(tx: TransactionJson): void {
    for (const listener of this.pendingFull) listener(tx)
  }
}

export function fakeLog(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    address: new Uint8Array(20).fill(0xaa),
    topics: [],
    data: new Uint8Array([1, 2]),
    blockNumber: 10n,
    blockHash: new Uint8Array(32).fill(0xbb),
    blockTimestamp: 1_700_000_000n,
    transactionHash: new Uint8Array(32).fill(0xcc),
    transactionIndex: 0,
    logIndex: 0,
    removed: false,
    ...overrides,
  }
}

export function fakeReceipt(overrides: Partial<ReceiptRecord> = {}): ReceiptRecord {
  return {
    transactionHash: new Uint8Array(32).fill(0xcc),
    transactionIndex: 0,
    blockHash: new Uint8Array(32).fill(0xbb),
    blockNumber: 10n,
    from: new Uint8Array(20).fill(0xaa),
    to: new Uint8Array(20).fill(0xdd),
    contractAddress: undefined,
    cumulativeGasUsed: 21_000n,
    gasUsed: 21_000n,
    effectiveGasPrice: 7n,
    status: 1,
    logsBloom: new Uint8Array(256),
    logs: [],
    type: 2,
    ...overrides,
  }
}

export function bytes32(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte)
}

/** A pending transaction's JSON as a source delivers it. */
export function fakeTransaction(overrides: Partial<TransactionJson> = {}): TransactionJson {
  return {
    blockHash: null,
    blockNumber: null,
    blockTimestamp: null,
    from: `0x${'aa'.repeat(20)}`,
    gas: '0x5208',
    gasPrice: '0x3b9aca00',
    hash: `0x${'cc'.repeat(32)}`,
    input: '0x',
    nonce: '0x0',
    to: `0x${'bb'.repeat(20)}`,
    transactionIndex: null,
    value: '0x1',
    type: '0x0',
    chainId: '0x1',
    v: '0x25',
    r: '0x1',
    s: '0x2',
    ...overrides,
  }
}
