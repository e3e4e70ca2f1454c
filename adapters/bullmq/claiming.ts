import { randomUUID } from 'node:crypto';
import type { Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  InvalidOptionError,
  LeaseLostError,
  type Queue,
} from 'loopwork';
import type { bullQueues } from './bull-queues';
import { bodyOfJob, groupOfJob } from './jobs';
import { markerWaiter } from './marker-wait';
import { leaseOf, positive } from './options';

/** What {@link claimer} needs from the adapter. */
export interface ClaimerOptions {
  client: Redis;
  bull: ReturnType<typeof bullQueues>;
  /** The adapter's own limit (Infinity when unlimited). */
  maxDeliveries: number;
  /** The adapter's dead-letter operation (fenced by the message's receipt). */
  deadLetter: (message: ClaimedMessage, reason: string, deliveries: number) => Promise<void>;
  /** Runs before a claim reads a queue: the group sweep, when due. */
  beforeTake: (queue: string) => Promise<void>;
  /** Longest one block of a waiting claim, so that it runs `beforeTake` again that often. */
  maxBlockMs: number;
  isClosed: () => boolean;
}

/** A claim after validation: the lease in whole ms and the delivery limit that applies. */
type Claim = ClaimOptions & { limit: number };

/**
 * Claiming on BullMQ: `Worker.getNextJob` with a lock token of the claim's own (the receipt),
 * over several queues in rotation, waiting on BullMQ's marker keys when nothing is ready.
 */
export function claimer(options: ClaimerOptions) {
  const { client, bull, deadLetter, isClosed } = options;
  const waiter = markerWaiter(client);
  let rotation = 0;

  /**
   * Takes one job off the queue: the message, `null` when the job is not the caller's (its
   * lease was lost at once, or it was over its deliveries), `undefined` when the queue had none.
   */
  async function takeOne(worker: BullWorker, name: string, claim: Claim) {
    const token = `${claim.consumer}:${randomUUID()}`;
    const job = await worker.getNextJob(token, { block: false });
    if (!job?.id) return undefined;
    // The worker locks for its own lockDuration; a claim with another lease sets it right away.
    if (
      worker.opts.lockDuration !== claim.leaseMs &&
      (await job.extendLock(token, claim.leaseMs)) !== 1
    )
      return null;
    const group = groupOfJob(job);
    const message: ClaimedMessage = {
      id: job.id,
      queue: name,
      body: bodyOfJob(job),
      deliveryCount: job.attemptsStarted,
      receipt: token,
      ...(group === undefined ? {} : { groupId: group }),
    };
    if (message.deliveryCount <= claim.limit) return message;
    // This claim counted one more delivery, which no consumer will ever see.
    const deliveries = message.deliveryCount - 1;
    const letter: DeadLetter = {
      id: message.id,
      queue: name,
      body: message.body,
      reason: `delivered ${deliveries} times without being settled (maxDeliveries ${claim.limit})`,
      deliveryCount: deliveries,
    };
    try {
      await claim.onDeadLetter?.(letter);
    } catch {
      return null; // left locked to this claim: it comes back when the lock runs out
    }
    await deadLetter(message, letter.reason, deliveries).catch((error) => {
      if (!LeaseLostError.isInstance(error)) throw error;
    });
    return null;
  }

  /**
   * Takes up to `want` jobs. BullMQ hands out one job per call, so the calls go out in waves
   * of 1, 2, 4 … at once (pipelined on the connection) until the queue runs dry.
   */
  async function takeFrom(name: string, claim: Claim, want: number) {
    await options.beforeTake(name);
    const worker = bull.consumer(name, claim.leaseMs);
    const taken: ClaimedMessage[] = [];
    for (let wave = 1; taken.length < want && !isClosed(); wave *= 2) {
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
    for (const name of names)
      pipeline.zrange(bull.binding(name).keys.delayed, '0', '0', 'WITHSCORES');
    let soonest = Number.POSITIVE_INFINITY;
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      // BullMQ scores delayed jobs with their due time × 4096 (plus a counter for FIFO order).
      const score = Number((value as string[] | undefined)?.[1]);
      if (!error && Number.isFinite(score)) soonest = Math.min(soonest, Math.floor(score / 0x1000));
    }
    return soonest - Date.now();
  }

  const claim: Queue['claim'] = async (queues, claimOptions) => {
    const leaseMs = leaseOf(claimOptions.leaseMs, 'leaseMs');
    const max = claimOptions.max ?? 1;
    if (!(Number.isInteger(max) && max > 0)) {
      throw new InvalidOptionError(`[loopwork:bullmq] max must be a positive integer, got ${max}`);
    }
    const limit = Math.min(
      options.maxDeliveries,
      positive(claimOptions.maxDeliveries, 'maxDeliveries') ?? Number.POSITIVE_INFINITY,
    );
    const deadline = Date.now() + (claimOptions.waitMs ?? 0);
    while (!isClosed() && !claimOptions.signal?.aborted && queues.length > 0) {
      const taken: ClaimedMessage[] = [];
      // Start from a different queue each claim, so a busy queue cannot starve the others.
      const start = rotation++ % queues.length;
      for (const name of [...queues.slice(start), ...queues.slice(0, start)]) {
        if (taken.length >= max) break;
        try {
          taken.push(
            ...(await takeFrom(name, { ...claimOptions, leaseMs, limit }, max - taken.length)),
          );
        } catch (error) {
          if (taken.length === 0) throw error;
          return taken; // hand out what is already leased; the error comes back next claim
        }
      }
      const remaining = deadline - Date.now();
      if (taken.length > 0 || remaining <= 0) return taken;
      // Sleep until a marker moves (a job added, promoted or back from a lost lease) or a delay
      // ends; at most 10 s per block, as BullMQ itself does, so a reconnect cannot strand it,
      // and at most maxBlockMs, so the group sweep runs while the claim waits.
      const due = await nextDueIn(queues);
      await waiter.wait(
        queues.map((name) => bull.binding(name).keys.marker),
        Math.min(remaining, Math.max(due, 25), options.maxBlockMs, 10_000),
        claimOptions.signal,
      );
    }
    return [];
  };

  return { claim, close: () => waiter.close() };
}
