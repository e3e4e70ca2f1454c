import { randomUUID } from 'node:crypto';
import { InvalidOptionError, LeaseLostError } from '../errors';
import { assertDeadLetterRef } from '../queue/dead-letter-ref';
import type {
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  EnqueueOptions,
  Priority,
  Queue,
} from '../queue/queue';

/** Options of {@link createMemoryQueue}. */
export interface MemoryQueueOptions {
  /** A message claimed this many times is dead-lettered instead of delivered again. @defaultValue unlimited */
  maxDeliveries?: number;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

interface Entry {
  id: string;
  queue: string;
  body: string;
  rank: number;
  seq: number;
  availableAt: number;
  deliveryCount: number;
  dedupeId?: string;
  groupId?: string;
  lease?: { receipt: string; consumer: string; expiresAt: number };
}

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/**
 * In-process {@link Queue}: the embedded default and the reference every adapter is tested
 * against. Supports priority, delay, dedupe and groups. State lives in this process only, so
 * it is for tests, single-process services and examples.
 *
 * @example
 * ```ts
 * const queue = createMemoryQueue({ maxDeliveries: 5 });
 * await queue.enqueue('emails', JSON.stringify({ to: 'a@b.c' }), { priority: 'high' });
 * const [message] = await queue.claim(['emails'], { consumer: 'w1', leaseMs: 30_000 });
 * ```
 */
export function createMemoryQueue(options: MemoryQueueOptions = {}): Queue {
  const now = options.now ?? Date.now;
  const maxDeliveries = options.maxDeliveries ?? Number.POSITIVE_INFINITY;
  const entries = new Map<string, Entry>();
  const dedupe = new Map<string, string>();
  const dead = new Map<string, DeadLetter[]>();
  const waiters = new Set<() => void>();
  let seq = 0;
  let closed = false;

  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };
  const leased = (entry: Entry, at: number) =>
    entry.lease !== undefined && entry.lease.expiresAt > at;
  const remove = (entry: Entry) => {
    entries.delete(entry.id);
    if (entry.dedupeId !== undefined) dedupe.delete(`${entry.queue}\0${entry.dedupeId}`);
  };
  const owned = (message: ClaimedMessage, operation: string): Entry => {
    const entry = entries.get(message.id);
    if (!entry || entry.lease?.receipt !== message.receipt) {
      throw new LeaseLostError(
        `[loopwork:memory] cannot ${operation} message ${message.id} of "${message.queue}": its lease was lost (delivered again or settled elsewhere)`,
      );
    }
    return entry;
  };

  function ready(queues: ReadonlySet<string>, at: number): Entry[] {
    const busyGroups = new Set<string>();
    const firstOfGroup = new Map<string, Entry>();
    for (const entry of entries.values()) {
      if (!queues.has(entry.queue) || entry.groupId === undefined) continue;
      const key = `${entry.queue}\0${entry.groupId}`;
      if (leased(entry, at)) busyGroups.add(key);
      const first = firstOfGroup.get(key);
      if (!first || entry.seq < first.seq) firstOfGroup.set(key, entry);
    }
    const candidates: Entry[] = [];
    for (const entry of entries.values()) {
      if (!queues.has(entry.queue) || entry.availableAt > at || leased(entry, at)) continue;
      if (entry.groupId !== undefined) {
        const key = `${entry.queue}\0${entry.groupId}`;
        if (busyGroups.has(key) || firstOfGroup.get(key) !== entry) continue;
      }
      candidates.push(entry);
    }
    return candidates.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
  }

  /**
   * Leases up to `max` ready messages. A message already delivered `limit` times is leased too
   * (so no other claim takes it meanwhile), but returned apart, to be dead-lettered.
   */
  function take(
    queues: ReadonlySet<string>,
    claim: ClaimOptions,
    limit: number,
  ): { taken: ClaimedMessage[]; exhausted: Entry[] } {
    const at = now();
    const taken: ClaimedMessage[] = [];
    const exhausted: Entry[] = [];
    for (const entry of ready(queues, at)) {
      if (taken.length >= (claim.max ?? 1)) break;
      if (
        entry.groupId !== undefined &&
        taken.some((m) => m.groupId === entry.groupId && m.queue === entry.queue)
      )
        continue;
      entry.lease = {
        receipt: randomUUID(),
        consumer: claim.consumer,
        expiresAt: at + claim.leaseMs,
      };
      if (entry.deliveryCount >= limit) {
        exhausted.push(entry);
        continue;
      }
      entry.deliveryCount += 1;
      taken.push({
        id: entry.id,
        queue: entry.queue,
        body: entry.body,
        deliveryCount: entry.deliveryCount,
        receipt: entry.lease.receipt,
        ...(entry.groupId === undefined ? {} : { groupId: entry.groupId }),
      });
    }
    return { taken, exhausted };
  }

  /** Dead-letters messages delivered too often, telling `onDeadLetter` first (see ClaimOptions). */
  async function deadLetterExhausted(
    exhausted: readonly Entry[],
    limit: number,
    onDeadLetter: ClaimOptions['onDeadLetter'],
  ): Promise<void> {
    for (const entry of exhausted) {
      const receipt = entry.lease?.receipt;
      const letter: DeadLetter = {
        id: entry.id,
        queue: entry.queue,
        body: entry.body,
        reason: `delivered ${entry.deliveryCount} times without being settled (maxDeliveries ${limit})`,
        deliveryCount: entry.deliveryCount,
      };
      try {
        await onDeadLetter?.(letter);
      } catch {
        continue; // left leased: it comes back after its lease and is tried again
      }
      // Unless someone else took it meanwhile (the hook outlived the lease).
      if (entries.get(entry.id)?.lease?.receipt === receipt) moveToDead(entry, letter.reason);
    }
  }

  function moveToDead(entry: Entry, reason: string): void {
    remove(entry);
    const list = dead.get(entry.queue) ?? [];
    list.push({
      id: entry.id,
      queue: entry.queue,
      body: entry.body,
      reason,
      deliveryCount: entry.deliveryCount,
    });
    dead.set(entry.queue, list);
  }

  /** Milliseconds until something in these queues may become claimable (a delay or a lease ends). */
  function nextChange(queues: ReadonlySet<string>, at: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const entry of entries.values()) {
      if (!queues.has(entry.queue)) continue;
      const when = Math.max(entry.availableAt, entry.lease?.expiresAt ?? 0);
      if (when > at) soonest = Math.min(soonest, when - at);
    }
    return soonest;
  }

  return {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'memory',
    capabilities: { priority: true, delay: true, dedupe: true, groups: true },

    async enqueue(queue, body, enqueueOptions: EnqueueOptions = {}) {
      if (closed) throw new InvalidOptionError('[loopwork:memory] enqueue on a closed queue');
      const dedupeKey =
        enqueueOptions.dedupeId === undefined ? undefined : `${queue}\0${enqueueOptions.dedupeId}`;
      const existing = dedupeKey === undefined ? undefined : dedupe.get(dedupeKey);
      if (existing !== undefined) return { id: existing, deduplicated: true };
      const entry: Entry = {
        id: randomUUID(),
        queue,
        body,
        rank: RANK[enqueueOptions.priority ?? 'normal'],
        seq: seq++,
        availableAt: now() + (enqueueOptions.delayMs ?? 0),
        deliveryCount: 0,
        ...(enqueueOptions.dedupeId === undefined ? {} : { dedupeId: enqueueOptions.dedupeId }),
        ...(enqueueOptions.groupId === undefined ? {} : { groupId: enqueueOptions.groupId }),
      };
      entries.set(entry.id, entry);
      if (dedupeKey !== undefined) dedupe.set(dedupeKey, entry.id);
      wakeAll();
      return { id: entry.id, deduplicated: false };
    },

    async claim(queues, claim) {
      const names = new Set(queues);
      const limit = Math.min(maxDeliveries, claim.maxDeliveries ?? Number.POSITIVE_INFINITY);
      const deadline = now() + (claim.waitMs ?? 0);
      while (!closed && !claim.signal?.aborted) {
        const { taken, exhausted } = take(names, claim, limit);
        if (exhausted.length > 0) {
          await deadLetterExhausted(exhausted, limit, claim.onDeadLetter);
          wakeAll();
        }
        const remaining = deadline - now();
        if (taken.length > 0 || remaining <= 0) return taken;
        if (exhausted.length > 0) continue; // what they held back may be claimable now
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            claim.signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, Math.min(remaining, nextChange(names, now())));
          waiters.add(done);
          claim.signal?.addEventListener('abort', done, { once: true });
        });
      }
      return [];
    },

    async ack(message) {
      remove(owned(message, 'ack'));
      wakeAll();
    },

    async release(message, releaseOptions = {}) {
      const entry = owned(message, 'release');
      delete entry.lease;
      entry.availableAt = now() + (releaseOptions.delayMs ?? 0);
      wakeAll();
    },

    async extend(message, leaseMs) {
      const entry = owned(message, 'extend');
      if (entry.lease) entry.lease.expiresAt = now() + leaseMs;
    },

    async extendMany(messages, leaseMs) {
      return messages.map((message) => {
        const lease = entries.get(message.id)?.lease;
        if (lease?.receipt !== message.receipt) return false;
        lease.expiresAt = now() + leaseMs;
        return true;
      });
    },

    async deadLetter(message, reason) {
      moveToDead(owned(message, 'dead-letter'), reason);
      wakeAll();
    },

    async deadLetters(queue, listOptions = {}) {
      return (dead.get(queue) ?? []).slice(0, listOptions.limit ?? Number.POSITIVE_INFINITY);
    },

    async removeDeadLetter(queue, id) {
      assertDeadLetterRef('memory', queue, id);
      const list = dead.get(queue) ?? [];
      const index = list.findIndex((letter) => letter.id === id);
      if (index < 0) return false;
      list.splice(index, 1);
      return true;
    },

    async stats(queue) {
      const at = now();
      const counts = {
        ready: 0,
        delayed: 0,
        leased: 0,
        deadLettered: dead.get(queue)?.length ?? 0,
      };
      for (const entry of entries.values()) {
        if (entry.queue !== queue) continue;
        if (leased(entry, at)) counts.leased += 1;
        else if (entry.availableAt > at) counts.delayed += 1;
        else counts.ready += 1;
      }
      return counts;
    },

    async close() {
      closed = true;
      wakeAll();
    },
  };
}
