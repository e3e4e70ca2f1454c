import type { Queue as BullQueue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type GroupKeys, groupScripts, type Member } from './group-scripts';
import { groupJobName, JOB_OPTIONS } from './jobs';

export type { GroupKeys, Member } from './group-scripts';

/**
 * The delay a head's job is added with, before ACTIVATE gives it its real due time: long enough
 * never to run out while the adapter is in use. Were it ever reached (every process gone for a
 * month mid-promotion), BullMQ would deliver the job unactivated, which is still no loss.
 */
export const PARK_MS = 30 * 24 * 60 * 60 * 1000;
/** How long a waiting member holds its dedupe id before its job exists (then BullMQ keeps it). */
const DEDUPE_HOLD_MS = 10 * 365 * 24 * 60 * 60 * 1000;
/** Most stale promotions and orphans one sweep handles; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

/** What {@link bullGroups} needs from the adapter. */
export interface BullGroupsOptions {
  client: Redis;
  keysOf: (queue: string) => GroupKeys;
  producer: (queue: string) => BullQueue;
  /**
   * A promotion older than this is finished by the sweep, and claims sweep a queue at most this
   * often. Both only matter after a crash: the sweep is idempotent and races nothing.
   */
  sweepIntervalMs: number;
  /** Runs first in every sweep: finishes dead letters a crash left half-done, so their heads count as settled. */
  beforeSweep: (queue: string) => Promise<void>;
  onError: (error: Error) => void;
}

/**
 * Message groups on open-source BullMQ (which has them only in BullMQ Pro): of each group, only
 * its head, the oldest unsettled member, is a BullMQ job; the others wait in a list of the
 * adapter's own, each becoming the head (and a job) when the one before it is acked or
 * dead-lettered. Release, delayed release and lost leases leave a job where it is, so the head
 * keeps its place.
 *
 * No crash between two steps loses a member. The steps, each one atomic:
 * 1. `enqueue` records the member (waiting, or as the head of an idle group, "promoting");
 *    `advance`, after a settle, makes the next member the head, promoting.
 * 2. `Queue.add` adds the head's job, parked (a month's delay), so no claim can take it yet. Adding
 *    is idempotent while the job exists, so adding twice is harmless.
 * 3. `activate` makes the parked job claimable, if the member is still promoting: at its place in
 *    enqueue order when due, else at its due time. A parked job whose member is not promoting (a
 *    late add after its member was settled) is deleted instead.
 *
 * A sweep (claims run it every `sweepIntervalMs`, `deadLetters()` always) repairs what a crash
 * leaves: a head promoting for longer than `sweepIntervalMs` is added and activated again (steps
 * 2–3), a group whose head's job is gone without an advance (a crash between a settle and step 1)
 * is advanced, and a parked job of a settled member (a late step 2 whose step 3 never ran) is
 * deleted. A crash therefore holds its group up for about two `sweepIntervalMs` at most. Two
 * members of a group are never claimable at once, and no step delivers a message twice: only
 * step 3 makes a job claimable, it checks atomically that the member is still the promoting head,
 * and a job it made claimable is no longer promoting, so nothing adds or activates it again.
 */
export function bullGroups(options: BullGroupsOptions) {
  const { client, keysOf, producer, sweepIntervalMs, beforeSweep, onError } = options;
  const scripts = groupScripts(client);
  const lastSweep = new Map<string, number>();

  /** Steps 2 and 3 for a head. */
  async function promote(queue: string, member: Member): Promise<void> {
    await producer(queue).add(groupJobName(member.group), member.body, {
      ...JOB_OPTIONS,
      jobId: member.id,
      priority: member.priority,
      delay: PARK_MS,
    });
    await scripts.activate(keysOf(queue), member, Date.now());
  }

  /** Promotes several heads; one failure stops none of the others (the sweep retries it). */
  async function promoteAll(queue: string, heads: readonly Member[]): Promise<void> {
    await Promise.all(heads.map((member) => promote(queue, member).catch(onError)));
  }

  async function sweep(queue: string): Promise<void> {
    await beforeSweep(queue);
    const keys = keysOf(queue);
    await promoteAll(queue, await scripts.stale(keys, sweepIntervalMs, SWEEP_BATCH));
    let cursor = '0';
    do {
      const [next, flat] = await client.hscan(keys.heads, cursor, 'COUNT', SWEEP_BATCH);
      cursor = next;
      const groups = flat.filter((_, index) => index % 2 === 0);
      await promoteAll(queue, await scripts.repair(keys, groups));
    } while (cursor !== '0');
    // Parked jobs sit about PARK_MS ahead; anything past half of it is one (or a rare user delay,
    // which ORPHANS leaves alone: it is activated).
    await scripts.discardOrphans(keys, (Date.now() + PARK_MS / 2) * 0x1000);
  }

  return {
    /**
     * Records a grouped message; the first of an idle group becomes its head and a job at once.
     * Once the member is recorded, a failure to add its job is reported to `onError` rather than
     * thrown: the message is kept, and the sweep adds it.
     */
    async enqueue(queue: string, member: Member): Promise<{ id: string; deduplicated: boolean }> {
      const { id, deduplicated, head } = await scripts.enqueue(
        keysOf(queue),
        member,
        DEDUPE_HOLD_MS,
      );
      if (head) await promote(queue, head).catch(onError);
      return { id, deduplicated };
    },

    /** After the head `id` of `group` was acked or dead-lettered: the next member becomes claimable. */
    async settled(queue: string, group: string, id: string): Promise<void> {
      const next = await scripts.advance(keysOf(queue), group, id);
      if (next) await promote(queue, next);
    },

    /** Sweeps the queue now (see above). */
    sweep,

    /** Sweeps the queue unless this object did so within `sweepIntervalMs`; reports failures. */
    async sweepIfDue(queue: string): Promise<void> {
      const now = Date.now();
      if (now - (lastSweep.get(queue) ?? 0) < sweepIntervalMs) return;
      lastSweep.set(queue, now);
      await sweep(queue).catch(onError);
    },
  };
}
