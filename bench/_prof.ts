import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { benchExecutor } from '../packages/executor/bench/executor.bench.ts'
const kind = (process.argv[2] ?? 'eth') as 'eth' | 'erc20'
const s = new Session()
s.connect()
await s.post('Profiler.enable')
await s.post('Profiler.setSamplingInterval', { interval: 200 })
const r = await benchExecutor(kind, {
  txPerBlock: 1000,
  blocks: 5,
  onStart: async () => {
    await s.post('Profiler.start')
  },
})
const { profile } = await s.post('Profiler.stop')
writeFileSync(`/tmp/prof/${kind}.cpuprofile`, JSON.stringify(profile))
console.log(r)
