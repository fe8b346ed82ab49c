import { spawn } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesToHex } from '@ethereumjs/util'
import { createSenderRecovery } from '@cairn/executor'
import { ACCOUNTS, GWEI, InMemoryState, dynamicFeeTx, testCommon } from '../test/fixtures.ts'
import { MempoolError } from './errors.ts'
import { MempoolJournal } from './journal.ts'
import { Mempool, type MempoolOptions } from './mempool.ts'

const common = testCommon()
const [alice, bob, carol] = ACCOUNTS as [(typeof ACCOUNTS)[0], (typeof ACCOUNTS)[0], (typeof ACCOUNTS)[0]]

let dir: string
let path: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-mempool-journal-'))
  path = join(dir, 'datadir', 'mempool.journal')
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const raw = (n: number) => new Uint8Array(10 + n).fill(n)

describe('MempoolJournal', () => {
  it('starts empty when there is no file, creating its directory', () => {
    const journal = new MempoolJournal(path)
    expect(journal.load()).toEqual({ records: [], truncatedBytes: 0 })
    expect(existsSync(path)).toBe(true)
    journal.close()
  })

  it('reads back what it appended, in order, one record or a batch per append', () => {
    const journal = new MempoolJournal(path)
    journal.load()
    journal.append([raw(1)])
    journal.append([raw(2), raw(3), raw(4)])
    journal.append([])
    journal.append([raw(5)])
    journal.close()
    const reopened = new MempoolJournal(path)
    const { records, truncatedBytes } = reopened.load()
    expect(records).toEqual([1, 2, 3, 4, 5].map(raw))
    expect(truncatedBytes).toBe(0)
    expect(reopened.recordCount).toBe(5)
    reopened.close()
  })

  it('tolerates a torn last record: keeps the whole ones and cuts the tail off the file', () => {
    const journal = new MempoolJournal(path)
    journal.load()
    journal.append([raw(1)])
    journal.append([raw(2)])
    journal.close()
    const fullSize = statSync(path).size
    truncateSync(path, fullSize - 3)

    const reopened = new MempoolJournal(path)
    const { records, truncatedBytes } = reopened.load()
    expect(records).toEqual([raw(1)])
    expect(truncatedBytes).toBe(8 + raw(2).length - 3)
    // Appends after the cut land on a clean record boundary.
    reopened.append([raw(3)])
    reopened.close()
    expect(new MempoolJournal(path).load().records).toEqual([raw(1), raw(3)])
  })

  it('cuts a failed append off the file, so the records appended after it stay readable', async () => {
    // A child under a 2-block file size limit: the second append writes part of its batch, then
    // fails with EFBIG (Node ignores SIGXFSZ), as a full disk would.
    const appender = join(import.meta.dirname, '..', 'test', 'journal-size-limited.ts')
    const child = spawn(
      'bash',
      ['-c', 'ulimit -f 2 && exec "$0" "$@"', process.execPath, '--import', 'tsx', appender, path],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect({ code, output }).toEqual({ code: 0, output: 'second append failed: EFBIG\n' })
    expect(new MempoolJournal(path).load()).toEqual({
      records: [new Uint8Array(20).fill(1), new Uint8Array(20).fill(4)],
      truncatedBytes: 0,
    })
  })

  it('stops at a record whose checksum does not match', () => {
    const journal = new MempoolJournal(path)
    journal.load()
    journal.append([raw(1)])
    journal.append([raw(2)])
    journal.close()
    const bytes = readFileSync(path)
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff
    writeFileSync(path, bytes)
    expect(new MempoolJournal(path).load().records).toEqual([raw(1)])
  })

  it('refuses to touch a file that is not a mempool journal', () => {
    const journal = new MempoolJournal(path)
    journal.load()
    journal.close()
    writeFileSync(path, 'some operator notes, not a journal')
    expect(() => new MempoolJournal(path).load()).toThrow(MempoolError)
    expect(readFileSync(path, 'utf8')).toBe('some operator notes, not a journal')
  })

  it('rotates in the background, keeping records appended while the new file is flushed', async () => {
    const journal = new MempoolJournal(path)
    journal.load()
    for (const n of [1, 2, 3]) journal.append([raw(n)])
    const rotation = journal.rotateInBackground([raw(2)])
    journal.append([raw(4)])
    // Until the flush completes the old file is the journal, and it holds everything acknowledged.
    expect(new MempoolJournal(path).load().records).toEqual([raw(1), raw(2), raw(3), raw(4)])
    await rotation
    journal.append([raw(5)])
    expect(journal.recordCount).toBe(3)
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([raw(2), raw(4), raw(5)])
  })

  it('a synchronous rotation supersedes one still flushing', async () => {
    const journal = new MempoolJournal(path)
    journal.load()
    journal.append([raw(1)])
    const background = journal.rotateInBackground([])
    journal.rotate([raw(7)])
    await background
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([raw(7)])
  })

  it('rotates to exactly the given records and keeps appending after them', () => {
    const journal = new MempoolJournal(path)
    journal.load()
    for (let i = 1; i <= 4; i++) journal.append([raw(i)])
    journal.rotate([raw(2), raw(4)])
    expect(journal.recordCount).toBe(2)
    journal.append([raw(5)])
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([raw(2), raw(4), raw(5)])
    expect(existsSync(`${path}.tmp`)).toBe(false)
  })
})

/** A real journal that records each append's size and can be made to fail its appends. */
class WatchedJournal extends MempoolJournal {
  readonly appends: number[] = []
  failing = false

  override append(raws: readonly Uint8Array[]): void {
    if (this.failing) throw new Error('ENOSPC: no space left on device')
    super.append(raws)
    this.appends.push(raws.length)
  }
}

describe('Mempool group commit', () => {
  function watchedPool(options: Partial<MempoolOptions> = {}): { pool: Mempool; journal: WatchedJournal } {
    const journal = new WatchedJournal(path)
    journal.load()
    return { pool: new Mempool({ common, state: new InMemoryState(), journal, baseFee: GWEI, ...options }), journal }
  }

  it('journals the adds one recovery-worker message resumes with one write, and answers each only after it', async () => {
    const recovery = createSenderRecovery(1)
    try {
      const { pool, journal } = watchedPool({ recoverSenders: (txs) => recovery.prime(txs) })
      const txs = [0n, 1n, 2n, 3n].map((nonce) => dynamicFeeTx(alice, { nonce }, common))
      txs.push(dynamicFeeTx(bob, { nonce: 0n }, common))
      const writesSeenByReplies: number[] = []
      await Promise.all(
        txs.map((tx) => pool.addRaw(tx.serialize()).then(() => writesSeenByReplies.push(journal.appends.length))),
      )
      expect(journal.appends).toEqual([5])
      expect(writesSeenByReplies).toEqual([1, 1, 1, 1, 1])
      journal.close()
      expect(new MempoolJournal(path).load().records).toEqual(txs.map((tx) => tx.serialize()))
    } finally {
      await recovery.close()
    }
  })

  it('writes the batch before handing out a block selection', async () => {
    const { pool, journal } = watchedPool()
    const tx = dynamicFeeTx(alice, { nonce: 0n }, common)
    let selected: { writes: number; first: Uint8Array | undefined } | undefined
    // Called inside the add, before the turn's write would run on its own.
    pool.onPending(() => {
      const selection = pool.selectForBlock(GWEI)
      selected = { writes: journal.appends.length, first: selection.peek()?.hash() }
    })
    await pool.addRaw(tx.serialize())
    expect(selected).toEqual({ writes: 1, first: tx.hash() })
    expect(journal.appends).toEqual([1])
    journal.close()
  })

  it('refuses every add whose journal write failed, takes it out of the pool, puts back what it replaced, and journals later adds', async () => {
    const { pool, journal } = watchedPool()
    const earlier = dynamicFeeTx(carol, { nonce: 0n }, common)
    await pool.addRaw(earlier.serialize())
    const batch = [
      dynamicFeeTx(alice, { nonce: 0n }, common),
      dynamicFeeTx(alice, { nonce: 1n }, common),
      dynamicFeeTx(bob, { nonce: 0n }, common),
      // Replaces the earlier transaction, which a failed write puts back.
      dynamicFeeTx(carol, { nonce: 0n, tip: 2n * GWEI, feeCap: 20n * GWEI }, common),
    ]
    journal.failing = true
    const results = await Promise.allSettled(batch.map((tx) => pool.addRaw(tx.serialize())))
    journal.failing = false
    for (const result of results) {
      expect(result.status).toBe('rejected')
      const error = (result as PromiseRejectedResult).reason as MempoolError
      expect(error.code).toBe('MEMPOOL_JOURNAL_WRITE_FAILED')
      expect(error.message).toMatch(/could not journal the transaction \(ENOSPC.*\); it was not added/)
    }
    for (const tx of batch) expect(pool.has(tx.hash())).toBe(false)
    expect(pool.has(earlier.hash())).toBe(true)
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
    expect(pool.stats()).toMatchObject({ accepted: 1, replaced: 0, rejected: { MEMPOOL_JOURNAL_WRITE_FAILED: 4 } })

    // The pool works on: the same transactions go in, and the journal holds them after the first.
    for (const tx of batch.slice(0, 3)) await pool.addRaw(tx.serialize())
    expect(pool.status()).toEqual({ pending: 4, queued: 0 })
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([earlier, ...batch.slice(0, 3)].map((tx) => tx.serialize()))
  })
})

describe('Mempool restart', () => {
  async function poolOver(state: InMemoryState): Promise<{ pool: Mempool; journal: MempoolJournal }> {
    const journal = new MempoolJournal(path)
    const pool = new Mempool({ common, state, journal, baseFee: GWEI })
    await pool.restore()
    return { pool, journal }
  }

  it('restores every accepted transaction in a new pool over the same journal', async () => {
    const state = new InMemoryState()
    const first = await poolOver(state)
    const txs = [
      dynamicFeeTx(alice, { nonce: 0n }, common),
      dynamicFeeTx(alice, { nonce: 1n }, common),
      dynamicFeeTx(alice, { nonce: 3n }, common),
      dynamicFeeTx(bob, { nonce: 0n }, common),
    ]
    for (const tx of txs) await first.pool.addRaw(tx.serialize())
    // No close, no rotation: as if the process were killed here.

    const second = await poolOver(state)
    for (const tx of txs) expect(second.pool.has(tx.hash())).toBe(true)
    expect(second.pool.status()).toEqual({ pending: 3, queued: 1 })
    first.journal.close()
    second.journal.close()
  })

  it('keeps every transaction whose hash was returned when the process is killed with SIGKILL', async () => {
    const txs = [0n, 1n, 2n, 5n].map((nonce) => dynamicFeeTx(alice, { nonce }, common))
    const rawsPath = join(dir, 'raws.txt')
    writeFileSync(rawsPath, txs.map((tx) => bytesToHex(tx.serialize())).join('\n'))
    const writer = join(import.meta.dirname, '..', 'test', 'journal-writer.ts')
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, rawsPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const acknowledged: string[] = []
    await new Promise<void>((resolve, reject) => {
      let buffered = ''
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) {
          if (line === 'done') resolve()
          else acknowledged.push(line)
        }
      })
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)))
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(acknowledged.sort()).toEqual(txs.map((tx) => bytesToHex(tx.hash())).sort())

    const journal = new MempoolJournal(path)
    const pool = new Mempool({ common, state: new InMemoryState(), journal, baseFee: GWEI })
    expect(await pool.restore()).toEqual({ restored: 4, dropped: 0, truncatedBytes: 0 })
    for (const hash of acknowledged) expect(pool.has(hash as `0x${string}`)).toBe(true)
    journal.close()
  })

  it('drops journaled transactions that became invalid and keeps a replacement over the replaced', async () => {
    const state = new InMemoryState()
    const first = await poolOver(state)
    const included = dynamicFeeTx(alice, { nonce: 0n }, common)
    const replaced = dynamicFeeTx(bob, { nonce: 0n, tip: GWEI }, common)
    const replacement = dynamicFeeTx(bob, { nonce: 0n, tip: 2n * GWEI, feeCap: 20n * GWEI }, common)
    for (const tx of [included, replaced, replacement]) await first.pool.addRaw(tx.serialize())
    first.journal.close()
    state.set(alice.address, { nonce: 1n })

    const journal = new MempoolJournal(path)
    const pool = new Mempool({ common, state, journal, baseFee: GWEI })
    const result = await pool.restore()
    expect(result).toEqual({ restored: 2, dropped: 1, truncatedBytes: 0 })
    expect(pool.has(included.hash())).toBe(false)
    expect(pool.has(replaced.hash())).toBe(false)
    expect(pool.has(replacement.hash())).toBe(true)
    // Restoring compacts the journal to the live transactions.
    expect(journal.recordCount).toBe(1)
    journal.close()
  })

  it('restores from a journal whose last write was torn by a kill', async () => {
    const state = new InMemoryState()
    const first = await poolOver(state)
    const kept = dynamicFeeTx(alice, { nonce: 0n }, common)
    await first.pool.addRaw(kept.serialize())
    first.journal.close()
    appendFileSync(path, new Uint8Array([0, 0, 0, 120, 1, 2, 3]))

    const journal = new MempoolJournal(path)
    const pool = new Mempool({ common, state, journal, baseFee: GWEI })
    const result = await pool.restore()
    expect(result.restored).toBe(1)
    expect(result.truncatedBytes).toBe(7)
    expect(pool.has(kept.hash())).toBe(true)
    journal.close()
  })

  it('does not journal a rejected transaction', async () => {
    const state = new InMemoryState()
    const { pool, journal } = await poolOver(state)
    const tx = dynamicFeeTx(alice, { nonce: 0n }, common)
    await pool.addRaw(tx.serialize())
    await pool.addRaw(tx.serialize()).catch(() => undefined)
    expect(journal.recordCount).toBe(1)
    journal.close()
  })

  it('rotates the journal on a new head once it holds twice the live transactions', async () => {
    const state = new InMemoryState()
    const journal = new MempoolJournal(path)
    journal.load()
    // Fill the journal past the rotation floor with records that are no longer live.
    for (let i = 0; i < 1100; i++) journal.append([raw(1)])
    const pool = new Mempool({ common, state, journal, baseFee: GWEI })
    const live = dynamicFeeTx(alice, { nonce: 0n }, common)
    await pool.addRaw(live.serialize())
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [] })
    await journal.settled()
    expect(journal.recordCount).toBe(1)
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([live.serialize()])
  })

  it('keeps a transaction included in a block above the safe head through rotations, until that block is safe', async () => {
    const state = new InMemoryState()
    const journal = new MempoolJournal(path)
    journal.load()
    const pool = new Mempool({ common, state, journal, baseFee: GWEI })
    const included = dynamicFeeTx(alice, { nonce: 0n }, common)
    const waiting = dynamicFeeTx(alice, { nonce: 1n }, common)
    await pool.addRaw(included.serialize())
    await pool.addRaw(waiting.serialize())
    // Block 5 includes the first; the safe head is at 3. Stale records force a rotation.
    for (let i = 0; i < 1100; i++) journal.append([raw(1)])
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [included.hash()], number: 5n, safeNumber: 3n })
    await journal.settled()
    expect(journal.recordCount).toBe(2)
    expect(new MempoolJournal(path).load().records).toEqual([included.serialize(), waiting.serialize()])
    // Once block 5 is safe, the next rotation lets it go.
    for (let i = 0; i < 1100; i++) journal.append([raw(1)])
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: [], number: 6n, safeNumber: 5n })
    await journal.settled()
    journal.close()
    expect(new MempoolJournal(path).load().records).toEqual([waiting.serialize()])
  })
})
