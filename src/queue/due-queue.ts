/** A scheduled call of a {@link DueQueue}; `cancel()` takes it out. */
export interface Scheduled {
  cancel(): void;
}

/** The longest delay `setTimeout` takes (2^31 − 1 ms, about 24.8 days). */
const MAX_DELAY_MS = 2_147_483_647;

class Entry implements Scheduled {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly seq: number,
    readonly run: () => void,
  ) {}
  cancel(): void {
    this.cancelled = true;
  }
}

/** An entry that schedules its next call each time it runs, until cancelled. */
class Repeating implements Scheduled {
  private current: Scheduled;
  private stopped = false;
  constructor(
    private readonly due: DueQueue,
    private readonly intervalMs: number,
    private readonly run: () => void,
  ) {
    this.current = due.after(intervalMs, this.tick);
  }
  private tick = (): void => {
    if (this.stopped) return;
    this.current = this.due.after(this.intervalMs, this.tick);
    this.run();
  };
  cancel(): void {
    this.stopped = true;
    this.current.cancel();
  }
}

/**
 * Calls functions at their due times on one timer: a worker schedules every running task's
 * heartbeat, lease renewal, time limit and grace period here, instead of holding three or four
 * Node timers per task. A binary heap by due time (ties in scheduling order); the one timer is set
 * for the earliest entry. A function that throws is reported, and the others still run.
 */
export class DueQueue {
  private heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly report: (error: unknown) => void) {}

  /** Calls `run` once, `delayMs` from now. */
  after(delayMs: number, run: () => void): Scheduled {
    const entry = new Entry(Date.now() + delayMs, this.seq++, run);
    this.push(entry);
    this.arm();
    return entry;
  }

  /** Calls `run` every `intervalMs` until cancelled (the next call is scheduled as one starts). */
  every(intervalMs: number, run: () => void): Scheduled {
    return new Repeating(this, intervalMs, run);
  }

  /** Entries not yet run, cancelled ones included until their time comes (for tests and benches). */
  get size(): number {
    return this.heap.length;
  }

  /** Whether the one timer is set (it is exactly when an entry waits). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Drops every entry and the timer. */
  clear(): void {
    this.heap = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fire = () => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    while (this.heap.length > 0 && (this.heap[0] as Entry).at <= now) {
      const entry = this.pop();
      if (entry.cancelled) continue;
      try {
        entry.run();
      } catch (error) {
        this.report(error);
      }
    }
    this.arm();
  };

  private arm(): void {
    // Cancelled entries at the top would only wake the timer for nothing.
    while (this.heap.length > 0 && (this.heap[0] as Entry).cancelled) this.pop();
    const first = this.heap[0];
    if (!first) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= first.at) return;
    clearTimeout(this.timer);
    this.timerAt = first.at;
    // Node fires longer delays at once (with a warning): wake at the limit and look again.
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, first.at - Date.now()));
    this.timer = setTimeout(this.fire, delay);
  }

  private before(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(heap[left] as Entry, heap[smallest] as Entry))
          smallest = left;
        if (right < heap.length && this.before(heap[right] as Entry, heap[smallest] as Entry))
          smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry];
        i = smallest;
      }
    }
    return top;
  }
}
