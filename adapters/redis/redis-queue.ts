import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  InvalidOptionError,
  LeaseLostError,
  type Priority,
  type Queue,
} from 'loopwork';
import { duplicateOf } from './duplicate';
import { queueKeys } from './keys';
import { SCRIPTS } from './scripts';

/** Options of {@link createRedisQueue}. */
export interface RedisQueueOptions {
  /** A connected ioredis client; the adapter never closes it. */
  client: Redis;
  /** Prefix of every key. @defaultValue 'loopwork' */
  prefix?: string;
  /** Consumer group name. @defaultValue 'loopwork' */
  group?: string;
  /** A message delivered this many times is dead-lettered instead of delivered again. @defaultValue unlimited */
  maxDeliveries?: number;
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = Redis & Record<keyof typeof SCRIPTS, Script>;
type Fields = string[];
type Claimed = [level: Priority, streamId: string, fields: Fields, count: number];

/** Everything a settle operation needs to find and fence the delivery. */
interface Receipt {
  level: Priority;
  streamId: string;
  consumer: string;
  count: number;
  dc0: number;
  dedupeId: string;
}

const fieldsOf = (list: Fields): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] as string] = list[i + 1] as string;
  return fields;
};

/**
 * A {@link Queue} on Redis Streams: per queue, one stream per priority level read through a
 * consumer group, a sorted set of delayed messages, a sorted set of leases and a dead-letter
 * stream. One Lua script per claim moves due delayed messages into their streams, takes over
 * entries whose lease ran out (a consumer that died) and reads new ones by priority, recording
 * each lease in the same step. Settled entries are deleted (`XDEL`), so a stream holds only live
 * messages and is never trimmed: trimming by length could drop an entry still pending.
 *
 * Waiting claims block on `XREAD` over a second connection, after the last id each stream had,
 * so a message enqueued at any moment wakes them.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisQueue } from 'loopwork/redis';
 *
 * const queue = createRedisQueue({ client: new Redis(process.env.REDIS_URL!), maxDeliveries: 5 });
 * ```
 */
export function createRedisQueue(options: RedisQueueOptions): Queue {
  const prefix = options.prefix ?? 'loopwork';
  const group = options.group ?? 'loopwork';
  const maxDeliveries = options.maxDeliveries ?? Number.POSITIVE_INFINITY;
  const client = options.client as ScriptClient;
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  const readyGroups = new Set<string>();
  const connections = new Set<Redis>();
  const idle: Redis[] = [];
  let rotation = 0;
  let closed = false;

  async function ensureGroups(queue: string, force = false): Promise<void> {
    if (readyGroups.has(queue) && !force) return;
    for (const stream of queueKeys(prefix, queue).streams) {
      try {
        await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
    }
    readyGroups.add(queue);
  }

  /** Runs `fn`; if Redis lost the group (restarted without persistence), recreates it and retries once. */
  async function withGroups<T>(queues: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (const queue of queues) await ensureGroups(queue);
    try {
      return await fn();
    } catch (error) {
      if (!String((error as Error).message).includes('NOGROUP')) throw error;
      for (const queue of queues) await ensureGroups(queue, true);
      return fn();
    }
  }

  function receiptOf(message: ClaimedMessage): Receipt {
    try {
      return JSON.parse(message.receipt) as Receipt;
    } catch {
      throw new InvalidOptionError(
        `[loopwork:redis] message ${message.id}: the receipt is not from the redis adapter`,
      );
    }
  }

  function lost(message: ClaimedMessage, operation: string): LeaseLostError {
    return new LeaseLostError(
      `[loopwork:redis] cannot ${operation} message ${message.id} of "${message.queue}": its lease was lost (delivered again or settled elsewhere)`,
    );
  }

  /** One claim script run on one queue. */
  async function claimFrom(queue: string, claim: ClaimOptions, max: number) {
    const keys = queueKeys(prefix, queue);
    const [claimed, nextDue, lastIds] = (await client.claim(
      keys.delayed,
      keys.leases,
      ...keys.streams,
      group,
      claim.consumer,
      max,
      claim.leaseMs,
    )) as [Claimed[], number, string[]];
    const messages = claimed.map(([level, streamId, list, count]): ClaimedMessage => {
      const fields = fieldsOf(list);
      const dc0 = Number(fields.dc0 ?? 0);
      const receipt: Receipt = {
        level,
        streamId,
        consumer: claim.consumer,
        count: Number(count),
        dc0,
        dedupeId: fields.dd ?? '',
      };
      return {
        id: fields.id ?? streamId,
        queue,
        body: fields.body ?? '',
        deliveryCount: dc0 + Number(count),
        receipt: JSON.stringify(receipt),
      };
    });
    return { messages, nextDue: Number(nextDue), lastIds };
  }

  /** Blocks until an entry newer than `after` lands in one of the streams, or `waitMs` passes. */
  async function waitForNew(
    streams: string[],
    after: string[],
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    // One connection per waiting claim (a blocked connection serves nobody else), reused after.
    const connection = idle.pop() ?? duplicateOf(client);
    connections.add(connection);
    let healthy = true;
    const onAbort = () => {
      healthy = false;
      connections.delete(connection);
      connection.disconnect();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await connection.xread(
        'COUNT',
        1,
        'BLOCK',
        Math.max(1, Math.ceil(waitMs)),
        'STREAMS',
        ...streams,
        ...after,
      );
    } catch (error) {
      if (!closed && !signal?.aborted) throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (healthy && !closed) idle.push(connection);
    }
  }

  /** Runs a fenced settle script; rejects with LeaseLostError when the delivery is not ours any more. */
  async function fenced(
    message: ClaimedMessage,
    operation: string,
    script: 'ack' | 'release' | 'extend' | 'deadLetter',
    keys: string[],
    ...extra: Array<string | number>
  ) {
    const receipt = receiptOf(message);
    const ok = await client[script](
      ...keys,
      group,
      receipt.streamId,
      receipt.consumer,
      receipt.count,
      receipt.level,
      ...extra,
    );
    if (Number(ok) !== 1) throw lost(message, operation);
  }

  async function deadLetter(
    message: ClaimedMessage,
    reason: string,
    deliveries: number,
  ): Promise<void> {
    const keys = queueKeys(prefix, message.queue);
    const receipt = receiptOf(message);
    await fenced(
      message,
      'dead-letter',
      'deadLetter',
      [keys.stream(receipt.level), keys.leases, keys.dedupe, keys.dead],
      message.id,
      message.body,
      deliveries,
      receipt.dedupeId,
      reason,
    );
  }

  const queue: Queue = {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'redis',
    capabilities: { priority: true, delay: true, dedupe: true, groups: false },

    async enqueue(name, body, enqueueOptions = {}) {
      if (enqueueOptions.groupId !== undefined) {
        throw new InvalidOptionError(
          '[loopwork:redis] groupId is not supported by the Redis Streams queue (capabilities.groups is false)',
        );
      }
      await ensureGroups(name);
      const keys = queueKeys(prefix, name);
      const level = enqueueOptions.priority ?? 'normal';
      const delayMs = Math.max(0, Math.round(enqueueOptions.delayMs ?? 0));
      const [id, deduplicated] = (await client.enqueue(
        keys.stream(level),
        keys.delayed,
        keys.dedupe,
        randomUUID(),
        body,
        enqueueOptions.dedupeId ?? '',
        delayMs,
        level,
      )) as [string, number];
      return { id, deduplicated: Number(deduplicated) === 1 };
    },

    async claim(queues, claim) {
      const max = claim.max ?? 1;
      const deadline = Date.now() + (claim.waitMs ?? 0);
      return withGroups(queues, async () => {
        while (!closed && !claim.signal?.aborted) {
          const taken: ClaimedMessage[] = [];
          const streams: string[] = [];
          const after: string[] = [];
          let nextDue = Number.POSITIVE_INFINITY;
          // Start from a different queue each claim, so a busy queue cannot starve the others.
          const start = rotation++ % queues.length;
          for (const name of [...queues.slice(start), ...queues.slice(0, start)]) {
            const result = await claimFrom(name, claim, max - taken.length);
            for (const message of result.messages) {
              if (message.deliveryCount <= maxDeliveries) taken.push(message);
              // This claim counted one more delivery, which no consumer will ever see.
              else
                await deadLetter(
                  message,
                  `delivered ${maxDeliveries} times without being settled (maxDeliveries ${maxDeliveries})`,
                  message.deliveryCount - 1,
                );
            }
            if (result.nextDue >= 0) nextDue = Math.min(nextDue, result.nextDue);
            streams.push(...queueKeys(prefix, name).streams);
            after.push(...result.lastIds);
            if (taken.length >= max) break;
          }
          const remaining = deadline - Date.now();
          if (taken.length > 0 || remaining <= 0) return taken;
          // Sleep until something may be claimable: a new entry, a due delay or an expiring lease.
          await waitForNew(streams, after, Math.min(remaining, nextDue), claim.signal);
        }
        return [];
      });
    },

    async ack(message) {
      const keys = queueKeys(prefix, message.queue);
      const { level, dedupeId } = receiptOf(message);
      await fenced(message, 'ack', 'ack', [keys.stream(level), keys.leases, keys.dedupe], dedupeId);
    },

    async release(message, releaseOptions = {}) {
      const keys = queueKeys(prefix, message.queue);
      const receipt = receiptOf(message);
      const delayMs = Math.max(0, Math.round(releaseOptions.delayMs ?? 0));
      await fenced(
        message,
        'release',
        'release',
        [keys.stream(receipt.level), keys.leases, keys.delayed],
        message.id,
        message.body,
        message.deliveryCount,
        receipt.dedupeId,
        delayMs,
      );
    },

    async extend(message, leaseMs) {
      const keys = queueKeys(prefix, message.queue);
      await fenced(
        message,
        'extend',
        'extend',
        [keys.stream(receiptOf(message).level), keys.leases],
        Math.max(1, Math.round(leaseMs)),
      );
    },

    deadLetter: (message, reason) => deadLetter(message, reason, message.deliveryCount),

    async deadLetters(name, listOptions = {}) {
      const entries = (await client.xrange(
        queueKeys(prefix, name).dead,
        '-',
        '+',
        'COUNT',
        listOptions.limit ?? 1000,
      )) as Array<[string, Fields]>;
      return entries.map(([streamId, list]): DeadLetter => {
        const fields = fieldsOf(list);
        return {
          id: fields.id ?? streamId,
          queue: name,
          body: fields.body ?? '',
          reason: fields.reason ?? '',
          deliveryCount: Number(fields.deliveries ?? 0),
        };
      });
    },

    async close() {
      closed = true;
      for (const connection of connections) connection.disconnect();
    },
  };
  return queue;
}
