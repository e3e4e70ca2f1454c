import type { Pool, PoolClient } from 'pg';

/** A wait registered with {@link Listener.wait}. */
interface Waiter {
  key: string;
  wake: () => void;
}

/**
 * One `LISTEN` connection shared by every wait of an adapter. Notifications carry a key only
 * (a queue name, a run id); waiters re-read the table. The connection is taken from the pool on
 * the first wait, given back after `lingerMs` without waiters (so `pool.end()` is not held up),
 * and replaced by itself when it breaks; every waiter is woken when it (re)connects, because
 * notifications sent meanwhile are lost.
 */
export class Listener {
  /** Notifications seen per key (and `*` for (re)connects): a wait returns at once if it moved. */
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private client: PoolClient | undefined;
  private connecting = false;
  private closed = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = 100;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly lingerMs = 1_000,
  ) {}

  /** A token of what has been seen for `key`: pass it to {@link wait} to miss nothing between. */
  mark(key: string): string {
    return `${this.seen.get(key) ?? 0}:${this.seen.get('*') ?? 0}`;
  }

  /**
   * Resolves when `key` is notified after `mark` was taken, the listener reconnects, `ms`
   * passes or `signal` aborts.
   */
  wait(key: string, mark: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted || this.mark(key) !== mark) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) this.scheduleIdle();
        resolve();
      };
      const waiter: Waiter = { key, wake: done };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
      clearTimeout(this.idleTimer);
      this.ensure();
    });
  }

  /** Wakes every waiter and gives the connection back; later waits resolve at once. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.wake();
    clearTimeout(this.idleTimer);
    this.drop();
  }

  private bump(key: string): void {
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    for (const waiter of [...this.waiters]) if (key === '*' || waiter.key === key) waiter.wake();
  }

  private ensure(): void {
    if (this.client || this.connecting || this.closed) return;
    this.connecting = true;
    void this.connect().finally(() => {
      this.connecting = false;
    });
  }

  private async connect(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const current = client;
      current.on('notification', (message) => this.bump(message.payload ?? '*'));
      current.on('error', () => this.drop(current, true));
      current.on('end', () => this.drop(current, true));
      await current.query(`listen "${this.channel}"`);
      this.client = current;
      this.retryMs = 100;
      // Whatever was notified before LISTEN took effect is lost: everyone looks again.
      this.bump('*');
      if (this.closed || this.waiters.size === 0) this.scheduleIdle();
    } catch {
      if (client) this.drop(client, true);
      if (this.closed || this.waiters.size === 0) return;
      // The server is away: try again, backing off to 2 s; waiters still time out on their own.
      const retry = setTimeout(() => this.ensure(), this.retryMs);
      retry.unref();
      this.retryMs = Math.min(this.retryMs * 2, 2_000);
    }
  }

  private scheduleIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.client) return;
    this.idleTimer = setTimeout(() => {
      if (this.waiters.size === 0) this.drop();
    }, this.lingerMs);
    this.idleTimer.unref();
  }

  /** Gives the connection back (destroyed when `broken`), and reconnects if anyone waits. */
  private drop(client = this.client, broken = false): void {
    if (!client) return;
    if (client === this.client) this.client = undefined;
    client.removeAllListeners('notification');
    // A broken connection may emit more errors; keep one listener so they never go unhandled.
    client.removeAllListeners('error');
    client.on('error', () => {});
    client.removeAllListeners('end');
    try {
      // Destroyed, never pooled again: a pooled connection would stay subscribed.
      client.release(true);
    } catch {
      // released already (an `error` then an `end` of the same connection)
    }
    if (broken && !this.closed && this.waiters.size > 0) this.ensure();
  }
}
