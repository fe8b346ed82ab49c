import {
  closeSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import { MempoolError, MempoolErrorCode } from './errors.ts'

/** File magic and format version: refuses to read (and so to truncate) a file that is not ours. */
const MAGIC = new TextEncoder().encode('CAIRNMPJ\x00\x01')
const RECORD_HEADER_BYTES = 8
/** Far above any transaction the pool accepts; a larger length means the file is damaged there. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024

export interface JournalLoadResult {
  /** Raw transactions in the order they were journaled. */
  records: Uint8Array[]
  /** Bytes cut from the end because the last write was torn (e.g. the process was killed mid-write). */
  truncatedBytes: number
}

/**
 * Append-only file of accepted raw transactions, so a transaction whose hash the node returned
 * survives `kill -9`. Each record is `length (u32 BE) | crc32 (u32 BE) | raw`. Appends go
 * straight to the kernel, one write per call however many records it holds (no fsync: a killed
 * process loses nothing the kernel has; a power cut may lose the last moments). `rotate` rewrites
 * it from the live pool through a temporary file and a rename, so a crash leaves either the old or
 * the new file whole.
 */
export class MempoolJournal {
  private fd: number | undefined
  private records = 0
  /** Length of the file's whole records: where a failed append is cut back to. */
  private bytes = 0
  /** A failed append may have left part of its write behind and cutting it off failed too. */
  private tornTail = false
  /** A background rotation waiting for its new file to reach the disk (see {@link rotateInBackground}). */
  private rotation:
    | {
        tmp: number
        tmpPath: string
        count: number
        /** Appends made while the new file was flushed, as written, and how many records they hold. */
        appended: Uint8Array[]
        appendedCount: number
        done: Promise<void>
      }
    | undefined

  constructor(readonly path: string) {}

  /** Records appended or rotated in since the last rotation: the pool compares it with its size. */
  get recordCount(): number {
    return this.records
  }

  /**
   * Reads every whole record, cuts a torn or damaged tail off the file and opens it for appending.
   * A missing file is an empty journal. Throws if the file is not a Cairn mempool journal.
   */
  load(): JournalLoadResult {
    this.close()
    mkdirSync(dirname(this.path), { recursive: true })
    let bytes: Uint8Array
    try {
      bytes = readFileSync(this.path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      this.rotate([])
      return { records: [], truncatedBytes: 0 }
    }
    if (bytes.length < MAGIC.length) {
      // A crash while the very first header was being written: nothing was acknowledged yet.
      this.rotate([])
      return { records: [], truncatedBytes: bytes.length }
    }
    if (!hasMagic(bytes)) {
      throw new MempoolError(
        MempoolErrorCode.JournalInvalid,
        `${this.path} is not a Cairn mempool journal (bad header); move it away or point the node at another datadir`,
      )
    }
    const records: Uint8Array[] = []
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let offset = MAGIC.length
    while (offset + RECORD_HEADER_BYTES <= bytes.length) {
      const length = view.getUint32(offset)
      const checksum = view.getUint32(offset + 4)
      const end = offset + RECORD_HEADER_BYTES + length
      if (length === 0 || length > MAX_RECORD_BYTES || end > bytes.length) break
      const raw = bytes.subarray(offset + RECORD_HEADER_BYTES, end)
      if (crc32(raw) !== checksum) break
      records.push(new Uint8Array(raw)) // a plain copy, not a view into the Buffer
      offset = end
    }
    const truncatedBytes = bytes.length - offset
    if (truncatedBytes > 0) {
      const fd = openSync(this.path, 'r+')
      try {
        ftruncateSync(fd, offset)
      } finally {
        closeSync(fd)
      }
    }
    this.openForAppend()
    this.records = records.length
    return { records, truncatedBytes }
  }

  /**
   * Appends raw transactions with one write (the pool commits a batch at a time); synchronous so
   * the caller acknowledges only what is written. A failed write is cut off the file again:
   * records appended after it must not sit behind a torn one, where {@link load} stops reading.
   */
  append(raws: readonly Uint8Array[]): void {
    if (raws.length === 0) return
    const fd = this.openForAppend()
    if (this.tornTail) {
      ftruncateSync(fd, this.bytes)
      this.tornTail = false
    }
    const chunk = encodeRecords(raws)
    try {
      writeAll(fd, chunk)
    } catch (error) {
      this.tornTail = true
      try {
        ftruncateSync(fd, this.bytes)
        this.tornTail = false
      } catch {
        // Retried before the next append.
      }
      throw error
    }
    this.bytes += chunk.length
    this.records += raws.length
    if (this.rotation !== undefined) {
      this.rotation.appended.push(chunk)
      this.rotation.appendedCount += raws.length
    }
  }

  /** Replaces the journal with exactly `raws`, atomically; blocks until the new file is on disk. */
  rotate(raws: readonly Uint8Array[]): void {
    this.abandonRotation()
    const { tmp, tmpPath, count } = this.writeSnapshot(raws)
    try {
      // The rename must not become visible before the data it names.
      fsyncSync(tmp)
    } finally {
      closeSync(tmp)
    }
    this.install(tmpPath, count)
  }

  /**
   * Same as {@link rotate} without blocking the caller on the disk: the snapshot is written now,
   * flushed on libuv's thread pool (a synchronous fsync stalled block production by ~100 ms per
   * rotation), and renamed over the journal once durable. Records appended meanwhile go to the old
   * file as usual and are copied into the new one before the rename, so a crash at any point leaves
   * a whole journal holding every acknowledged transaction. A rotation already under way is kept.
   */
  rotateInBackground(raws: readonly Uint8Array[]): Promise<void> {
    if (this.rotation !== undefined) return this.rotation.done
    const rotation = {
      ...this.writeSnapshot(raws),
      appended: [] as Uint8Array[],
      appendedCount: 0,
      done: Promise.resolve(),
    }
    this.rotation = rotation
    rotation.done = new Promise((resolve) => {
      fsync(rotation.tmp, (error) => {
        // Superseded (a synchronous rotate or close ran meanwhile), or the flush failed: keep the old file.
        if (this.rotation !== rotation || error !== null) {
          if (this.rotation === rotation) this.abandonRotation()
          return resolve()
        }
        this.rotation = undefined
        try {
          for (const chunk of rotation.appended) writeAll(rotation.tmp, chunk)
          closeSync(rotation.tmp)
          this.install(rotation.tmpPath, rotation.count + rotation.appendedCount)
        } catch {
          // Copying the late records or the rename failed (disk full?): the old journal stays, whole.
          try {
            closeSync(rotation.tmp)
          } catch {
            // already closed
          }
        }
        resolve()
      })
    })
    return rotation.done
  }

  /** Resolves once no background rotation is under way. */
  settled(): Promise<void> {
    return this.rotation?.done ?? Promise.resolve()
  }

  private writeSnapshot(raws: readonly Uint8Array[]): { tmp: number; tmpPath: string; count: number } {
    const tmpPath = `${this.path}.tmp`
    const tmp = openSync(tmpPath, 'w')
    try {
      writeAll(tmp, MAGIC)
      writeAll(tmp, encodeRecords(raws))
    } catch (error) {
      closeSync(tmp)
      throw error
    }
    return { tmp, tmpPath, count: raws.length }
  }

  private install(tmpPath: string, count: number): void {
    renameSync(tmpPath, this.path)
    this.close()
    this.openForAppend()
    this.records = count
  }

  private openForAppend(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'a')
      this.bytes = fstatSync(this.fd).size
      this.tornTail = false
    }
    return this.fd
  }

  private abandonRotation(): void {
    if (this.rotation === undefined) return
    closeSync(this.rotation.tmp)
    this.rotation = undefined
  }

  close(): void {
    this.abandonRotation()
    if (this.fd !== undefined) {
      closeSync(this.fd)
      this.fd = undefined
    }
  }
}

/** The records of `raws`, back to back in one buffer. */
function encodeRecords(raws: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const raw of raws) length += RECORD_HEADER_BYTES + raw.length
  const bytes = new Uint8Array(length)
  const view = new DataView(bytes.buffer)
  let offset = 0
  for (const raw of raws) {
    view.setUint32(offset, raw.length)
    view.setUint32(offset + 4, crc32(raw))
    bytes.set(raw, offset + RECORD_HEADER_BYTES)
    offset += RECORD_HEADER_BYTES + raw.length
  }
  return bytes
}

function hasMagic(bytes: Uint8Array): boolean {
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false
  return true
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0
  while (written < bytes.length) written += writeSync(fd, bytes, written)
}
