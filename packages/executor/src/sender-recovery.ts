import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { Capability, type TypedTransaction } from '@ethereumjs/tx'
import { Address, SECP256K1_ORDER_DIV_2, bigIntToBytes, setLengthLeft } from '@ethereumjs/util'
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
/**
 * A request record: kind (1 byte), recovery id (1 byte), body length (4 bytes, little-endian), body.
 * Kind {@link HASHED}: the body is the 32-byte message hash and r‖s (64 bytes). Kind {@link ENCODED}:
 * the body is a typed transaction's encoding, and the worker derives the message hash, r and s itself
 * (that derivation and its keccak were ~11 µs of the main thread per admitted transaction).
 */
const REQUEST_HEADER_BYTES = 6
const HASHED = 0
const ENCODED = 1
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
    const sendable: Pending[] = []
    const requests: SignatureRequest[] = []
    let bytes = 0
    for (const pending of batch) {
      const request = signatureRequest(pending.tx)
      if (request === undefined) {
        pending.resolve()
        continue
      }
      sendable.push(pending)
      requests.push(request)
      bytes += REQUEST_HEADER_BYTES + request.body.length
    }
    if (sendable.length === 0) return
    const payload = new Uint8Array(bytes)
    const view = new DataView(payload.buffer)
    let at = 0
    for (const { kind, recovery, body } of requests) {
      payload[at] = kind
      payload[at + 1] = recovery
      view.setUint32(at + 2, body.length, true)
      payload.set(body, at + REQUEST_HEADER_BYTES)
      at += REQUEST_HEADER_BYTES + body.length
    }
    thread.inFlight.push(sendable)
    thread.worker.ref()
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

/**
 * Gives `tx` the sender already recovered for `known`, the same signed transaction decoded
 * elsewhere (the caller matched their hashes): a follower's pool has recovered most transactions of
 * a gossiped block when it admitted them, so the block's import need not recover them again.
 */
export function adoptRecoveredSender(tx: TypedTransaction, known: TypedTransaction): void {
  if (!Object.isFrozen(tx)) return
  const from = known.cache as { senderPubKey?: Uint8Array; senderAddress?: Address }
  const to = tx.cache as { senderPubKey?: Uint8Array; senderAddress?: Address }
  if (from.senderPubKey === undefined || to.senderPubKey !== undefined) return
  to.senderPubKey = from.senderPubKey
  to.senderAddress = from.senderAddress
}

/** Signed, frozen (ethereumjs caches only on frozen transactions) and not recovered yet. */
function needsRecovery(tx: TypedTransaction): boolean {
  return Object.isFrozen(tx) && tx.isSigned() && tx.cache.senderPubKey === undefined
}

interface SignatureRequest {
  kind: typeof HASHED | typeof ENCODED
  recovery: number
  body: Uint8Array
}

/**
 * What the worker needs to recover `tx`'s key, as ethereumjs' `getSenderPublicKey` derives it (same
 * message hash, same chain-id rule for `v`). `undefined` when ethereumjs would refuse the signature:
 * the caller's thread then raises its error.
 */
function signatureRequest(tx: TypedTransaction): SignatureRequest | undefined {
  const { v, r, s } = tx
  if (v === undefined || r === undefined || s === undefined || s > SECP256K1_ORDER_DIV_2) return undefined
  let recovery: number
  try {
    recovery = recoveryId(v, tx.supports(Capability.EIP155ReplayProtection) ? tx.common.chainId() : undefined)
  } catch {
    return undefined
  }
  // A typed transaction's signature covers only its own fields: the worker reads them off the encoding.
  if (tx.type !== 0) return { kind: ENCODED, recovery, body: tx.serialize() }
  // Legacy: an EIP-155 signature covers the chain id, which is not in the encoding. Rare on an L2.
  const body = new Uint8Array(96)
  body.set(tx.getMessageToVerifySignature(), 0)
  body.set(setLengthLeft(bigIntToBytes(r), 32), 32)
  body.set(setLengthLeft(bigIntToBytes(s), 32), 64)
  return { kind: HASHED, recovery, body }
}

/** Where a signed typed transaction's signature inputs lie in its encoding; see {@link signedFieldsOf}. */
export interface SignedFields {
  /** What precedes the signed fields in the signing payload: the type byte and the fields' list header. */
  prefix: number[]
  fieldsStart: number
  fieldsEnd: number
  rStart: number
  rEnd: number
  sStart: number
  sEnd: number
}

/**
 * Reads a typed transaction's encoding `type ‖ rlp([fields…, v, r, s])` for what its signature signs,
 * `type ‖ rlp([fields…])`: that is `prefix` followed by `encoded[fieldsStart, fieldsEnd)`, the
 * fields' encodings copied, not rebuilt from ethereumjs' bigints. r and s are the contents at
 * `[rStart, rEnd)` and `[sStart, sEnd)`. Throws when `encoded` is not one whole list of at least three
 * items. Self-contained (no imports, no inner functions): the recovery worker runs its source text.
 */
export function signedFieldsOf(encoded: Uint8Array): SignedFields {
  const invalid = 'not a signed typed transaction encoding'
  const head = encoded[1] ?? 0
  if (head < 0xc0) throw new Error(invalid)
  let start = 2
  let length = head - 0xc0
  if (head > 0xf7) {
    length = 0
    for (let i = 0; i < head - 0xf7; i++) length = length * 256 + (encoded[2 + i] ?? 0)
    start = 2 + head - 0xf7
    if (encoded[2] === 0 || length < 56) throw new Error(invalid)
  }
  const end = start + length
  if (end !== encoded.length) throw new Error(invalid)
  // The starts of the last three items (v, r, s) and the content bounds of the last two.
  let vAt = -1
  let rAt = -1
  let sAt = -1
  let rStart = 0
  let rEnd = 0
  let sStart = 0
  let sEnd = 0
  for (let at = start; at < end; ) {
    vAt = rAt
    rAt = sAt
    sAt = at
    rStart = sStart
    rEnd = sEnd
    const prefix = encoded[at] as number
    let contentStart = at + 1
    let contentLength = 0
    // Only canonical headers, as the decoders that admitted the transaction demand: the signature
    // covers the canonical re-encoding, so other bytes would hash to another message.
    if (prefix < 0x80) {
      contentStart = at
      contentLength = 1
    } else if (prefix <= 0xb7) {
      contentLength = prefix - 0x80
      if (contentLength === 1 && (encoded[at + 1] ?? 0) < 0x80) throw new Error(invalid)
    } else if (prefix < 0xc0 || prefix > 0xf7) {
      const lengthBytes = prefix < 0xc0 ? prefix - 0xb7 : prefix - 0xf7
      for (let i = 0; i < lengthBytes; i++) contentLength = contentLength * 256 + (encoded[at + 1 + i] ?? 0)
      contentStart = at + 1 + lengthBytes
      if (encoded[at + 1] === 0 || contentLength < 56) throw new Error(invalid)
    } else contentLength = prefix - 0xc0
    sStart = contentStart
    sEnd = contentStart + contentLength
    at = sEnd
    if (at > end) throw new Error(invalid)
  }
  if (vAt < 0) throw new Error(invalid)
  const fieldsLength = vAt - start
  const prefix = [encoded[0] as number]
  if (fieldsLength < 56) prefix.push(0xc0 + fieldsLength)
  else {
    const lengthBytes: number[] = []
    for (let n = fieldsLength; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256)
    prefix.push(0xf7 + lengthBytes.length, ...lengthBytes)
  }
  return { prefix, fieldsStart: start, fieldsEnd: vAt, rStart, rEnd, sStart, sEnd }
}

/**
 * The worker: libsecp256k1 and keccak on WebAssembly, resolved by the parent so the worker needs no
 * module loader of its own (the node runs TypeScript through tsx, which workers do not inherit).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const secp256k1 = require(workerData.secp256k1)
const keccakReady = require(workerData.hashWasm).createKeccak(256)
const signedFieldsOf = (${signedFieldsOf.toString()})
parentPort.on('message', async (requests) => {
  const keccak = await keccakReady
  const view = new DataView(requests.buffer, requests.byteOffset, requests.byteLength)
  const records = []
  for (let at = 0; at < requests.length; at += ${REQUEST_HEADER_BYTES} + view.getUint32(at + 2, true)) records.push(at)
  const results = new Uint8Array(records.length * ${RESULT_BYTES})
  const signature = new Uint8Array(64)
  for (let i = 0; i < records.length; i++) {
    const at = records[i]
    const body = requests.subarray(at + ${REQUEST_HEADER_BYTES}, at + ${REQUEST_HEADER_BYTES} + view.getUint32(at + 2, true))
    try {
      let message
      if (requests[at] === ${HASHED}) {
        message = body.subarray(0, 32)
        signature.set(body.subarray(32, 96))
      } else {
        const fields = signedFieldsOf(body)
        const rLength = fields.rEnd - fields.rStart
        const sLength = fields.sEnd - fields.sStart
        if (rLength > 32 || sLength > 32) throw new Error('r or s longer than 32 bytes')
        signature.fill(0)
        signature.set(body.subarray(fields.rStart, fields.rEnd), 32 - rLength)
        signature.set(body.subarray(fields.sStart, fields.sEnd), 64 - sLength)
        keccak.init()
        keccak.update(Uint8Array.from(fields.prefix))
        keccak.update(body.subarray(fields.fieldsStart, fields.fieldsEnd))
        message = keccak.digest('binary')
      }
      const key = secp256k1.ecdsaRecover(signature, requests[at + 1], message, false)
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
