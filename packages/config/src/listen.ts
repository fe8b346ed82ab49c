import { CairnError, isCairnError } from '@cairn/primitives'

/** A server a binary starts, and the settings that choose where it listens, for the error when it cannot. */
export interface ListenTarget {
  /** What listens, as a person would name it ("JSON-RPC", "Prometheus metrics"). */
  service: string
  host: string
  /** The port, or the ports when the server opens more than one ("8545 or 8546"). */
  port: number | string
  /** The setting that chooses the address (`--http.addr`). */
  addrSetting: string
  /** The setting or settings that choose the port (`--http.port`). */
  portSetting: string
}

/** System errors of a bind that the operator fixes with a setting: the port's, or the address's. */
const BIND_ERRORS: Record<string, { fix: 'port' | 'address' | 'name'; reason: string }> = {
  EADDRINUSE: { fix: 'port', reason: 'another process is listening on it' },
  EACCES: { fix: 'port', reason: 'this user may not bind it: ports below 1024 need privileges' },
  EADDRNOTAVAIL: { fix: 'address', reason: 'the address is not one of this host’s' },
  ENOTFOUND: { fix: 'name', reason: 'the host name does not resolve' },
  EAI_AGAIN: { fix: 'name', reason: 'the host name could not be resolved: DNS did not answer' },
}

/**
 * Starts a server. A bind the operator can fix (a port taken or privileged, an address not of this
 * host or a name that does not resolve) becomes one `LISTEN_FAILED` line naming the address, the port
 * and the setting to change, instead of a system error and its stack; other errors pass through.
 */
export async function listening<T>(target: ListenTarget, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen()
  } catch (error) {
    throw bindFailure(error, target)
  }
}

export function bindFailure(error: unknown, target: ListenTarget): unknown {
  // @cairn/telemetry's metrics server already wraps some of these in a LISTEN_FAILED: judge the system error.
  const system = isCairnError(error, 'LISTEN_FAILED') && error.cause instanceof Error ? error.cause : error
  const code = (system as { code?: unknown } | undefined)?.code
  const known = typeof code === 'string' ? BIND_ERRORS[code] : undefined
  if (known === undefined) return error
  const advice =
    known.fix === 'port'
      ? `choose another with ${target.portSetting}${code === 'EADDRINUSE' ? ', or stop the process that holds it' : ''}`
      : known.fix === 'address'
        ? `set ${target.addrSetting} to an address of this host (0.0.0.0 listens on every interface)`
        : `set ${target.addrSetting} to an IP address or a host name that resolves`
  return new CairnError(
    'LISTEN_FAILED',
    `${target.service} cannot listen on ${target.host} port ${target.port}: ${(system as Error).message} (${known.reason}); ${advice}`,
    { cause: system, details: { systemCode: code, host: target.host, port: target.port } },
  )
}

/** Where `--metrics.addr`/`--metrics.port` serve metrics, as every binary names them. */
export function metricsListenTarget(settings: { metricsAddr: string; metricsPort?: number | undefined }): ListenTarget {
  return {
    service: 'Prometheus metrics',
    host: settings.metricsAddr,
    port: settings.metricsPort ?? 0,
    addrSetting: '--metrics.addr',
    portSetting: '--metrics.port',
  }
}
