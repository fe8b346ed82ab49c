// The reaper of a process that runs devnet processes (devnet-process.ts starts one per process, on its
// first child): it reads `+<pgid>` and `-<pgid>` lines on stdin as children start and end. Its stdin
// ends when that process is gone, however it went (SIGKILL, a crash that skipped its 'exit' handlers,
// an OOM kill, a terminal closed); the reaper then stops every group still listed: SIGTERM (anvil
// dumps its state, nodes close their databases), SIGKILL after a grace period. A process that stops
// its children itself has none listed by then, and the reaper just exits.
import { createInterface } from 'node:readline'

const GRACE_MS = 20_000
const groups = new Set<number>()

function signal(group: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-group, name)
    return true
  } catch {
    return false // ESRCH: the group is gone
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const group = Number(line.slice(1))
  if (!Number.isSafeInteger(group) || group <= 1) return
  if (line.startsWith('+')) groups.add(group)
  else if (line.startsWith('-')) groups.delete(group)
})
lines.on('close', async () => {
  for (const group of groups) signal(group, 'SIGTERM')
  const deadline = Date.now() + GRACE_MS
  while (Date.now() < deadline && [...groups].some((group) => signal(group, 0))) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  for (const group of groups) signal(group, 'SIGKILL')
  process.exit(0)
})
