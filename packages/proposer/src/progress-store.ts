import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CairnError } from '@cairn/primitives'
import type { Hex } from 'viem'

/** One signed transaction sent for a proposal (a replacement adds another, same nonce). */
export interface Attempt {
  hash: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  maxFeePerBlobGas: bigint
  /** L1 head when it was sent; `--resubmit-after-blocks` counts from here. */
  sentAtL1Block: bigint
}

/** The proposal the proposer is responsible for until it has `--confirmations` L1 blocks. */
export interface InFlight {
  nonce: number
  firstBlock: bigint
  lastBlock: bigint
  numBlobs: number
  parentMetaHash: Hex
  attempts: Attempt[]
}

export interface ProposerProgress {
  inFlight?: InFlight
  /** The last proposal that reached its confirmations (informational: L1 stays the source of truth). */
  lastConfirmed?: { batchId: bigint; firstBlock: bigint; lastBlock: bigint; txHash: Hex; l1Block: bigint }
}

const FILE = 'progress.json'
const LOCK = 'LOCK'

/**
 * The proposer's own progress in `--datadir`: what it sent and not yet saw confirmed. Written
 * atomically (temp file, fsync, rename) before a transaction is broadcast, so a restart always knows
 * the nonce and hashes it may have in the L1 mempool. A lock file keeps a second process out.
 */
export class ProgressStore {
  private constructor(
    private readonly dir: string,
    private progress: ProposerProgress,
  ) {}

  static open(dir: string): ProgressStore {
    mkdirSync(dir, { recursive: true })
    acquireLock(join(dir, LOCK))
    let progress: ProposerProgress = {}
    let text: string | undefined
    try {
      text = readFileSync(join(dir, FILE), 'utf8')
    } catch {
      text = undefined
    }
    if (text !== undefined) {
      try {
        progress = JSON.parse(text, (_key, value) =>
          typeof value === 'string' && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
        ) as ProposerProgress
      } catch (cause) {
        throw new CairnError(
          'PROGRESS_FILE_INVALID',
          `${join(dir, FILE)} is not valid JSON; move it away to start over (L1 remains the source of truth).`,
          { cause },
        )
      }
    }
    return new ProgressStore(dir, progress)
  }

  get(): ProposerProgress {
    return this.progress
  }

  update(change: (progress: ProposerProgress) => ProposerProgress): void {
    const next = change(structuredClone(this.progress))
    const path = join(this.dir, FILE)
    const tmp = `${path}.tmp`
    const fd = openSync(tmp, 'w')
    try {
      writeSync(
        fd,
        JSON.stringify(next, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value), 2),
      )
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
    this.progress = next
  }

  close(): void {
    rmSync(join(this.dir, LOCK), { force: true })
  }
}

function acquireLock(path: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const pid = Number(readFileSync(path, 'utf8'))
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new CairnError(
          'DATADIR_LOCKED',
          `Another proposer (pid ${pid}) uses ${path}; one datadir has one proposer.`,
        )
      }
      rmSync(path, { force: true }) // stale lock of a process that is gone
    }
  }
  throw new CairnError('DATADIR_LOCKED', `Cannot take the lock ${path}.`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
