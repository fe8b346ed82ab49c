import { createRequire } from 'node:module'
import { isatty } from 'node:tty'
import { pathToFileURL } from 'node:url'
import { Common } from '@ethereumjs/common'
import {
  AccessList2930Tx,
  Blob4844Tx,
  EOACode7702Tx,
  FeeMarket1559Tx,
  LegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { wasmKeccak256 } from './keccak.ts'

/**
 * Fixes for ethereumjs hot paths that cost Cairn a measurable share of every transaction, applied
 * to ethereumjs' classes once per process (idempotent). Each keeps ethereumjs' behaviour exactly;
 * it only stops recomputing an answer that cannot change.
 */
export function installEthereumjsFixes(): void {
  if (installed) return
  installed = true
  memoizeSenderAddress()
  memoizeSerialization()
  setBackedActivatedEips()
  memoizeHardforkOrder()
  memoizeJumpAnalysis()
  memoizeDebugColors()
}
let installed = false

/**
 * The `debug` package ethereumjs makes its loggers with asks `isatty(stderr)`, a system call, for
 * every logger it creates, to choose whether to colour it; ethereumjs creates nine for each state
 * view (~70 µs a view under load), which RPC state reads built per call until they shared one, and
 * tracing and proofs still build. The answer cannot change while the process runs, so it is asked
 * once: colours stay exactly as they were.
 */
function memoizeDebugColors(): void {
  // The copy ethereumjs imports, resolved from one of its packages.
  const fromEthereumjs = createRequire(createRequire(import.meta.url).resolve('@ethereumjs/mpt'))
  const debug = fromEthereumjs('debug') as { inspectOpts?: Record<string, unknown> }
  const options = debug.inspectOpts
  if (options !== undefined && !('colors' in options)) options.colors = isatty(process.stderr.fd)
}

/**
 * ethereumjs recomputes `keccak(publicKey)` in JavaScript on every `getSenderAddress()` call, and the
 * VM, the block builder and the RPC each call it per transaction. Frozen transactions are immutable,
 * so the address is kept in their cache (next to the public key ethereumjs caches itself) and hashed
 * with the WebAssembly keccak.
 */
function memoizeSenderAddress(): void {
  for (const txClass of [LegacyTx, AccessList2930Tx, FeeMarket1559Tx, Blob4844Tx, EOACode7702Tx]) {
    const prototype = txClass.prototype as unknown as TypedTransaction
    const original = prototype.getSenderAddress
    prototype.getSenderAddress = function (this: TypedTransaction): Address {
      if (!Object.isFrozen(this)) return original.call(this)
      const cache = this.cache as { senderAddress?: Address }
      if (cache.senderAddress === undefined) {
        cache.senderAddress = new Address(wasmKeccak256(this.getSenderPublicKey()).slice(12))
      }
      return cache.senderAddress
    }
  }
}

/**
 * A typed transaction's `serialize()` re-encodes its fields (bigint conversions and RLP) on every
 * call, and a block's transaction trie, the block's own encoding and the chain store each ask
 * for it: about 5% of the node's time per transfer. Frozen transactions cannot change, so the
 * bytes are kept in their cache. Callers never mutate the returned bytes (ethereumjs' own hash
 * cache relies on the same).
 */
function memoizeSerialization(): void {
  for (const txClass of [AccessList2930Tx, FeeMarket1559Tx, Blob4844Tx, EOACode7702Tx]) {
    const prototype = txClass.prototype as unknown as TypedTransaction
    const original = prototype.serialize
    prototype.serialize = function (this: TypedTransaction): Uint8Array {
      if (!Object.isFrozen(this)) return original.call(this)
      const cache = this.cache as { serialized?: Uint8Array }
      cache.serialized ??= original.call(this)
      return cache.serialized
    }
  }
}

/**
 * `Common.isActivatedEIP` searches an array of ~80 EIP numbers, and the EVM asks it for nearly every
 * opcode (its jump-destination analysis of a contract's code asks once per byte, on every call):
 * ~150 µs of an ERC-20 transfer. The array is replaced, never mutated, when the hardfork or EIPs
 * change, so a Set built per array answers the same.
 */
function setBackedActivatedEips(): void {
  const sets = new WeakMap<readonly number[], Set<number>>()
  Common.prototype.isActivatedEIP = function (this: Common, eip: number): boolean {
    const list = (this as unknown as { _activatedEIPsCache: number[] })._activatedEIPsCache
    let set = sets.get(list)
    if (set === undefined) {
      set = new Set(list)
      sets.set(list, set)
    }
    return set.has(eip)
  }
}

/**
 * `Common.hardforkGteHardfork` (behind `gteHardfork`, which transaction validation, intrinsic gas
 * and the VM ask per transaction) walks the hardfork list, and with custom hardforks (as Cairn's
 * chain has) first rebuilds that list through a Set and two arrays: ~7 µs and ~5 KB of garbage per
 * transaction admitted. The answer depends only on the two names and the chain's parameters, which
 * are never mutated, so it is kept per parameter object.
 */
function memoizeHardforkOrder(): void {
  // chain parameters → first hardfork → second hardfork → answer (nested: no key string per call)
  const answers = new WeakMap<object, Map<string, Map<string, boolean>>>()
  const original = Common.prototype.hardforkGteHardfork
  Common.prototype.hardforkGteHardfork = function (this: Common, hardfork1: string | null, hardfork2: string): boolean {
    const first = hardfork1 ?? this.hardfork()
    const params = (this as unknown as { _chainParams: object })._chainParams
    let byFirst = answers.get(params)
    if (byFirst === undefined) {
      byFirst = new Map()
      answers.set(params, byFirst)
    }
    let bySecond = byFirst.get(first)
    if (bySecond === undefined) {
      bySecond = new Map()
      byFirst.set(first, bySecond)
    }
    let answer = bySecond.get(hardfork2)
    if (answer === undefined) {
      answer = original.call(this, first, hardfork2)
      bySecond.set(hardfork2, answer)
    }
    return answer
  }
}

/** What ethereumjs' interpreter derives from a contract's code before running it (read only, never mutated). */
interface JumpAnalysis {
  jumps: Uint8Array
  pushes: Record<number, bigint>
  opcodesCached: unknown[]
}

interface InterpreterPrototype {
  _getValidJumpDestinations(this: InterpreterLike, code: Uint8Array): JumpAnalysis
}

interface InterpreterLike {
  _evm: { _opcodeMap: object }
  common: Common
}

/**
 * ethereumjs' interpreter is not exported, and the package's exports map refuses a deep specifier:
 * its module is loaded by file, beside the ESM entry the VM imports, so it is the same class. Should
 * a later ethereumjs move it, the memo below is not installed (the test of it fails), nothing else.
 */
const interpreterUrl = pathToFileURL(
  createRequire(import.meta.url)
    .resolve('@ethereumjs/evm')
    .replace(/dist[/\\]cjs[/\\]index\.js$/, 'dist/esm/interpreter.js'),
).href
const interpreter = (await import(interpreterUrl).catch(() => undefined)) as
  | { Interpreter?: { prototype: Partial<InterpreterPrototype> } }
  | undefined

/** How many jump analyses ran (a memo miss each); tests read it to see the memo hit. */
export let jumpAnalysesRun = 0

/**
 * Before running a contract that jumps, ethereumjs' interpreter walks its whole code: the valid
 * jump destinations, every PUSH's value (as a bigint through a hex string) and each byte's opcode
 * entry. It does so on every call: ~60–90 µs of an ERC-20 transfer for the bench's 1.7 KB token.
 * The result depends only on the code, the opcode table (which ethereumjs replaces when the
 * hardfork or EIPs change) and whether EIP-8024 is active (kept with it), and the interpreter only
 * reads it. So it is kept per code object: the state manager's code cache hands out the same
 * bytes for a contract while it holds it.
 */
function memoizeJumpAnalysis(): void {
  const prototype = interpreter?.Interpreter?.prototype
  const original = prototype?._getValidJumpDestinations
  if (prototype === undefined || original === undefined) return
  // opcode table → code → analysis (weak both ways: a table or code dropped takes its analyses along)
  const analyses = new WeakMap<object, WeakMap<Uint8Array, { eip8024: boolean; analysis: JumpAnalysis }>>()
  prototype._getValidJumpDestinations = function (this: InterpreterLike, code: Uint8Array): JumpAnalysis {
    const opcodes = this._evm._opcodeMap
    const eip8024 = this.common.isActivatedEIP(8024)
    let byCode = analyses.get(opcodes)
    if (byCode === undefined) {
      byCode = new WeakMap()
      analyses.set(opcodes, byCode)
    }
    const known = byCode.get(code)
    if (known !== undefined && known.eip8024 === eip8024) return known.analysis
    jumpAnalysesRun++
    const analysis = original.call(this, code)
    byCode.set(code, { eip8024, analysis })
    return analysis
  }
}
