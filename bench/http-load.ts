import { Agent, request } from 'node:http'

/** Keep-alive JSON-RPC poster for load generation on loopback. */
export function createPoster(url: string, connections: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const target = new URL(url)
  const post = (body: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  return { post, close: () => agent.destroy() }
}

/** Runs `work(i)` for i in [0, count) on `concurrency` loops; bounded by count and by `seconds`. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  seconds: number,
  work: (i: number) => Promise<void>,
): Promise<{ done: number; seconds: number }> {
  let next = 0
  let done = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++
        await work(i)
        done++
      }
    }),
  )
  return { done, seconds: (performance.now() - started) / 1000 }
}
