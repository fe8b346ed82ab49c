import { hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { decodeRevertReason } from './index.ts'

function encodeError(message: string): Uint8Array {
  const bytes = Buffer.from(message, 'utf8')
  const padded = bytes.toString('hex').padEnd(Math.ceil(bytes.length / 32) * 64, '0')
  return hexToBytes(`0x08c379a0${'20'.padStart(64, '0')}${bytes.length.toString(16).padStart(64, '0')}${padded}`)
}

describe('decodeRevertReason', () => {
  it('decodes Error(string), including multi-word and UTF-8 messages', () => {
    expect(decodeRevertReason(encodeError('B says no'))).toBe('B says no')
    const long = 'a revert reason that is longer than thirty-two bytes — with UTF-8'
    expect(decodeRevertReason(encodeError(long))).toBe(long)
    expect(decodeRevertReason(encodeError(''))).toBe('')
  })

  it('names known panic codes and reports unknown ones in hex', () => {
    const panic = (code: string) => hexToBytes(`0x4e487b71${code.padStart(64, '0')}`)
    expect(decodeRevertReason(panic('01'))).toBe('assert(false)')
    expect(decodeRevertReason(panic('12'))).toBe('division or modulo by zero')
    expect(decodeRevertReason(panic('99'))).toBe('unknown panic code: 0x99')
  })

  it('returns undefined for custom errors, short data and malformed encodings', () => {
    expect(decodeRevertReason(hexToBytes('0x12345678'))).toBeUndefined()
    expect(decodeRevertReason(hexToBytes('0x08c379'))).toBeUndefined()
    // Length word claims more bytes than present.
    expect(
      decodeRevertReason(hexToBytes(`0x08c379a0${'20'.padStart(64, '0')}${'40'.padStart(64, '0')}${'00'.repeat(32)}`)),
    ).toBeUndefined()
    // Offset points past the end.
    expect(decodeRevertReason(hexToBytes(`0x08c379a0${'ff'.padStart(64, '0')}`))).toBeUndefined()
    expect(decodeRevertReason(hexToBytes('0x4e487b71'))).toBeUndefined()
  })
})
