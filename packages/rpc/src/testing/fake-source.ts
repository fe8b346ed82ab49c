import type { Hex, LogRecord } from '@cairn/primitives'
import type { SubscriptionSource } from '../subscriptions.ts'

/** An in-memory SubscriptionSource for tests: push events, count listeners. */
export class FakeSubscriptionSource implements SubscriptionSource {
  readonly heads = new Set<(header: unknown) => void>()
  readonly logs = new Set<(logs: LogRecord[]) => void>()
  readonly pending = new Set<(hash: Hex) => void>()

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

  get listenerCount(): number {
    return this.heads.size + this.logs.size + this.pending.size
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

export function bytes32(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte)
}
