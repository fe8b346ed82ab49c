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
  private constructor(readonly root: Level<Uint8Array, Uint8Array>) {}

  static async open(path: string): Promise<NodeDatabase> {
    const root = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await root.open()
    } catch (error) {
      const locked = (error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED'
      throw new CairnError(
        locked ? 'DATADIR_LOCKED' : 'DATABASE_OPEN_FAILED',
        locked
          ? `the database at ${path} is in use by another process: stop the other node or choose another --datadir`
          : `could not open the database at ${path}: ${(error as Error).message}`,
        { cause: error },
      )
    }
    return new NodeDatabase(root)
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
