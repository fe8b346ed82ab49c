import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CairnError } from '@cairn/primitives'

const FILE = 'progress.json'
const LOCK = 'LOCK'

/**
 * The progress of an L1 transaction sender (proposer, prover) in its datadir: `progress.json`, written
 * atomically (temp file, fsync, rename) before a transaction is broadcast, so a restart knows the
 * nonce and hashes it may have in the L1 mempool; bigints survive the round trip. A `LOCK` file
 * with the owner's pid keeps a second process out (a stale lock of a dead process is taken over).
 * Subclasses fix the progress type and open with {@link ProgressFile.read}.
 */
export class ProgressFile<T extends object> {
  protected constructor(
    private readonly dir: string,
    private progress: T,
  ) {}

  /** Takes the lock of `dir` for `owner` ("proposer", "prover") and reads its progress ({} when new). */
  protected static read<T extends object>(dir: string, owner: string): T {
    mkdirSync(dir, { recursive: true })
    acquireLock(join(dir, LOCK), owner)
    let text: string
    try {
      text = readFileSync(join(dir, FILE), 'utf8')
    } catch {
      return {} as T
    }
    try {
      return JSON.parse(text, (_key, value) =>
        typeof value === 'string' && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
      ) as T
    } catch (cause) {
      rmSync(join(dir, LOCK), { force: true })
      throw new CairnError(
        'PROGRESS_FILE_INVALID',
        `${join(dir, FILE)} is not valid JSON; move it away to start over (L1 remains the source of truth).`,
        { cause },
      )
    }
  }

  get(): T {
    return this.progress
  }

  update(change: (progress: T) => T): void {
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

function acquireLock(path: string, owner: string): void {
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
          `Another ${owner} (pid ${pid}) uses ${path}; one datadir has one ${owner}.`,
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
