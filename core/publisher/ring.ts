/**
 * A fixed-capacity FIFO of items with the time each one entered; the pipeline's buffer.
 * Constant time at both ends, no reallocation: the queue size is bounded by config.
 */
export class Ring<T> {
  private readonly items: Array<T | undefined>;
  private readonly since: Float64Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
    this.since = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T, now: number): void {
    if (this.count === this.capacity) throw new Error('ring is full');
    const at = (this.head + this.count) % this.capacity;
    this.items[at] = item;
    this.since[at] = now;
    this.count++;
  }

  /** When the oldest item entered, or undefined when empty. */
  oldestSince(): number | undefined {
    return this.count === 0 ? undefined : this.since[this.head];
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    const k = Math.min(n, this.count);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) {
      out[i] = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.count -= k;
    if (this.count === 0) this.head = 0;
    return out;
  }
}
