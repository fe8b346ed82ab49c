import { readdirSync, readFileSync } from 'node:fs'

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

/**
 * How long a process's main thread has waited, runnable, for a core (Linux schedstat's run-queue
 * time), in microseconds. On a busy machine the node's other threads and other processes take
 * the cores in turn: the time the main thread spends waiting is time its work does not move,
 * however little CPU that work needs.
 */
export function mainThreadRunQueueMicros(pid: number = process.pid): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000
}

/** The most resident memory a process has had (VmHWM), in MiB. */
export function peakRssMebibytes(pid: number = process.pid): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib) / 1024
}

function statCpuMicros(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND
}

/** A reading of every live thread of a process: CPU microseconds by thread id, with the thread's name. */
export type ThreadCpu = Map<number, { name: string; micros: number }>

export function threadCpuMicros(pid: number = process.pid): ThreadCpu {
  const threads: ThreadCpu = new Map()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      threads.set(Number(tid), { name, micros: statCpuMicros(`/proc/${pid}/task/${tid}/stat`) })
    } catch {
      // The thread exited between listing and reading.
    }
  }
  return threads
}

/**
 * Where a process's CPU went between two readings, per transaction and thread, busiest first
 * (threads under 1 µs per transaction left out). Node 20 names none of its threads, so they are
 * told apart by id: the main thread's is the process id.
 */
export function threadCpuLines(pid: number, before: ThreadCpu, after: ThreadCpu, txs: number): string[] {
  return [...after]
    .map(([tid, { name, micros }]) => ({ tid, name, perTx: (micros - (before.get(tid)?.micros ?? 0)) / txs }))
    .filter((thread) => thread.perTx >= 1)
    .sort((a, b) => b.perTx - a.perTx)
    .map(
      ({ tid, name, perTx }) => `thread ${tid}${tid === pid ? ' (main)' : ''} ${name}: ${perTx.toFixed(0)} µs CPU/tx`,
    )
}
