/**
 * Requests per second for eth_blockNumber over keep-alive HTTP, N concurrent clients on loopback.
 *   npx tsx packages/rpc/bench/rpc.bench.ts [--clients 32] [--requests 200000] [--seconds 10] [--baseline] [--rounds 3]
 * `--baseline` also measures a bare node:http server answering the same JSON, for comparison.
 * Each server runs in a child process; this process is the load generator.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createRpcServer } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    requests: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5000' },
    baseline: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    serve: { type: 'string' },
  },
})
const clients = Number(values.clients)
const maxRequests = Number(values.requests)
const maxSeconds = Number(values.seconds)
const warmup = Number(values.warmup)
const rounds = Number(values.rounds)

const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] })

/** Runs `clients` request loops until `count` requests or `seconds` elapse; returns req/s. */
async function load(url: URL, count: number, seconds: number): Promise<{ rate: number; done: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients })
  const deadline = performance.now() + seconds * 1000
  let issued = 0
  let done = 0
  let failed = 0
  const post = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            text += chunk
          })
          res.on('end', () => {
            if (res.statusCode !== 200 || !text.includes('"result"')) failed++
            resolve()
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  const started = performance.now()
  const loop = async (): Promise<void> => {
    while (issued < count && performance.now() < deadline) {
      issued++
      await post()
      done++
    }
  }
  await Promise.all(Array.from({ length: clients }, loop))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  return { rate: done / elapsed, done, failed }
}

/** Server-process CPU time (user + system, µs), asked over IPC. */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve((message as { cpu: number }).cpu))
    child.send('cpu')
  })
}

/** Returns req/s and the server's CPU µs per request (the latter is steadier on a busy machine). */
async function measure(label: string, url: URL, child: ChildProcess): Promise<{ rate: number; cpuPerRequest: number }> {
  await load(url, warmup, maxSeconds)
  const cpuBefore = await serverCpu(child)
  const { rate, done, failed } = await load(url, maxRequests, maxSeconds)
  const cpuPerRequest = ((await serverCpu(child)) - cpuBefore) / done
  console.log(
    `${label}: ${Math.round(rate)} req/s, ${cpuPerRequest.toFixed(1)} µs server CPU/request (${done} requests, ${clients} clients, ${failed} failed)`,
  )
  return { rate, cpuPerRequest }
}

/** The server under test runs in a child process so client and server each get a core. */
async function serve(kind: 'cairn' | 'bare'): Promise<void> {
  process.on('message', () => {
    const { user, system } = process.cpuUsage()
    process.send?.({ cpu: user + system })
  })
  if (kind === 'cairn') {
    const rpc = createRpcServer({ methods: { eth_blockNumber: () => '0x1234' }, host: '127.0.0.1', port: 0 })
    const { httpUrl } = await rpc.listen()
    process.send?.({ url: httpUrl })
    return
  }
  const reply = JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1234' })
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length })
      res.end(reply)
    })
  })
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve))
  process.send?.({ url: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` })
}

async function startChild(kind: 'cairn' | 'bare'): Promise<{ url: URL; child: ChildProcess }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: 'inherit' })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url))
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)))
  })
  return { url: new URL(url), child }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

if (values.serve !== undefined) {
  await serve(values.serve === 'bare' ? 'bare' : 'cairn')
} else {
  // Rounds alternate between servers so a busy machine slows both alike.
  const cairn: Array<{ rate: number; cpuPerRequest: number }> = []
  const bare: Array<{ rate: number; cpuPerRequest: number }> = []
  for (let round = 0; round < rounds; round++) {
    const server = await startChild('cairn')
    cairn.push(await measure('@cairn/rpc eth_blockNumber', server.url, server.child))
    server.child.kill()
    if (values.baseline) {
      const baseline = await startChild('bare')
      bare.push(await measure('bare node:http baseline', baseline.url, baseline.child))
      baseline.child.kill()
    }
  }
  const summary = (runs: typeof cairn) =>
    `${Math.round(median(runs.map((r) => r.rate)))} req/s, ${median(runs.map((r) => r.cpuPerRequest)).toFixed(1)} µs CPU/request`
  console.log(`median @cairn/rpc over ${rounds} round(s): ${summary(cairn)}`)
  if (values.baseline) {
    console.log(`median bare node:http: ${summary(bare)}`)
    const rateRatio = median(cairn.map((r) => r.rate)) / median(bare.map((r) => r.rate))
    const cpuRatio = median(bare.map((r) => r.cpuPerRequest)) / median(cairn.map((r) => r.cpuPerRequest))
    console.log(
      `cairn / baseline: ${(rateRatio * 100).toFixed(0)}% of the throughput, ${(cpuRatio * 100).toFixed(0)}% of the per-request efficiency`,
    )
  }
}
