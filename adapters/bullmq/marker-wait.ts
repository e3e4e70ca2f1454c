import type { Redis } from 'ioredis';

/**
 * Blocking waits for new work. BullMQ wakes its workers through one "marker" sorted set per
 * queue: adding a job, promoting a delayed one or moving a stalled one back to wait writes a
 * member to it. `BZPOPMIN` over the markers of every queue a claim reads therefore returns as
 * soon as any of them may have work.
 *
 * A blocked connection serves nobody else, so each waiting claim takes its own connection from a
 * small pool (duplicates of the client). An aborted signal or `close()` disconnects it, which
 * ends the wait at once.
 */
export function markerWaiter(client: Redis) {
  const idle: Redis[] = [];
  const busy = new Set<Redis>();
  let closed = false;

  const open = () => {
    const connection = client.duplicate();
    // Errors of this connection surface as a failed wait; without a listener ioredis would also
    // print every reconnect attempt.
    connection.on('error', () => {});
    return connection;
  };

  return {
    /** Waits until a marker changes or `ms` pass; resolves early (never rejects) on abort or close. */
    async wait(markers: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
      if (closed || signal?.aborted || ms <= 0 || markers.length === 0) return;
      const connection = idle.pop() ?? open();
      busy.add(connection);
      let reusable = true;
      const interrupt = () => {
        reusable = false;
        connection.disconnect();
      };
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        await connection.bzpopmin(...markers, (Math.max(1, ms) / 1000).toFixed(3));
      } catch {
        // A broken or interrupted wait is only a missed wake-up: the claim simply looks again.
        reusable = false;
      } finally {
        signal?.removeEventListener('abort', interrupt);
        busy.delete(connection);
        if (reusable && !closed) idle.push(connection);
        else connection.disconnect();
      }
    },

    /** Ends every wait and drops the pooled connections. */
    close(): void {
      closed = true;
      for (const connection of [...idle, ...busy]) connection.disconnect();
      idle.length = 0;
    },
  };
}
