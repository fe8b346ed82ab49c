import type { EVMInterface, InterpreterStep } from '@ethereumjs/evm'

/** One entry of an EIP-2930 access list as JSON-RPC shows it (lowercase hex). */
export interface AccessListJson {
  address: string
  storageKeys: string[]
}

const SLOAD = 0x54
const SSTORE = 0x55
/** Opcodes whose stack top names an account. */
const ACCOUNT_AT_TOP: ReadonlySet<number> = new Set([0x31, 0x3b, 0x3c, 0x3f, 0xff]) // BALANCE, EXTCODE*, SELFDESTRUCT
/** Calls: the callee is the second item. */
const CALLS: ReadonlySet<number> = new Set([0xf1, 0xf2, 0xf4, 0xfa])

/**
 * Collects a call's access list the way geth's access list tracer does, from the opcodes it runs:
 * every slot SLOAD or SSTORE touches, whoever's storage it is (the call's target included), and the
 * accounts BALANCE, EXTCODE*, SELFDESTRUCT and the calls name, except the `excluded` ones (sender,
 * target, precompiles, authorities), which are warm anyway. It starts from the previous round's
 * list, so a list only grows from round to round.
 */
export class AccessListCollector {
  private readonly list = new Map<string, Set<string>>()

  constructor(
    private readonly excluded: ReadonlySet<string>,
    start: readonly AccessListJson[],
  ) {
    for (const entry of start) {
      if (this.excluded.has(entry.address)) continue
      const slots = this.slotsOf(entry.address)
      for (const key of entry.storageKeys) slots.add(key)
    }
  }

  /** Runs `work` with the collector listening to `evm`'s steps. */
  async during<T>(evm: EVMInterface, work: () => Promise<T>): Promise<T> {
    const onStep = (step: InterpreterStep) => this.record(step)
    evm.events?.on('step', onStep)
    try {
      return await work()
    } finally {
      evm.events?.off('step', onStep)
    }
  }

  /** The list sorted like geth's: by address, each entry's keys sorted. */
  accessList(): AccessListJson[] {
    return [...this.list.keys()].sort().map((address) => ({
      address,
      storageKeys: [...(this.list.get(address) as Set<string>)].sort(),
    }))
  }

  private record(step: InterpreterStep): void {
    const { stack } = step
    const op = step.opcode.code
    if ((op === SLOAD || op === SSTORE) && stack.length >= 1) {
      this.slotsOf(step.address.toString()).add(word(stack[stack.length - 1]!))
    } else if (ACCOUNT_AT_TOP.has(op) && stack.length >= 1) {
      this.touch(accountOf(stack[stack.length - 1]!))
    } else if (CALLS.has(op) && stack.length >= 5) {
      this.touch(accountOf(stack[stack.length - 2]!))
    }
  }

  private touch(address: string): void {
    if (!this.excluded.has(address)) this.slotsOf(address)
  }

  private slotsOf(address: string): Set<string> {
    let slots = this.list.get(address)
    if (slots === undefined) {
      slots = new Set()
      this.list.set(address, slots)
    }
    return slots
  }
}

/** Whether two lists hold the same accounts and slots, in any order. */
export function sameAccessList(a: readonly AccessListJson[], b: readonly AccessListJson[]): boolean {
  const key = (list: readonly AccessListJson[]) =>
    list
      .map((e) => `${e.address}:${[...e.storageKeys].sort().join(',')}`)
      .sort()
      .join('|')
  return key(a) === key(b)
}

function word(value: bigint): string {
  return `0x${value.toString(16).padStart(64, '0')}`
}

/** An address is the low 20 bytes of a stack word. */
function accountOf(value: bigint): string {
  return `0x${(value & ((1n << 160n) - 1n)).toString(16).padStart(40, '0')}`
}
