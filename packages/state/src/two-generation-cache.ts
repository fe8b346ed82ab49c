/**
 * A bounded cache in two generations: reads hit the young map, or the old one and are copied to the
 * young; when the young map is full it becomes the old one and the old is dropped. Close to LRU at
 * one Map lookup per read (a true LRU re-inserts the key on every hit). Meant for content-addressed
 * values, which never go stale.
 */
export class TwoGenerationCache<V> {
  private young = new Map<string, V>()
  private old = new Map<string, V>()
  private readonly generationSize: number

  /** Holds between capacity/2 and capacity entries. */
  constructor(capacity: number) {
    this.generationSize = Math.max(1, Math.floor(capacity / 2))
  }

  get(key: string): V | undefined {
    const young = this.young.get(key)
    if (young !== undefined) return young
    const old = this.old.get(key)
    if (old !== undefined) this.set(key, old)
    return old
  }

  set(key: string, value: V): void {
    this.young.set(key, value)
    if (this.young.size >= this.generationSize) {
      this.old = this.young
      this.young = new Map()
    }
  }
}
