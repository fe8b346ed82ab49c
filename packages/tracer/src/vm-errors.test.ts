import { EVMError } from '@ethereumjs/evm'
import { describe, expect, it } from 'vitest'
import { gethErrorMessage } from './vm-errors.ts'

const messages = EVMError.errorMessages

describe('gethErrorMessage', () => {
  it("words ethereumjs's EVM errors as geth's core/vm errors", () => {
    expect(gethErrorMessage(new EVMError(messages.CODESIZE_EXCEEDS_MAXIMUM))).toBe('max code size exceeded')
    expect(gethErrorMessage(new EVMError(messages.STATIC_STATE_CHANGE))).toBe('write protection')
    expect(gethErrorMessage(new EVMError(messages.OUT_OF_GAS))).toBe('out of gas')
  })

  it('reads an invalid jump whatever location ethereumjs appends', () => {
    const error = new EVMError(`${messages.INVALID_JUMP} at 0xc2ac/0xbd77:2` as typeof messages.INVALID_JUMP)
    expect(gethErrorMessage(error)).toBe('invalid jump destination')
  })

  it('names the invalid opcode as geth does', () => {
    const invalid = new EVMError(messages.INVALID_OPCODE)
    expect(gethErrorMessage(invalid, 0xfe)).toBe('invalid opcode: INVALID')
    expect(gethErrorMessage(invalid, 0x0c)).toBe('invalid opcode: opcode 0xc not defined')
    expect(gethErrorMessage(invalid)).toBe('invalid opcode')
  })
})
