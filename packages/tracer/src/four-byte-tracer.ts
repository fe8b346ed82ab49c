import type { EVMInterface, EVMResult, InterpreterStep, Message } from '@ethereumjs/evm'
import type { Address } from '@ethereumjs/util'
import { TracerError } from './errors.ts'
import { eventsToTrace, isPrecompile } from './evm-events.ts'
import { unprefixedHex } from './hex.ts'
import { readMemory } from './memory.ts'
import type { EvmTracer } from './types.ts'

/** A call an opcode is about to make: its selector key, and its target for the precompile check. */
interface PendingCall {
  key: string
  to: string
}

const OP_CALL = 0xf1
const OP_CALLCODE = 0xf2
const OP_DELEGATECALL = 0xf4
const OP_STATICCALL = 0xfa
const ADDRESS_MASK = (1n << 160n) - 1n

/**
 * geth's `4byteTracer`: counts `"0x<selector>-<calldata size - 4>"` over the transaction's own call
 * and every CALL, CALLCODE, DELEGATECALL and STATICCALL with at least 4 bytes of input, skipping
 * precompiles. geth counts a call when the EVM enters it, which includes calls refused for call
 * depth or balance (ethereumjs starts no message for those), so inner calls are read from the
 * opcode's step and counted once the next event shows the opcode got that far.
 */
export function createFourByteTracer(): EvmTracer<Record<string, number>> {
  const ids = new Map<string, number>()
  let precompiles: EVMInterface['precompiles'] = new Map()
  let pending: PendingCall | undefined
  let sawTransaction = false
  let used = false
  let attached: (() => void) | undefined

  function store(key: string, to: string): void {
    // Precompiles are "just fancy opcodes" to geth.
    if (isPrecompile(precompiles, to)) return
    ids.set(key, (ids.get(key) ?? 0) + 1)
  }

  function commitPending(): void {
    if (pending !== undefined) store(pending.key, pending.to)
    pending = undefined
  }

  function onStep(step: InterpreterStep): void {
    // The previous opcode was a call ethereumjs refused without a message; geth entered it.
    commitPending()
    pending = pendingCall(step)
  }

  function onBeforeMessage(message: Message): void {
    if (message.depth > 0) {
      commitPending()
      return
    }
    sawTransaction = true
    const to = message.to
    if (to !== undefined && message.data.length >= 4) store(selectorKey(message.data, message.data.length), hex(to))
  }

  function onAfterMessage(result: EVMResult): void {
    // The frame failed on the call opcode itself (gas, static value transfer): geth never entered the call.
    if (result.execResult.exceptionError !== undefined) pending = undefined
    commitPending()
  }

  return {
    attach(evm: EVMInterface): void {
      const events = eventsToTrace(evm, { attached: attached !== undefined, used })
      used = true
      precompiles = evm.precompiles
      events.on('step', onStep)
      events.on('beforeMessage', onBeforeMessage)
      events.on('afterMessage', onAfterMessage)
      attached = () => {
        events.off('step', onStep)
        events.off('beforeMessage', onBeforeMessage)
        events.off('afterMessage', onAfterMessage)
      }
    },

    detach(): void {
      attached?.()
      attached = undefined
    },

    result(): Record<string, number> {
      if (!sawTransaction) {
        throw new TracerError(
          'TRACER_NOT_ATTACHED',
          'the 4byte tracer saw no transaction; attach it to the EVM before running the transaction',
        )
      }
      // Go's encoding/json writes map keys sorted.
      const out: Record<string, number> = {}
      for (const key of [...ids.keys()].sort()) out[key] = ids.get(key) as number
      return out
    },
  }
}

/** The call a CALL-family step is about to make, when its input has a selector. */
function pendingCall(step: InterpreterStep): PendingCall | undefined {
  const opcode = step.opcode.code
  const withValue = opcode === OP_CALL || opcode === OP_CALLCODE
  if (!withValue && opcode !== OP_DELEGATECALL && opcode !== OP_STATICCALL) return undefined
  const stack = step.stack
  const n = stack.length
  const argsAt = withValue ? 3 : 2
  if (n < argsAt + 2) return undefined
  const offset = stack[n - 1 - argsAt] as bigint
  const size = stack[n - 2 - argsAt] as bigint
  if (size < 4n) return undefined
  const to = `0x${((stack[n - 2] as bigint) & ADDRESS_MASK).toString(16).padStart(40, '0')}`
  return { key: selectorKey(readMemory(step.memory, offset, 4n), size), to }
}

function selectorKey(input: Uint8Array, size: number | bigint): string {
  return `0x${unprefixedHex(input, 0, 4)}-${BigInt(size) - 4n}`
}

function hex(address: Address): string {
  return address.toString()
}
