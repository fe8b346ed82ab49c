/**
 * Child process for the kill -9 test: adds the raw transactions given (hex, one per line in the
 * file named by argv[3]) to a pool journaling at argv[2], all at once as concurrent RPC requests
 * would, prints each hash as the RPC would return it, then waits to be killed.
 */
import { readFileSync } from 'node:fs'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { Mempool, MempoolJournal } from '../src/index.ts'
import { InMemoryState, testCommon } from './fixtures.ts'

const [journalPath, rawsPath] = process.argv.slice(2) as [string, string]
const journal = new MempoolJournal(journalPath)
const pool = new Mempool({ common: testCommon(), state: new InMemoryState(), journal })
await pool.restore()
const lines = readFileSync(rawsPath, 'utf8').split('\n').filter(Boolean)
await Promise.all(
  lines.map(async (line) => {
    const hash = await pool.addRaw(hexToBytes(line as `0x${string}`))
    process.stdout.write(`${bytesToHex(hash)}\n`)
  }),
)
process.stdout.write('done\n')
setInterval(() => {}, 1000)
