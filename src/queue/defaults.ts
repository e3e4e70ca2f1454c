/**
 * Defaults of the orchestration, one object per part. Each is what an option takes when it is
 * not given; the reasoning behind a number is in its comment.
 */

/** Defaults of {@link TaskOptions} (`defineTask`). */
export const TASK_DEFAULTS = {
  /**
   * Longest an attempt may run before its signal aborts (the worker abandons it `abortGraceMs`
   * later). Generous: an agent run of many turns takes minutes.
   * @defaultValue 1_800_000 (30 minutes)
   */
  timeoutMs: 30 * 60_000,
  /**
   * Attempts a run may start: its first run and the retries after failures, timeouts and
   * crashed workers.
   * @defaultValue 3
   */
  maxAttempts: 3,
  /**
   * Backoff before the retry after failed attempt n: `minDelayMs × 2^(n-1)`, at most `maxDelayMs`.
   * @defaultValue `{ minDelayMs: 1000, maxDelayMs: 60000 }`
   */
  retryBackoff: { minDelayMs: 1_000, maxDelayMs: 60_000 },
  /** @defaultValue 'normal' */
  priority: 'normal',
  /** A task's queue is this plus its type. @defaultValue 'loopwork:tasks:' */
  queuePrefix: 'loopwork:tasks:',
} as const;

/** Defaults of {@link DispatcherOptions}. */
export const DISPATCHER_DEFAULTS = {
  /**
   * Largest payload a dispatch accepts, as JSON bytes. A payload travels in every message and
   * every run record; put large inputs in a blob store and pass their key.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxPayloadBytes: 1024 * 1024,
} as const;

/** Defaults of {@link WorkerOptions}. */
export const WORKER_DEFAULTS = {
  /** Tasks run at once in daemon mode. @defaultValue 1 */
  concurrency: 1,
  /**
   * Lease per claim, renewed every third of it while a task runs. It bounds recovery: a killed
   * worker's task is claimed again within about one lease (BullMQ's default lock is 30 s).
   * @defaultValue 10_000
   */
  leaseMs: 10_000,
  /** Heartbeat time to live; beats are sent every third of it. @defaultValue 30_000 */
  heartbeatTtlMs: 30_000,
  /** Longest wait of one claim call. @defaultValue 5_000 */
  pollWaitMs: 5_000,
  /** Time running tasks get to finish on `stop()` before their signal aborts. @defaultValue 30_000 */
  shutdownGraceMs: 30_000,
  /**
   * Time a handler gets to stop after its signal aborted (timeout, cancel, shutdown) before the
   * worker abandons it: settles the run, frees the slot and the lease, and fences its writes.
   * @defaultValue 10_000
   */
  abortGraceMs: 10_000,
  /**
   * Deliveries of one message before it is dead-lettered unparsed: the safety net against a
   * message that kills its worker before its run starts. At least every handler's `maxAttempts`.
   * @defaultValue 20
   */
  maxDeliveries: 20,
  /**
   * Largest output kept on a run record, as JSON bytes; a larger one goes to the worker's blob
   * store (or is dropped without one), and the record says where.
   * @defaultValue 65_536 (64 KiB)
   */
  maxOutputBytes: 64 * 1024,
} as const;

/** Defaults of {@link WatchdogOptions}. */
export const WATCHDOG_DEFAULTS = {
  /**
   * A queued run not written for this long is enqueued again, in case its message was lost (a
   * no-op where the queue deduplicates; elsewhere the duplicate is dropped by the worker).
   * @defaultValue 300_000 (5 minutes)
   */
  queuedTimeoutMs: 5 * 60_000,
  /**
   * A running run not written for this long is checked for a live heartbeat; without one it is
   * requeued or failed. The queue's lease recovers a killed worker's run long before this; this
   * catches a run whose message is gone.
   * @defaultValue 900_000 (15 minutes)
   */
  runningTimeoutMs: 15 * 60_000,
  /** Time between checks in `start()`. @defaultValue 30_000 */
  intervalMs: 30_000,
} as const;
