/**
 * Gossip benchmark: 4 P2PService nodes, each in its own process, meshed over TCP on 127.0.0.1.
 *   phase 1 (paced):  node 0 publishes transactions at 500 msg/s for 30 s; the other nodes time
 *                     each arrival (after their validator accepted it) against the send time.
 *   phase 2 (burst):  node 0 publishes 10,000 transactions as fast as it can; receive throughput.
 * Payloads are 200-byte "transactions" (0x02 ‖ seq ‖ send time ‖ padding) with a validator that
 * accepts them at once: the figures are the p2p layer's, not the node's transaction checks. They
 * travel in the service's transaction batches, so a paced arrival includes the batch's wait (20 ms).
 * Every wait is bounded; the run takes about 45 s.
 *
 * Run: cd packages/p2p && npx tsx bench/gossip.bench.ts [--nodes 4] [--rate 500] [--seconds 30] [--burst 10000] [--size 200]
 */
import '@cairn/primitives/polyfills'
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { P2PService } from '../src/index.ts'

const CHAIN_ID = 167_001n
const now = (): number => performance.timeOrigin + performance.now()
const PHASES = ['paced', 'burst']

type ToWorker =
  | { type: 'start'; index: number; bootnode?: string; datadir: string; expectedPeers: number }
  | { type: 'publish'; rate: number; seconds: number; size: number; phase: string }
  | { type: 'burst'; count: number; size: number; phase: string }
  | { type: 'report'; phase: string }
  | { type: 'stop' }

type FromWorker =
  | { type: 'started'; multiaddr: string }
  | { type: 'ready' }
  | { type: 'published'; sent: number; elapsedMs: number }
  | { type: 'report'; received: number; latenciesMs: number[]; firstAt: number; lastAt: number }
  | { type: 'stopped' }

const { values: args } = parseArgs({
  options: {
    worker: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '4' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    burst: { type: 'string', default: '10000' },
    size: { type: 'string', default: '200' },
  },
})

if (args.worker) await worker()
else await coordinator()

// ---- worker: one node per process -------------------------------------------------------------

async function worker(): Promise<void> {
  let service: P2PService | undefined
  const received = new Map<string, { count: number; latencies: number[]; firstAt: number; lastAt: number }>()
  const send = (message: FromWorker): void => {
    process.send?.(message)
  }
  process.on('message', async (message: ToWorker) => {
    switch (message.type) {
      case 'start': {
        service = await P2PService.create({
          datadir: message.datadir,
          port: 0,
          bootnodes: message.bootnode === undefined ? [] : [message.bootnode],
          maxPeers: 16,
          chainId: CHAIN_ID,
          logger: { debug() {}, info() {}, warn: (o, m) => console.error(m, o), error: (o, m) => console.error(m, o) },
          validators: {
            transaction: async (raw) => (raw[0] === 0x02 ? 'accept' : 'reject'),
            block: async () => 'ignore',
          },
          // The burst phase publishes far above the default per-peer 1,000 tx/s: lift it so the
          // figure is gossip's, not the rate limiter's.
          rateLimits: { tx: { ratePerSecond: 1_000_000, burst: 1_000_000 } },
          discoveryIntervalMs: 500,
        })
        service.onTransaction((raw) => {
          const at = now()
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
          const sentAt = view.getFloat64(6)
          const phase = PHASES[raw[1] as number] ?? 'unknown'
          let entry = received.get(phase)
          if (entry === undefined) {
            entry = { count: 0, latencies: [], firstAt: at, lastAt: at }
            received.set(phase, entry)
          }
          entry.count++
          entry.latencies.push(at - sentAt)
          entry.lastAt = at
        })
        await service.start()
        send({ type: 'started', multiaddr: service.multiaddrs()[0] ?? '' })
        const deadline = Date.now() + 30_000
        while (service.peerCount() < message.expectedPeers || service.gossipPeers('tx') < message.expectedPeers) {
          if (Date.now() > deadline) {
            console.error(`node ${message.index}: only ${service.peerCount()} peers after 30 s`)
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        send({ type: 'ready' })
        return
      }
      case 'publish': {
        const phase = PHASES.indexOf(message.phase)
        const total = Math.round(message.rate * message.seconds)
        const start = now()
        let seq = 0
        // Not awaited one by one: a publish resolves when its batch leaves.
        const published: Promise<number>[] = []
        while (seq < total) {
          const due = Math.min(total, Math.floor(((now() - start) / 1000) * message.rate) + 1)
          while (seq < due) published.push(service!.publishTransaction(payload(phase, seq++, message.size)))
          const nextAt = start + (seq / message.rate) * 1000
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextAt - now())))
        }
        await Promise.all(published)
        send({ type: 'published', sent: total, elapsedMs: now() - start })
        return
      }
      case 'burst': {
        const phase = PHASES.indexOf(message.phase)
        const start = now()
        const published: Promise<number>[] = []
        for (let seq = 0; seq < message.count; seq++) {
          published.push(service!.publishTransaction(payload(phase, seq, message.size)))
          // Yield now and then so the event loop can flush streams.
          if (seq % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
        }
        await Promise.all(published)
        send({ type: 'published', sent: message.count, elapsedMs: now() - start })
        return
      }
      case 'report': {
        const entry = received.get(message.phase)
        send({
          type: 'report',
          received: entry?.count ?? 0,
          latenciesMs: entry?.latencies ?? [],
          firstAt: entry?.firstAt ?? 0,
          lastAt: entry?.lastAt ?? 0,
        })
        return
      }
      case 'stop':
        await service?.stop()
        send({ type: 'stopped' })
        process.exit(0)
    }
  })
}

/** 0x02 ‖ phase ‖ seq (uint32) ‖ send time (float64 ms) ‖ padding: unique bytes, so unique message ids. */
function payload(phase: number, seq: number, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(size, 14))
  const view = new DataView(out.buffer)
  out[0] = 0x02
  out[1] = phase
  view.setUint32(2, seq)
  view.setFloat64(6, now())
  out.fill(0x5a, 14)
  return out
}

// ---- coordinator ----------------------------------------------------------------------------

async function coordinator(): Promise<void> {
  const nodes = Number(args.nodes)
  const rate = Number(args.rate)
  const seconds = Number(args.seconds)
  const burst = Number(args.burst)
  const size = Number(args.size)
  const root = await mkdtemp(join(tmpdir(), 'cairn-p2p-bench-'))
  const children: ChildProcess[] = []
  const self = fileURLToPath(import.meta.url)
  const waitFor = <T extends FromWorker['type']>(child: ChildProcess, type: T, timeoutMs: number) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker did not answer ${type} within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const listener = (message: FromWorker): void => {
        if (message.type !== type) return
        clearTimeout(timer)
        child.off('message', listener)
        resolve(message as Extract<FromWorker, { type: T }>)
      }
      child.on('message', listener)
    })
  const kill = (): void => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  }
  process.on('exit', kill)
  try {
    for (let i = 0; i < nodes; i++) {
      children.push(
        fork(self, ['--worker'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      )
    }
    const [first, ...rest] = children as [ChildProcess, ...ChildProcess[]]
    const send = (child: ChildProcess, message: ToWorker): void => {
      child.send(message)
    }
    const meshStart = now()
    send(first, { type: 'start', index: 0, datadir: join(root, 'n0'), expectedPeers: nodes - 1 })
    const { multiaddr } = await waitFor(first, 'started', 30_000)
    rest.forEach((child, i) => {
      send(child, {
        type: 'start',
        index: i + 1,
        bootnode: multiaddr,
        datadir: join(root, `n${i + 1}`),
        expectedPeers: nodes - 1,
      })
    })
    const started = now()
    await Promise.all(children.map((child) => waitFor(child, 'ready', 60_000)))
    console.log(
      `${nodes} nodes (one process each) on 127.0.0.1: processes up in ${(started - meshStart).toFixed(0)} ms, ` +
        `full mesh (every node sees ${nodes - 1} peers on the tx topic) ${(now() - started).toFixed(0)} ms later`,
    )

    const results: string[][] = [
      ['phase', 'sent', 'delivered', 'publish rate', 'receive rate / node', 'p50', 'p90', 'p99', 'max'],
    ]
    const runPhase = async (name: string, phase: string, message: ToWorker, timeoutMs: number): Promise<void> => {
      send(first, message)
      const published = await waitFor(first, 'published', timeoutMs)
      const expected = published.sent * rest.length
      // Let deliveries drain (bounded): poll the receivers until all arrived or 10 s pass.
      const deadline = Date.now() + 10_000
      let reports: Array<Extract<FromWorker, { type: 'report' }>> = []
      for (;;) {
        reports = await Promise.all(
          rest.map((child) => {
            const answer = waitFor(child, 'report', 10_000)
            send(child, { type: 'report', phase })
            return answer
          }),
        )
        const delivered = reports.reduce((sum, r) => sum + r.received, 0)
        if (delivered >= expected || Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const latencies = reports.flatMap((r) => r.latenciesMs).sort((a, b) => a - b)
      const delivered = reports.reduce((sum, r) => sum + r.received, 0)
      const pct = (p: number): string =>
        latencies.length === 0
          ? '-'
          : `${(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number).toFixed(1)} ms`
      const receiveRates = reports.map((r) => (r.received > 1 ? (r.received - 1) / ((r.lastAt - r.firstAt) / 1000) : 0))
      const meanReceiveRate = receiveRates.reduce((a, b) => a + b, 0) / receiveRates.length
      results.push([
        name,
        String(published.sent),
        `${delivered}/${expected}`,
        `${((published.sent / published.elapsedMs) * 1000).toFixed(0)} msg/s`,
        `${meanReceiveRate.toFixed(0)} msg/s`,
        pct(50),
        pct(90),
        pct(99),
        latencies.length === 0 ? '-' : `${(latencies[latencies.length - 1] as number).toFixed(1)} ms`,
      ])
    }
    const paced = { type: 'publish', rate, seconds, size, phase: 'paced' } as const
    await runPhase(`paced ${rate}/s × ${seconds} s`, 'paced', paced, (seconds + 30) * 1000)
    await runPhase(`burst ${burst}`, 'burst', { type: 'burst', count: burst, size, phase: 'burst' }, 60_000)

    const widths = results[0]!.map((_, col) => Math.max(...results.map((row) => (row[col] as string).length)))
    for (const row of results) console.log(row.map((cell, col) => cell.padEnd(widths[col] as number)).join('  '))
    console.log(
      `payload ${size} bytes; latency = receiver clock − sender clock at publish (same host), after validation`,
    )
    await Promise.all(
      children.map((child) => {
        const stopped = waitFor(child, 'stopped', 15_000).catch(() => undefined)
        send(child, { type: 'stop' })
        return stopped
      }),
    )
  } finally {
    kill()
    await rm(root, { recursive: true, force: true })
  }
}
