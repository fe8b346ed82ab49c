import { readFileSync } from 'node:fs'

/** USER_HZ: 100 on every Linux the node runs on. */
const CLOCK_TICKS_PER_SECOND = 100

/**
 * User + system CPU time, in microseconds, of a process's main thread (Linux /proc; 10 ms
 * resolution). Benchmarks report it per transaction: it is the thread that bounds a node's
 * throughput, and other load on the machine inflates it far less than wall time.
 */
export function mainThreadCpuMicros(pid: number = process.pid): number {
  return statCpuMicros(`/proc/${pid}/task/${pid}/stat`)
}

/** The same for the whole process: every thread (workers, the libuv pool, GC helpers), live or exited. */
export function processCpuMicros(pid: number = process.pid): number {
  return statCpuMicros(`/proc/${pid}/stat`)
}

function statCpuMicros(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND
}
