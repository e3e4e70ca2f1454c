/**
 * How many holders each key has: `hold(key)` adds one and returns its release, which takes it
 * away once (a second call does nothing); a key without holders is forgotten.
 */
export class Holds<K> {
  private readonly counts = new Map<K, number>();

  /** Holders of `key` (0 when none). */
  count(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  /** Keys held at least once, in the order they were first held. */
  keys(): IterableIterator<K> {
    return this.counts.keys();
  }

  /** Keys held at least once. */
  get size(): number {
    return this.counts.size;
  }

  /** Adds a holder of `key`; the returned function releases it (once). */
  hold(key: K): () => void {
    this.counts.set(key, this.count(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}
