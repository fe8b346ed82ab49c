import { RLP } from '@ethereumjs/rlp'
import { describe, expect, it } from 'vitest'
import {
  RlpError,
  type RlpInput,
  type RlpValue,
  decodeRlpInPlace,
  encodeRlp,
  readRlpItem,
  rlpList,
  rlpString,
} from './rlp.ts'

/** Byte strings around every header boundary: empty, single bytes either side of 0x80, 55/56, 255/256, 65,535/65,536. */
const strings = [0, 1, 2, 55, 56, 255, 256, 65_535, 65_536].flatMap((length) =>
  length === 1
    ? [Uint8Array.of(0x00), Uint8Array.of(0x7f), Uint8Array.of(0x80), Uint8Array.of(0xff)]
    : [Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff)],
)

/** Byte equality without a deep comparison of 65 KB arrays (slow in the matcher). */
function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length)
  expect(Buffer.compare(actual, expected)).toBe(0)
}

describe('rlp', () => {
  it('encodes strings and lists byte for byte as @ethereumjs/rlp does', () => {
    for (const bytes of strings) expectSame(rlpString(bytes), RLP.encode(bytes))
    for (const count of [0, 1, 2, 30, 300]) {
      const items = Array.from({ length: count }, (_, i) => strings[i % strings.length]!)
      expectSame(rlpList(items.map(rlpString)), RLP.encode(items))
    }
  })

  it('encodeRlp writes nested values byte for byte as @ethereumjs/rlp does, behind an optional type byte', () => {
    for (const bytes of strings) expectSame(encodeRlp(bytes), RLP.encode(bytes))
    // Lists whose payloads straddle the same boundaries, nested, with empty lists among them.
    const nested = (depth: number, seed: number): RlpInput =>
      depth === 0
        ? strings[seed % strings.length]!
        : Array.from({ length: seed % 5 }, (_, i) => nested(depth - 1, seed * 31 + i * 7 + 1))
    for (let seed = 0; seed < 200; seed++) {
      const value = nested(1 + (seed % 4), seed)
      expectSame(encodeRlp(value), RLP.encode(value as never))
    }
    const wide: RlpInput = [Array.from({ length: 300 }, (_, i) => strings[i % strings.length]!), [], [[]]]
    expectSame(encodeRlp(wide), RLP.encode(wide as never))
    expectSame(encodeRlp(wide, 2), Uint8Array.from([2, ...RLP.encode(wide as never)]))
  })

  it('reads back what it wrote: kind, payload bounds, and where the next item starts', () => {
    for (const bytes of strings) {
      const encoded = Uint8Array.from([...rlpString(bytes), ...rlpList([rlpString(bytes)])])
      const first = readRlpItem(encoded, 0)
      expect(first.list).toBe(false)
      expectSame(encoded.subarray(first.start, first.end), bytes)
      const second = readRlpItem(encoded, first.end)
      expect(second.list).toBe(true)
      expect(second.end).toBe(encoded.length)
      const inner = readRlpItem(encoded, second.start, second.end)
      expectSame(encoded.subarray(inner.start, inner.end), bytes)
    }
  })

  it('refuses non-canonical and truncated items with the offset of the bad item', () => {
    const cases: [number[], RegExp][] = [
      [[0x81, 0x05], /single byte below 0x80/],
      [[0xb8, 0x02, 0x01, 0x02], /long form used for a length below 56/],
      [[0xb9, 0x00, 0x40], /leading zero/],
      [[0xc3, 0x01, 0x02], /runs past the end/],
      [[0xf8], /length runs past/],
      [[0xbc, 0x01, 0x01, 0x01, 0x01, 0x01], /longer than 4 bytes/],
    ]
    for (const [bytes, reason] of cases) {
      const padded = Uint8Array.from([0x01, ...bytes])
      const error = (() => {
        try {
          readRlpItem(padded, 1)
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(RlpError)
      expect((error as RlpError).code).toBe('RLP_INVALID')
      expect((error as RlpError).message).toMatch(reason)
      expect((error as RlpError).offset).toBe(1)
    }
    expect(() => readRlpItem(Uint8Array.of(0x01), 1)).toThrow(/unexpected end of input/)
    // A limit inside the buffer bounds the item, not the buffer's length.
    expect(() => readRlpItem(Uint8Array.of(0x82, 0x01, 0x02), 0, 2)).toThrow(/runs past the end/)
  })

  it('decodes nested values as @ethereumjs/rlp does, with byte strings that are views of the input', () => {
    const nested = [strings[3]!, [], [strings[0]!, [strings[5]!, [strings[1]!]]], strings.slice(0, 12)]
    for (const value of [strings[2]!, strings[7]!, [], nested, [nested, nested]]) {
      const encoded = RLP.encode(value as never)
      const decoded = decodeRlpInPlace(encoded)
      expect(RLP.encode(decoded as never)).toEqual(encoded)
      expect(shape(decoded)).toEqual(shape(RLP.decode(encoded) as RlpValue))
      const firstString = (function first(v: RlpValue): Uint8Array | undefined {
        return v instanceof Uint8Array ? v : v.map(first).find((s) => s !== undefined)
      })(decoded)
      if (firstString !== undefined) expect(firstString.buffer).toBe(encoded.buffer)
    }
  })

  it('refuses trailing bytes and any non-canonical item inside a list', () => {
    expect(() => decodeRlpInPlace(Uint8Array.of(0x01, 0x02))).toThrow(/bytes after the item/)
    expect(() => decodeRlpInPlace(Uint8Array.of(0xc3, 0x01, 0x81, 0x05))).toThrow(/single byte below 0x80/)
    expect(() => decodeRlpInPlace(Uint8Array.of(0xc2, 0xc2, 0x01))).toThrow(/runs past the end/)
    expect(() => decodeRlpInPlace(new Uint8Array(0))).toThrow(/unexpected end of input/)
  })
})

/** A value's structure: list lengths and string lengths. */
function shape(value: RlpValue): unknown {
  return value instanceof Uint8Array ? value.length : value.map(shape)
}
