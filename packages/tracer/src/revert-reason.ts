// Selectors of Solidity's built-in errors: keccak256('Error(string)') and keccak256('Panic(uint256)'), first 4 bytes.
const ERROR_SELECTOR = 0x08c379a0
const PANIC_SELECTOR = 0x4e487b71

// Same wording as geth's accounts/abi panic table (which follows ethers.js), so revertReason matches byte for byte.
const PANIC_REASONS: ReadonlyMap<bigint, string> = new Map([
  [0x00n, 'generic panic'],
  [0x01n, 'assert(false)'],
  [0x11n, 'arithmetic underflow or overflow'],
  [0x12n, 'division or modulo by zero'],
  [0x21n, 'enum overflow'],
  [0x22n, 'invalid encoded storage byte array accessed'],
  [0x31n, 'out-of-bounds array access; popping on an empty array'],
  [0x32n, 'out-of-bounds access of an array or bytesN'],
  [0x41n, 'out of memory'],
  [0x51n, 'uninitialized function'],
])

const utf8 = new TextDecoder('utf-8')

function readWord(data: Uint8Array, offset: number): bigint | undefined {
  if (offset + 32 > data.length) return undefined
  let value = 0n
  for (let i = offset; i < offset + 32; i++) value = (value << 8n) | BigInt(data[i] as number)
  return value
}

/**
 * Decodes revert data the way geth's `abi.UnpackRevert` does: `Error(string)` yields the message,
 * `Panic(uint256)` a readable reason (or "unknown panic code: 0x.."); anything else, or malformed
 * ABI encoding, yields undefined.
 */
export function decodeRevertReason(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined
  const selector =
    ((data[0] as number) << 24) | ((data[1] as number) << 16) | ((data[2] as number) << 8) | (data[3] as number)
  const selectorUnsigned = selector >>> 0
  if (selectorUnsigned === ERROR_SELECTOR) {
    const body = data.subarray(4)
    const offset = readWord(body, 0)
    if (offset === undefined || offset > BigInt(body.length) - 32n) return undefined
    const length = readWord(body, Number(offset))
    if (length === undefined) return undefined
    const start = Number(offset) + 32
    if (length > BigInt(body.length - start)) return undefined
    return utf8.decode(body.subarray(start, start + Number(length)))
  }
  if (selectorUnsigned === PANIC_SELECTOR) {
    const code = readWord(data, 4)
    if (code === undefined) return undefined
    return PANIC_REASONS.get(code) ?? `unknown panic code: 0x${code.toString(16)}`
  }
  return undefined
}
