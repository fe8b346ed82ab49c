import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { listenFailure } from '@cairn/primitives'

export { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** A registry with process metrics and a `cairn_` prefix convention for everything else. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'cairn_process_' })
  return registry
}

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  url: string
  close(): Promise<void>
}

/** Serves `GET /metrics` in the Prometheus text format. */
export async function startMetricsServer(
  registry: Registry,
  options: { host: string; port: number },
): Promise<MetricsServer> {
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('not found: metrics are served at /metrics\n')
      return
    }
    try {
      const body = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType }).end(body)
    } catch (error) {
      res.writeHead(500).end(`metrics collection failed: ${(error as Error).message}\n`)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host}:${port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/**
 * The metrics server a service's `--metrics.addr`/`--metrics.port` settings ask for, or none when no
 * port is set (metrics are off unless asked for).
 */
export async function startConfiguredMetricsServer(
  registry: Registry,
  settings: { metricsAddr: string; metricsPort?: number | undefined },
): Promise<MetricsServer | undefined> {
  if (settings.metricsPort === undefined) return undefined
  try {
    return await startMetricsServer(registry, { host: settings.metricsAddr, port: settings.metricsPort })
  } catch (error) {
    throw listenFailure(error, 'Prometheus metrics', '--metrics.port')
  }
}
