const EMPTY = new Uint8Array(0)

/** Memory bytes [offset, offset+size), zero-filled past what the frame has touched (as geth's expanded memory reads). */
export function readMemory(memory: Uint8Array, offset: bigint, size: bigint): Uint8Array {
  if (size === 0n) return EMPTY
  const out = new Uint8Array(Number(size))
  if (offset >= BigInt(memory.length)) return out
  const start = Number(offset)
  out.set(memory.subarray(start, Math.min(memory.length, start + out.length)))
  return out
}
