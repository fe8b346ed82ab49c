import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { Capability, type TypedTransaction } from '@ethereumjs/tx'
import { Address, SECP256K1_ORDER_DIV_2, bigIntToBytes, setLengthLeft } from '@ethereumjs/util'
import { readRlpItem, rlpList } from '@cairn/primitives'
import { wasmKeccak256 } from './keccak.ts'
import { recoveryId } from './native-crypto.ts'

/**
 * Recovers transaction senders off the event loop. Signature recovery is the largest single cost of
 * admitting a transaction (~100–200 µs of libsecp256k1 per signature on a small VM) and of importing
 * a block; the node's one JavaScript thread also executes blocks and answers RPC, so it hands the
 * recoveries to worker threads in batches, as geth's sender cacher does.
 *
 * {@link SenderRecovery.prime} only fills ethereumjs' own per-transaction cache: whatever it cannot
 * recover (a bad signature, a worker that died) is left for `tx.getSenderAddress()` to recover on the
 * calling thread, which throws ethereumjs' usual error. Validation therefore stays where it was.
 */
export interface SenderRecovery {
  /** Recovers the senders of `txs` that are not cached yet; after it resolves `getSenderAddress()` is a cache hit. */
  prime(txs: readonly TypedTransaction[]): Promise<void>
  readonly threads: number
  close(): Promise<void>
}

/**
 * Signatures per message. Small enough that the main thread gets the first results back (and admits
 * those transactions) while the worker recovers the rest; large enough that messaging stays cheap.
 */
const CHUNK = 16
/** 32-byte message hash, 64-byte r‖s, 1-byte recovery id. */
const REQUEST_BYTES = 97
/** 1-byte status, 64-byte public key, 20-byte address. */
const RESULT_BYTES = 85

/** The default thread count: every core but the one the node's main thread runs on, 1 to 4. */
export function defaultRecoveryThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1))
}

/** `threads` 0 recovers on the calling thread (ethereumjs' lazy path): a no-op {@link SenderRecovery}. */
export function createSenderRecovery(
  threads: number,
  /** Told when a worker fails; its work then falls back to the calling thread (slower, still correct). */
  onWorkerError: (error: Error) => void = () => {},
): SenderRecovery {
  if (threads <= 0) return { prime: async () => {}, threads: 0, close: async () => {} }
  return new WorkerSenderRecovery(threads, onWorkerError)
}

interface Pending {
  tx: TypedTransaction
  resolve: () => void
}

interface RecoveryThread {
  worker: Worker
  /** Batches sent and not answered yet, oldest first (a worker answers its messages in order). */
  inFlight: Pending[][]
}

/**
 * Requests made in one turn of the event loop leave together, cut into chunks of {@link CHUNK} and
 * spread over the workers; a full chunk leaves at once. A worker takes new chunks while it is busy,
 * so recovery overlaps admission: with one large batch, the main thread sat idle while the worker
 * recovered every signature of it.
 */
class WorkerSenderRecovery implements SenderRecovery {
  private readonly recoveryThreads: RecoveryThread[] = []
  private queue: Pending[] = []
  private flushScheduled = false
  private closed = false

  constructor(
    readonly threads: number,
    onWorkerError: (error: Error) => void,
  ) {
    const require = createRequire(import.meta.url)
    const workerData = {
      secp256k1: require.resolve('secp256k1'),
      hashWasm: require.resolve('hash-wasm'),
    }
    for (let i = 0; i < threads; i++) {
      const thread: RecoveryThread = {
        // No inherited flags: the worker is plain CommonJS (a parent's --input-type=module or
        // loader --import would change how its source is read).
        worker: new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] }),
        inFlight: [],
      }
      thread.worker.on('message', (results: Uint8Array) => this.settle(thread, results))
      // A dead worker must not strand its batches: those transactions fall back to the caller's thread.
      thread.worker.on('error', (error) => {
        onWorkerError(error)
        this.abandon(thread)
      })
      thread.worker.on('exit', () => this.abandon(thread))
      // An idle worker must not keep a finished process alive; a busy one must (see send and settle).
      thread.worker.unref()
      this.recoveryThreads.push(thread)
    }
  }

  prime(txs: readonly TypedTransaction[]): Promise<void> {
    const promises: Promise<void>[] = []
    for (const tx of txs) {
      if (this.closed || this.recoveryThreads.length === 0 || !needsRecovery(tx)) continue
      promises.push(new Promise((resolve) => this.queue.push({ tx, resolve })))
      if (this.queue.length >= CHUNK) this.send(this.queue.splice(0, CHUNK))
    }
    if (promises.length === 0) return Promise.resolve()
    this.scheduleFlush()
    return Promise.all(promises).then(() => {})
  }

  async close(): Promise<void> {
    this.closed = true
    const threads = this.recoveryThreads.splice(0)
    await Promise.all(threads.map((thread) => thread.worker.terminate()))
    for (const thread of threads) release(thread.inFlight.splice(0).flat())
    release(this.queue.splice(0))
  }

  /** What is left of this turn's requests leaves when the turn ends. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      while (this.queue.length > 0) this.send(this.queue.splice(0, CHUNK))
    })
  }

  /** Sends `batch` to the worker with the fewest signatures outstanding. */
  private send(batch: Pending[]): void {
    const thread = this.leastBusy()
    if (thread === undefined) {
      release(batch)
      return
    }
    const requests = new Uint8Array(batch.length * REQUEST_BYTES)
    const sendable: Pending[] = []
    for (const pending of batch) {
      const request = signatureRequest(pending.tx)
      if (request === undefined) {
        pending.resolve()
        continue
      }
      requests.set(request, sendable.length * REQUEST_BYTES)
      sendable.push(pending)
    }
    if (sendable.length === 0) return
    thread.inFlight.push(sendable)
    thread.worker.ref()
    const payload = requests.subarray(0, sendable.length * REQUEST_BYTES)
    thread.worker.postMessage(payload, [payload.buffer])
  }

  private leastBusy(): RecoveryThread | undefined {
    let best: RecoveryThread | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    for (const thread of this.recoveryThreads) {
      let load = 0
      for (const batch of thread.inFlight) load += batch.length
      if (load < bestLoad) [best, bestLoad] = [thread, load]
    }
    return best
  }

  private settle(thread: RecoveryThread, results: Uint8Array): void {
    const pending = thread.inFlight.shift() ?? []
    if (thread.inFlight.length === 0) thread.worker.unref()
    for (let i = 0; i < pending.length; i++) {
      const { tx, resolve } = pending[i]!
      const offset = i * RESULT_BYTES
      if (results[offset] === 1) {
        const cache = tx.cache as { senderPubKey?: Uint8Array; senderAddress?: Address }
        // Re-checked here: the transaction may have been recovered on the main thread meanwhile.
        cache.senderPubKey ??= results.slice(offset + 1, offset + 65)
        cache.senderAddress ??= new Address(results.slice(offset + 65, offset + 85))
      }
      resolve()
    }
  }

  private abandon(thread: RecoveryThread): void {
    const index = this.recoveryThreads.indexOf(thread)
    if (index === -1) return
    this.recoveryThreads.splice(index, 1)
    release(thread.inFlight.splice(0).flat())
    if (this.recoveryThreads.length === 0) release(this.queue.splice(0))
  }
}

function release(batch: Pending[]): void {
  for (const pending of batch) pending.resolve()
}

/** Signed, frozen (ethereumjs caches only on frozen transactions) and not recovered yet. */
function needsRecovery(tx: TypedTransaction): boolean {
  return Object.isFrozen(tx) && tx.isSigned() && tx.cache.senderPubKey === undefined
}

/**
 * What the worker needs to recover `tx`'s key, derived as ethereumjs' `getSenderPublicKey` does
 * (same message hash, same chain-id rule for `v`). `undefined` when ethereumjs would refuse the
 * signature: the caller's thread then raises its error.
 */
function signatureRequest(tx: TypedTransaction): Uint8Array | undefined {
  const { v, r, s } = tx
  if (v === undefined || r === undefined || s === undefined || s > SECP256K1_ORDER_DIV_2) return undefined
  let recovery: number
  try {
    recovery = recoveryId(v, tx.supports(Capability.EIP155ReplayProtection) ? tx.common.chainId() : undefined)
  } catch {
    return undefined
  }
  const request = new Uint8Array(REQUEST_BYTES)
  if (tx.type === 0) {
    // Legacy: an EIP-155 signature covers the chain id, which is not in the encoding. Rare on an L2.
    request.set(tx.getMessageToVerifySignature(), 0)
    request.set(setLengthLeft(bigIntToBytes(r), 32), 32)
    request.set(setLengthLeft(bigIntToBytes(s), 32), 64)
  } else {
    let signed: ReturnType<typeof typedSigningPayload>
    try {
      signed = typedSigningPayload(tx.serialize())
    } catch {
      return undefined
    }
    request.set(wasmKeccak256(signed.payload), 0)
    request.set(signed.r, 32 + 32 - signed.r.length)
    request.set(signed.s, 64 + 32 - signed.s.length)
  }
  request[96] = recovery
  return request
}

/**
 * What a typed transaction's signature signs, `type ‖ rlp([fields before v])`, and its r and s,
 * read off its canonical encoding `type ‖ rlp([fields…, v, r, s])`: the fields' encodings are
 * copied, not rebuilt from ethereumjs' bigints (that rebuilding was most of the cost of admitting
 * a transfer on the main thread).
 */
export function typedSigningPayload(encoded: Uint8Array): { payload: Uint8Array; r: Uint8Array; s: Uint8Array } {
  const list = readRlpItem(encoded, 1)
  const starts: number[] = []
  for (let at = list.start; at < list.end; at = readRlpItem(encoded, at, list.end).end) starts.push(at)
  if (!list.list || starts.length < 3 || list.end !== encoded.length)
    throw new Error('not a signed typed transaction encoding')
  const fields = rlpList([encoded.subarray(list.start, starts[starts.length - 3])])
  const payload = new Uint8Array(1 + fields.length)
  payload[0] = encoded[0]!
  payload.set(fields, 1)
  const value = (at: number) => {
    const item = readRlpItem(encoded, at, list.end)
    return encoded.subarray(item.start, item.end)
  }
  return { payload, r: value(starts[starts.length - 2]!), s: value(starts[starts.length - 1]!) }
}

/**
 * The worker: libsecp256k1 and keccak on WebAssembly, resolved by the parent so the worker needs no
 * module loader of its own (the node runs TypeScript through tsx, which workers do not inherit).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const secp256k1 = require(workerData.secp256k1)
const keccakReady = require(workerData.hashWasm).createKeccak(256)
parentPort.on('message', async (requests) => {
  const keccak = await keccakReady
  const count = requests.length / ${REQUEST_BYTES}
  const results = new Uint8Array(count * ${RESULT_BYTES})
  for (let i = 0; i < count; i++) {
    const at = i * ${REQUEST_BYTES}
    try {
      const key = secp256k1.ecdsaRecover(requests.subarray(at + 32, at + 96), requests[at + 96], requests.subarray(at, at + 32), false)
      const out = i * ${RESULT_BYTES}
      results[out] = 1
      results.set(key.subarray(1), out + 1)
      keccak.init()
      keccak.update(key.subarray(1))
      results.set(keccak.digest('binary').subarray(12), out + 65)
    } catch {}
  }
  parentPort.postMessage(results, [results.buffer])
})
`
