import type { Message } from '@ethereumjs/evm'

// geth names opcodes that ethereumjs marks INVALID on this fork (future or EOF opcodes) and
// still calls 0x44 DIFFICULTY; its String() of any other unassigned byte is "opcode 0x.. not defined".
const GETH_ONLY_NAMES: ReadonlyMap<number, string> = new Map([
  [0x1e, 'CLZ'],
  [0x44, 'DIFFICULTY'],
  [0x4b, 'SLOTNUM'],
  [0xd0, 'DATALOAD'],
  [0xd1, 'DATALOADN'],
  [0xd2, 'DATASIZE'],
  [0xd3, 'DATACOPY'],
  [0xe0, 'RJUMP'],
  [0xe1, 'RJUMPI'],
  [0xe2, 'RJUMPV'],
  [0xe3, 'CALLF'],
  [0xe4, 'RETF'],
  [0xe5, 'JUMPF'],
  [0xe6, 'DUPN'],
  [0xe7, 'SWAPN'],
  [0xe8, 'EXCHANGE'],
  [0xec, 'EOFCREATE'],
  [0xee, 'RETURNCONTRACT'],
  [0xf7, 'RETURNDATALOAD'],
  [0xf8, 'EXTCALL'],
  [0xf9, 'EXTDELEGATECALL'],
  [0xfb, 'EXTSTATICCALL'],
  [0xfe, 'INVALID'],
])

/** The `op` string geth's struct logger prints for an opcode byte; `ethereumjsName` is the step event's name. */
export function gethOpName(code: number, ethereumjsName: string): string {
  const gethName = GETH_ONLY_NAMES.get(code)
  if (gethName !== undefined) return gethName
  if (ethereumjsName === 'INVALID') return `opcode 0x${code.toString(16)} not defined`
  return ethereumjsName
}

/**
 * ethereumjs reports every undefined byte as INVALID (0xfe); geth names the byte. By the first step
 * ethereumjs has put the frame's code on its message (delegation and create init code resolved).
 */
export function invalidOpcodeByte(message: Message, pc: number): number {
  const code = message.code
  return code instanceof Uint8Array ? (code[pc] ?? 0xfe) : 0xfe
}
