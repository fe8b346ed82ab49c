/**
 * A binary heap ordered by `before(a, b)`: the item for which `before` holds against every
 * other sits at the top. Small and allocation-free per operation; the pool keeps several.
 */
export class BinaryHeap<T> {
  private items: T[] = []

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    this.items.push(item)
    this.siftUp(this.items.length - 1)
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      this.siftDown(0)
    }
    return top
  }

  /** Restores order after the top item's key changed in place. */
  updateTop(): void {
    if (this.items.length > 0) this.siftDown(0)
  }

  /** Replaces the contents in O(n). */
  reset(items: T[]): void {
    this.items = items
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private siftUp(index: number): void {
    const items = this.items
    const item = items[index] as T
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = items[parentIndex] as T
      if (!this.before(item, parent)) break
      items[index] = parent
      index = parentIndex
    }
    items[index] = item
  }

  private siftDown(index: number): void {
    const items = this.items
    const length = items.length
    const item = items[index] as T
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      const right = child + 1
      if (right < length && this.before(items[right] as T, items[child] as T)) child = right
      const childItem = items[child] as T
      if (!this.before(childItem, item)) break
      items[index] = childItem
      index = child
    }
    items[index] = item
  }
}
