import { randomUUID } from 'node:crypto';
import { type Worker as BullWorker, Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import {
  type ClaimedMessage,
  type ClaimOptions,
  InvalidOptionError,
  LeaseLostError,
  type Priority,
  type Queue,
} from 'loopwork';
import { bullQueues } from './bull-queues';
import { deadLetterStore } from './dead-letters';
import { markerWaiter } from './marker-wait';
import { type BullmqQueueOptions, leaseOf, resolveOptions } from './options';

export type { BullmqQueueOptions } from './options';

const JOB_NAME = 'loopwork';
/** BullMQ runs lower numbers first, and 0 ("no priority") ahead of all of them. */
const PRIORITY: Record<Priority, number> = { high: 1, normal: 2, low: 3 };
/**
 * Every job's options. loopwork counts deliveries and schedules retries itself (release with a
 * delay), so BullMQ makes one attempt. A completed job is deleted at once; a failed one stays
 * only until it is moved into the dead-letter stream, so no settled job lingers under its id.
 */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: false } as const;
/** BullMQ error codes meaning the token no longer holds the job: gone, unlocked, not active, locked by another. */
const LOST_CODES = new Set([-1, -2, -3, -6]);

/** Resolves `true` when `promise` settles within `ms`, `false` when the time ran out first. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}

/**
 * A {@link Queue} on BullMQ, consumed by manual job processing rather than BullMQ's worker loop:
 * `claim` moves jobs to active with a lock token of its own (the receipt), and every settle
 * operation presents that token, so BullMQ's lock is the lease and its fence.
 *
 * - enqueue → `Queue.add` with a UUID job id, priority 1/2/3, `delay`, and BullMQ deduplication
 *   (free again once the job completes or fails; settled jobs are deleted, so an id is never
 *   swallowed by a kept job, BullMQ issue #1662).
 * - claim → `Worker.getNextJob`; deliveryCount is BullMQ's `attemptsStarted`; BullMQ's stalled
 *   check returns jobs whose lock ran out. Waiting claims block on the queues' marker keys.
 * - ack → `moveToCompleted`; release → `moveToDelayed`; extend → `extendLock`;
 *   deadLetter → `moveToFailed`, then into a dead-letter stream beside the queue's keys.
 * - groups: only BullMQ Pro has them, so `groupId` is refused.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createBullmqQueue } from 'loopwork/bullmq';
 *
 * const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
 * const queue = createBullmqQueue({ connection, prefix: 'bull', maxDeliveries: 5 });
 * ```
 */
export function createBullmqQueue(options: BullmqQueueOptions): Queue {
  const { prefix, maxDeliveries, stalledIntervalMs, closeTimeoutMs, onError } =
    resolveOptions(options);
  // Duck typing rather than instanceof: the caller's ioredis may be another copy than ours.
  const owned = typeof (options.connection as Redis).duplicate !== 'function';
  const client = owned
    ? new Redis(options.connection as RedisOptions)
    : (options.connection as Redis);
  const bull = bullQueues({
    client,
    prefix,
    queueName: options.queueName,
    stalledIntervalMs,
    onError,
  });
  const { binding } = bull;
  const dead = deadLetterStore(client);
  const waiter = markerWaiter(client);
  let closed = false;
  let closing: Promise<void> | undefined;
  let rotation = 0;

  /** A handle on a job by id, enough to settle it with its lock token. */
  const jobOf = (queue: string, id: string) =>
    new Job(bull.consumer(queue), JOB_NAME, undefined, JOB_OPTIONS as JobsOptions, id);

  function lost(message: ClaimedMessage, operation: string): LeaseLostError {
    return new LeaseLostError(
      `[loopwork:bullmq] cannot ${operation} message ${message.id} of "${message.queue}": its lease was lost (delivered again or settled elsewhere)`,
    );
  }

  /** Runs a fenced BullMQ operation; a refusal because the token lost the job is a LeaseLostError. */
  async function fenced<T>(
    message: ClaimedMessage,
    operation: string,
    run: (job: Job, token: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await run(jobOf(message.queue, message.id), message.receipt);
    } catch (error) {
      if (LOST_CODES.has((error as { code?: number }).code ?? 0)) throw lost(message, operation);
      throw error;
    }
  }

  async function deadLetter(message: ClaimedMessage, reason: string, deliveries: number) {
    await fenced(message, 'dead-letter', (job, token) =>
      job.moveToFailed(new Error(reason), token, false),
    );
    await dead.moveToDead(binding(message.queue).keys, message.id, deliveries);
  }

  /**
   * Takes one job off the queue: the message, `null` when the job is not the caller's (its
   * lease was lost at once, or it was dead-lettered for maxDeliveries), `undefined` when the
   * queue had none ready.
   */
  async function takeOne(worker: BullWorker, name: string, claim: ClaimOptions) {
    const token = `${claim.consumer}:${randomUUID()}`;
    const job = await worker.getNextJob(token, { block: false });
    if (!job?.id) return undefined;
    // The worker locks for its own lockDuration; a claim with another lease sets it right away.
    if (
      worker.opts.lockDuration !== claim.leaseMs &&
      (await job.extendLock(token, claim.leaseMs)) !== 1
    )
      return null;
    const message: ClaimedMessage = {
      id: job.id,
      queue: name,
      body: typeof job.data === 'string' ? job.data : JSON.stringify(job.data),
      deliveryCount: job.attemptsStarted,
      receipt: token,
    };
    if (message.deliveryCount <= maxDeliveries) return message;
    // This claim counted one more delivery, which no consumer will ever see.
    await deadLetter(
      message,
      `delivered ${maxDeliveries} times without being settled (maxDeliveries ${maxDeliveries})`,
      message.deliveryCount - 1,
    ).catch((error) => {
      if (!LeaseLostError.isInstance(error)) throw error;
    });
    return null;
  }

  /**
   * Takes up to `want` jobs. BullMQ hands out one job per call, so the calls go out in waves
   * of 1, 2, 4 … at once (pipelined on the connection) until the queue runs dry.
   */
  async function takeFrom(name: string, claim: ClaimOptions, want: number) {
    const worker = bull.consumer(name, claim.leaseMs);
    const taken: ClaimedMessage[] = [];
    for (let wave = 1; taken.length < want && !closed; wave *= 2) {
      const size = Math.min(wave, want - taken.length);
      const results = await Promise.allSettled(
        Array.from({ length: size }, () => takeOne(worker, name, claim)),
      );
      for (const result of results)
        if (result.status === 'fulfilled' && result.value) taken.push(result.value);
      // Messages already taken are handed out even when a sibling call failed, rather than left
      // leased to nobody until their lease runs out; the error comes back on the next claim.
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) {
        if (taken.length === 0) throw failed.reason;
        break;
      }
      if (results.some((result) => result.status === 'fulfilled' && result.value === undefined))
        break;
    }
    return taken;
  }

  /** Milliseconds until the first delayed job of these queues is due (Infinity when none is). */
  async function nextDueIn(names: readonly string[]): Promise<number> {
    const pipeline = client.pipeline();
    for (const name of names) pipeline.zrange(binding(name).keys.delayed, '0', '0', 'WITHSCORES');
    let soonest = Number.POSITIVE_INFINITY;
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      // BullMQ scores delayed jobs with their due time × 4096 (plus a counter for FIFO order).
      const score = Number((value as string[] | undefined)?.[1]);
      if (!error && Number.isFinite(score)) soonest = Math.min(soonest, Math.floor(score / 0x1000));
    }
    return soonest - Date.now();
  }

  return {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'bullmq',
    capabilities: { priority: true, delay: true, dedupe: true, groups: false },

    async enqueue(name, body, enqueueOptions = {}) {
      bull.assertOpen();
      if (enqueueOptions.groupId !== undefined) {
        throw new InvalidOptionError(
          '[loopwork:bullmq] groupId is not supported: BullMQ has job groups only in BullMQ Pro (capabilities.groups is false)',
        );
      }
      const priority = enqueueOptions.priority ?? 'normal';
      if (!Object.hasOwn(PRIORITY, priority)) {
        throw new InvalidOptionError(
          `[loopwork:bullmq] priority must be 'high', 'normal' or 'low', got ${JSON.stringify(priority)}`,
        );
      }
      const delayMs = enqueueOptions.delayMs ?? 0;
      if (!(Number.isFinite(delayMs) && delayMs >= 0)) {
        throw new InvalidOptionError(
          `[loopwork:bullmq] delayMs must be a number of milliseconds >= 0, got ${delayMs}`,
        );
      }
      const id = randomUUID();
      const job = await bull.producer(name).add(JOB_NAME, body, {
        ...JOB_OPTIONS,
        jobId: id,
        priority: PRIORITY[priority],
        ...(delayMs > 0 ? { delay: Math.round(delayMs) } : {}),
        ...(enqueueOptions.dedupeId === undefined
          ? {}
          : { deduplication: { id: enqueueOptions.dedupeId } }),
      });
      // A deduplicated add returns the id of the job already holding the deduplication id.
      return { id: job.id ?? id, deduplicated: job.id !== id };
    },

    async claim(queues, claim) {
      const leaseMs = leaseOf(claim.leaseMs, 'leaseMs');
      const max = claim.max ?? 1;
      if (!(Number.isInteger(max) && max > 0)) {
        throw new InvalidOptionError(
          `[loopwork:bullmq] max must be a positive integer, got ${max}`,
        );
      }
      const deadline = Date.now() + (claim.waitMs ?? 0);
      while (!closed && !claim.signal?.aborted && queues.length > 0) {
        const taken: ClaimedMessage[] = [];
        // Start from a different queue each claim, so a busy queue cannot starve the others.
        const start = rotation++ % queues.length;
        for (const name of [...queues.slice(start), ...queues.slice(0, start)]) {
          if (taken.length >= max) break;
          try {
            taken.push(...(await takeFrom(name, { ...claim, leaseMs }, max - taken.length)));
          } catch (error) {
            if (taken.length === 0) throw error;
            return taken; // hand out what is already leased; the error comes back next claim
          }
        }
        const remaining = deadline - Date.now();
        if (taken.length > 0 || remaining <= 0) return taken;
        // Sleep until a marker moves (a job added, promoted or back from a lost lease) or a delay
        // ends; at most 10 s per block, as BullMQ itself does, so a reconnect cannot strand it.
        const due = await nextDueIn(queues);
        await waiter.wait(
          queues.map((name) => binding(name).keys.marker),
          Math.min(remaining, Math.max(due, 25), 10_000),
          claim.signal,
        );
      }
      return [];
    },

    async ack(message) {
      await fenced(message, 'ack', (job, token) => job.moveToCompleted(null, token, false));
    },

    async release(message, releaseOptions = {}) {
      const delayMs = Math.max(0, Math.round(releaseOptions.delayMs ?? 0));
      await fenced(message, 'release', (job, token) =>
        job.moveToDelayed(Date.now() + delayMs, token),
      );
    },

    async extend(message, leaseMs) {
      const duration = leaseOf(leaseMs, 'leaseMs');
      const extended = await fenced(message, 'extend', (job, token) =>
        job.extendLock(token, duration),
      );
      if (extended !== 1) throw lost(message, 'extend');
    },

    deadLetter: (message, reason) => deadLetter(message, reason, message.deliveryCount),

    async deadLetters(name, listOptions = {}) {
      const { keys } = binding(name);
      await dead.sweep(keys);
      return dead.list(keys, name, listOptions.limit);
    },

    close() {
      closing ??= (async () => {
        closed = true;
        waiter.close();
        const deadline = Date.now() + closeTimeoutMs;
        // BullMQ's own close waits for jobs its worker loop runs; ours runs none, but a stalled
        // check or a reconnecting connection can still hold it up, hence the bound.
        await within(bull.close(), deadline - Date.now());
        if (owned) {
          await within(client.quit(), deadline - Date.now());
          client.disconnect();
        }
      })();
      return closing;
    },
  };
}
