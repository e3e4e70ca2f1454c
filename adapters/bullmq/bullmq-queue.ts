import { randomUUID } from 'node:crypto';
import { Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { type ClaimedMessage, InvalidOptionError, LeaseLostError, type Queue } from 'loopwork';
import { assertDeadLetterRef } from 'loopwork/adapter-kit';
import { bullQueues } from './bull-queues';
import { claimer } from './claiming';
import { deadLetterStore } from './dead-letters';
import { bullGroups } from './groups';
import { JOB_NAME, JOB_OPTIONS, LOST_CODES, PRIORITY, within } from './jobs';
import { type BullmqQueueOptions, leaseOf, resolveOptions } from './options';

export type { BullmqQueueOptions } from './options';

/**
 * A {@link Queue} on BullMQ, consumed by manual job processing rather than BullMQ's worker loop:
 * `claim` moves jobs to active with a lock token of its own (the receipt), and every settle
 * operation presents that token, so BullMQ's lock is the lease and its fence.
 *
 * - enqueue → `Queue.add` with a UUID job id, priority 1/2/3, `delay`, and BullMQ deduplication
 *   (free again once the job completes or fails; settled jobs are deleted, so an id is never
 *   swallowed by a kept job, BullMQ issue #1662).
 * - claim → `Worker.getNextJob`; deliveryCount is BullMQ's `attemptsStarted`; BullMQ's stalled
 *   check returns jobs whose lock ran out. Waiting claims block on the queues' marker keys. A
 *   message over the claim's (or the adapter's) `maxDeliveries` is dead-lettered, after the
 *   claim's `onDeadLetter` accepted it.
 * - ack → `moveToCompleted`; release → `moveToDelayed`; extend → `extendLock`;
 *   deadLetter → `moveToFailed`, then into a dead-letter stream beside the queue's keys;
 *   removeDeadLetter → XDEL from that stream (see dead-letters.ts).
 * - groups (BullMQ Pro's feature, built here on open-source BullMQ): only the head of a group
 *   is a BullMQ job; the next member is added when the head is acked or dead-lettered (see
 *   groups.ts for the steps and how a crash between them is repaired).
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
  const groups = bullGroups({
    client,
    keysOf: (name) => binding(name).keys,
    producer: (name) => bull.producer(name),
    sweepIntervalMs: stalledIntervalMs,
    beforeSweep: (name) => dead.sweep(binding(name).keys),
    onError,
  });
  let closed = false;
  let closing: Promise<void> | undefined;

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

  /**
   * After an ack or dead-letter: the next member of the message's group becomes claimable. The
   * settle itself succeeded, so a failure here is reported, not thrown; the sweep repairs it.
   */
  async function settled(message: ClaimedMessage): Promise<void> {
    if (message.groupId === undefined) return;
    await groups.settled(message.queue, message.groupId, message.id).catch(onError);
  }

  async function deadLetter(message: ClaimedMessage, reason: string, deliveries: number) {
    await fenced(message, 'dead-letter', (job, token) =>
      job.moveToFailed(new Error(reason), token, false),
    );
    await dead.moveToDead(binding(message.queue).keys, message.id, deliveries);
    await settled(message);
  }

  const claims = claimer({
    client,
    bull,
    maxDeliveries,
    deadLetter,
    beforeTake: async (name) => {
      if (!closed) await groups.sweepIfDue(name);
    },
    maxBlockMs: Math.max(stalledIntervalMs, 25),
    isClosed: () => closed,
  });

  return {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'bullmq',
    capabilities: { priority: true, delay: true, dedupe: true, groups: true },

    async enqueue(name, body, enqueueOptions = {}) {
      bull.assertOpen();
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
      const { groupId, dedupeId } = enqueueOptions;
      if (groupId !== undefined && typeof groupId !== 'string') {
        throw new InvalidOptionError(
          `[loopwork:bullmq] groupId must be a string, got ${JSON.stringify(groupId)}`,
        );
      }
      const id = randomUUID();
      if (groupId !== undefined) {
        return groups.enqueue(name, {
          id,
          body,
          group: groupId,
          priority: PRIORITY[priority],
          dueAt: Date.now() + Math.round(delayMs),
          ...(dedupeId === undefined ? {} : { dedupeId }),
        });
      }
      const job = await bull.producer(name).add(JOB_NAME, body, {
        ...JOB_OPTIONS,
        jobId: id,
        priority: PRIORITY[priority],
        ...(delayMs > 0 ? { delay: Math.round(delayMs) } : {}),
        ...(dedupeId === undefined ? {} : { deduplication: { id: dedupeId } }),
      });
      // A deduplicated add returns the id of the job already holding the deduplication id.
      return { id: job.id ?? id, deduplicated: job.id !== id };
    },

    claim: (queues, claim) => claims.claim(queues, claim),

    async ack(message) {
      await fenced(message, 'ack', (job, token) => job.moveToCompleted(null, token, false));
      await settled(message);
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
      // The sweep moves dead letters a crash left half-done, and repairs the groups they headed.
      await groups.sweep(name);
      return dead.list(binding(name).keys, name, listOptions.limit);
    },

    async removeDeadLetter(name, id) {
      assertDeadLetterRef('bullmq', name, id);
      return dead.remove(binding(name).keys, id);
    },

    close() {
      closing ??= (async () => {
        closed = true;
        claims.close();
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
