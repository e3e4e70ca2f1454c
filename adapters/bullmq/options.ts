import type { Redis, RedisOptions } from 'ioredis';
import { InvalidOptionError } from 'loopwork';

/** Options of {@link createBullmqQueue}. */
export interface BullmqQueueOptions {
  /**
   * An ioredis client, shared with your own BullMQ code and never closed by the adapter, or
   * ioredis options, from which the adapter makes a client it closes on `close()`.
   */
  connection: Redis | RedisOptions;
  /** BullMQ's key prefix, as in your own `Queue`s and `Worker`s. @defaultValue 'bull' */
  prefix?: string;
  /**
   * The BullMQ queue name of a loopwork queue. BullMQ forbids `:` in queue names, and loopwork's
   * default task queues are named `loopwork:tasks:<type>`, so by default every `:` becomes `.`
   * (`loopwork.tasks.<type>`). Two loopwork queues may not map to one BullMQ queue.
   * @defaultValue the loopwork name with `:` replaced by `.`
   */
  queueName?: (queue: string) => string;
  /** A message delivered this many times is dead-lettered instead of delivered again. @defaultValue unlimited */
  maxDeliveries?: number;
  /**
   * How often BullMQ's stalled-job check looks for leases that ran out (it is shared by every
   * process on a queue). A lease that ran out is delivered again within about two intervals.
   * Claims also sweep each queue this often for group moves a crashed process left unfinished,
   * and a waiting claim blocks no longer than this between two looks.
   * @defaultValue 5000
   */
  stalledIntervalMs?: number;
  /** Longest `close()` waits for BullMQ and the connection to shut down before disconnecting. @defaultValue 5000 */
  closeTimeoutMs?: number;
  /**
   * Errors BullMQ reports in the background (stalled checks, connection trouble), and group moves
   * that failed after their message was stored or settled (a sweep finishes them).
   * @defaultValue console.error
   */
  onError?: (error: Error) => void;
}

/** `value` when it is a positive number or absent; anything else is refused, naming the option. */
export function positive(value: number | undefined, name: string): number | undefined {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new InvalidOptionError(
      `[loopwork:bullmq] ${name} must be a positive number, got ${value}`,
    );
  }
  return value;
}

/** A lease in whole milliseconds, as BullMQ's lock takes it. */
export const leaseOf = (value: number, name: string) =>
  Math.ceil(positive(value ?? Number.NaN, name)!);

/** The options with their defaults, validated before anything connects. */
export function resolveOptions(options: BullmqQueueOptions) {
  const connection = options.connection as RedisOptions & { options?: RedisOptions };
  if (connection.options?.keyPrefix ?? connection.keyPrefix) {
    throw new InvalidOptionError(
      '[loopwork:bullmq] the connection has an ioredis keyPrefix, which BullMQ does not support; use the prefix option instead',
    );
  }
  return {
    prefix: options.prefix ?? 'bull',
    maxDeliveries: positive(options.maxDeliveries, 'maxDeliveries') ?? Number.POSITIVE_INFINITY,
    stalledIntervalMs: positive(options.stalledIntervalMs, 'stalledIntervalMs') ?? 5_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    onError:
      options.onError ?? ((error: Error) => console.error('[loopwork:bullmq]', error.message)),
  };
}
