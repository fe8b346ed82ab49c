import { readdirSync } from 'node:fs'
import { Level } from 'level'
import { CairnError } from '@cairn/primitives'

/** A sublevel with bytes keys and values: the part of abstract-level's API Cairn's stores use. */
export interface BytesSublevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  keys(range: {
    gte?: Uint8Array
    lte?: Uint8Array
    lt?: Uint8Array
    gt?: Uint8Array
    reverse?: boolean
    limit?: number
  }): AsyncIterable<Uint8Array>
}

export type BatchOp = {
  type: 'put' | 'del'
  /** Any sublevel of this database (stores of other concerns pass theirs). */
  sublevel: object
  key: Uint8Array
  value?: Uint8Array
}

/**
 * The node's one level database. Each concern (chain, state, ...) gets its own sublevel, and a
 * single `batch` can write across them so a block, its state and the head move together.
 */
export class NodeDatabase {
  private constructor(
    readonly root: Level<Uint8Array, Uint8Array>,
    /** The directory held a database before this open (a new one is empty until its first write). */
    readonly existed: boolean,
  ) {}

  /**
   * Opens the database at `path`, creating it if the directory has none. A directory with LevelDB's
   * files but no `CURRENT` is a damaged database, not a missing one: LevelDB would create a new, empty
   * database there and delete the old tables, so it is refused (`DATABASE_CORRUPT`) before LevelDB sees it.
   */
  static async open(path: string): Promise<NodeDatabase> {
    const files = databaseFiles(path)
    const existed = files.includes('CURRENT')
    if (!existed && files.some((file) => /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/.test(file)))
      throw new CairnError(
        'DATABASE_CORRUPT',
        `the database at ${path} is damaged: its tables are there but its CURRENT file is missing`,
        { details: { path } },
      )
    // A database that existed is never created again: if LevelDB cannot find it, that is an error.
    const root = new Level<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: !existed,
    })
    try {
      await root.open()
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      const reason = oneLine(cause?.message ?? (error as Error).message)
      if (cause?.code === 'LEVEL_LOCKED')
        throw new CairnError(
          'DATADIR_LOCKED',
          `the database at ${path} is in use by another process: stop the other node or choose another --datadir`,
          { cause: error, details: { path } },
        )
      throw new CairnError(
        cause?.code === 'LEVEL_CORRUPTION' ? 'DATABASE_CORRUPT' : 'DATABASE_OPEN_FAILED',
        cause?.code === 'LEVEL_CORRUPTION'
          ? `the database at ${path} is damaged: ${reason}`
          : `could not open the database at ${path}: ${reason}`,
        { cause: error, details: { path } },
      )
    }
    return new NodeDatabase(root, existed)
  }

  sublevel(name: string): BytesSublevel {
    return this.root.sublevel<Uint8Array, Uint8Array>(name, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    }) as unknown as BytesSublevel
  }

  async batch(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return
    await this.root.batch(ops as never)
  }

  async close(): Promise<void> {
    await this.root.close()
  }
}

/** The names in a database directory; none if it does not exist yet. */
function databaseFiles(path: string): string[] {
  try {
    return readdirSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new CairnError(
      'DATABASE_OPEN_FAILED',
      `could not open the database at ${path}: ${oneLine((error as Error).message)}`,
      { cause: error, details: { path } },
    )
  }
}

/** LevelDB's and Node's messages on one line, so a start-up failure stays one line. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim()
}
