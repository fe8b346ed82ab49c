import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** Where free ports are looked for: above the well-known and registered ports most services take. */
const LOWEST = 10_000

/**
 * The first port of the kernel's ephemeral range, which it hands to outgoing connections (Linux's
 * default where /proc does not say).
 */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 32_768
  }
}

/** True when a server may listen on `port` of 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * The first of `count` consecutive loopback ports that are free, below the kernel's ephemeral range.
 * A port is listened on some time after it is picked (a devnet binds its followers' ports after the
 * L1 deploy), and a port from bind(0) is one the kernel may meanwhile give an outgoing connection as
 * its local port, which the processes around make by the thousand: the listen then fails with
 * EADDRINUSE. Below that range only another listener can take it.
 */
export async function freePortRun(count: number): Promise<number> {
  const high = ephemeralLow()
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = LOWEST + Math.floor(Math.random() * (high - LOWEST - count))
    let free = true
    for (let port = first; free && port < first + count; port++) free = await portIsFree(port)
    if (free) return first
  }
  throw new Error(`no ${count} consecutive free ports between ${LOWEST} and ${high}`)
}

/** A loopback port that nothing listens on now, below the kernel's ephemeral range (see `freePortRun`). */
export function freePort(): Promise<number> {
  return freePortRun(1)
}
