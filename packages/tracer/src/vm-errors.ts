import { EVMError } from '@ethereumjs/evm'
import { gethOpName } from './opcode-names.ts'

const messages = EVMError.errorMessages

// ethereumjs words its EVM errors differently from geth; trace consumers match on geth's strings.
const GETH_ERROR_MESSAGES: ReadonlyMap<string, string> = new Map([
  [messages.OUT_OF_GAS, 'out of gas'],
  [messages.CODESTORE_OUT_OF_GAS, 'contract creation code storage out of gas'],
  [messages.CODESIZE_EXCEEDS_MAXIMUM, 'max code size exceeded'],
  [messages.INVALID_JUMP, 'invalid jump destination'],
  [messages.REVERT, 'execution reverted'],
  [messages.STATIC_STATE_CHANGE, 'write protection'],
  [messages.CREATE_COLLISION, 'contract address collision'],
  [messages.INSUFFICIENT_BALANCE, 'insufficient balance for transfer'],
  [messages.INVALID_BYTECODE_RESULT, 'invalid code: must not begin with 0xef'],
  [messages.INITCODE_SIZE_VIOLATION, 'max initcode size exceeded'],
  [messages.OUT_OF_RANGE, 'return data out of bounds'],
  [messages.STACK_OVERFLOW, 'stack limit reached 1024 (1023)'],
])

export const REVERT_ERROR = 'execution reverted'

/**
 * The geth error string for an ethereumjs EVM error. `failingOpcode` is the opcode the frame was
 * executing when it failed, when known, so "invalid opcode" can name it as geth does.
 */
export function gethErrorMessage(error: EVMError, failingOpcode?: number): string {
  if (error.error === messages.INVALID_OPCODE) {
    return failingOpcode === undefined ? 'invalid opcode' : `invalid opcode: ${gethOpName(failingOpcode, 'INVALID')}`
  }
  // ethereumjs appends where the jump was (`invalid JUMP at <code hash>/<address>:<pc>`).
  const text = error.error.startsWith(messages.INVALID_JUMP) ? messages.INVALID_JUMP : error.error
  return GETH_ERROR_MESSAGES.get(text) ?? text
}

/** Errors geth raises before it reports the opcode to tracers, so geth marks that step with `error`. */
export function failsBeforeOpcodeRuns(error: EVMError): boolean {
  return (
    error.error === messages.OUT_OF_GAS ||
    error.error === messages.STACK_UNDERFLOW ||
    error.error === messages.STACK_OVERFLOW
  )
}

const OP_RETURN = 0xf3

/**
 * ethereumjs reports a create whose returned code cannot pay its deposit as plain "out of gas";
 * geth calls it ErrCodeStoreOutOfGas, a frame error not tied to a step. It is that case when the
 * create frame's last step was a RETURN that itself had the gas to run.
 */
export function isCodeDepositOutOfGas(
  isCreate: boolean,
  error: EVMError,
  lastStep: { opcode: number; gasLeft: bigint; fee: bigint } | undefined,
): boolean {
  return (
    isCreate &&
    error.error === messages.OUT_OF_GAS &&
    lastStep !== undefined &&
    lastStep.opcode === OP_RETURN &&
    lastStep.gasLeft >= lastStep.fee
  )
}

export const CODE_STORE_OUT_OF_GAS = 'contract creation code storage out of gas'
