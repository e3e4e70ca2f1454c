import { randomUUID } from 'node:crypto';
import {
  type ClaimedMessage,
  type ClaimOptions,
  ConflictError,
  type DeadLetter,
  type EnqueueOptions,
  type EventLog,
  type HeartbeatStore,
  InvalidOptionError,
  LeaseLostError,
  LoopworkError,
  type Priority,
  type Queue,
  type QueueRunSteps,
  type RunStore,
  type StartedClaim,
} from 'loopwork';
import { assertDeadLetterRef } from 'loopwork/adapter-kit';
import { isCluster, type RedisClient } from './client';
import { duplicateOf } from './duplicate';
import {
  EVENT_LOG_HANDLE,
  type EventLogHandle,
  HEARTBEAT_STORE_HANDLE,
  type HeartbeatStoreHandle,
  handleOf,
  RUN_STORE_HANDLE,
  type RunStoreHandle,
} from './handles';
import { LEVELS, queueKeys, storeKeys } from './keys';
import { fromPairs, recordAfter } from './run-scripts';
import { SCRIPTS } from './scripts';

/** Options of {@link createRedisQueue}. */
export interface RedisQueueOptions {
  /** A connected ioredis client, `Redis` or `Cluster` (see docs/scaling.md); the adapter never closes it. */
  client: RedisClient;
  /** Prefix of every key. @defaultValue 'loopwork' */
  prefix?: string;
  /** Consumer group name. @defaultValue 'loopwork' */
  group?: string;
  /**
   * A message delivered this many times is dead-lettered instead of delivered again; a claim's
   * own `maxDeliveries` may lower it. @defaultValue unlimited
   */
  maxDeliveries?: number;
  /**
   * On Redis Cluster, put every queue of this adapter in the hash slot of `{hashTag}` (their keys
   * start with it), so a claim over several queues waits with one blocking `XREAD` on one
   * connection. Without it each queue has its own slot, spreading queues over the shards, and a
   * claim over several queues waits on one connection per queue. Changing it moves the queues
   * to other keys: drain them first. See docs/scaling.md. @defaultValue undefined (a slot per queue)
   */
  hashTag?: string;
  /**
   * Replicas that must hold each write before it counts: every script call (enqueue, claim, ack,
   * release, extend, dead-letter) is followed by `WAIT waitReplicas replicaTimeoutMs` on the same
   * connection, and rejects with a {@link ReplicationError} when fewer replicas confirmed it in
   * time (the write itself happened on the master; retry, or treat it as at risk). Redis
   * replicates asynchronously, so without it a failover can lose a write already acknowledged.
   * Costs a replication round trip per write (about 3–4× fewer writes per second measured on
   * loopback; see docs/scaling.md). @defaultValue 0 (acknowledged by the master alone)
   */
  waitReplicas?: number;
  /** How long a write waits for its `waitReplicas` confirmations. @defaultValue 1000 */
  replicaTimeoutMs?: number;
}

/**
 * A write the master took but fewer replicas than `waitReplicas` confirmed in time (code
 * `not_replicated`, retryable: the write stands on the master, and a failover may still lose it).
 */
export class ReplicationError extends LoopworkError {
  constructor(message: string) {
    super('not_replicated', message, { retryable: true });
    this.name = 'ReplicationError';
  }

  /** True for a ReplicationError, even one from another copy of the package. */
  static isInstance(error: unknown): error is ReplicationError {
    return LoopworkError.isInstance(error) && error.code === 'not_replicated';
  }
}

/**
 * The consumer that holds a message over its delivery limit while the claim's `onDeadLetter`
 * runs. Its own name keeps the receipts of real deliveries from matching the hold; claims under
 * this name are refused.
 */
const HOLD = 'loopwork:dead-letter';

type Script = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = RedisClient & Record<keyof typeof SCRIPTS, Script>;
type Fields = string[];
/** A claimed entry; claimStart adds the record of the run it started. */
type Taken = [level: Priority, streamId: string, fields: Fields, count: number, started?: string[]];

/** Everything a settle operation needs to find and fence the delivery; the rest is read from Redis. */
interface Receipt {
  level: Priority;
  streamId: string;
  consumer: string;
  count: number;
  /** The message's group, naming the list of waiting members the settle scripts may touch. */
  group?: string;
}

/** The streams one blocking XREAD waits on (all in one hash slot on a Cluster), after these ids. */
interface Wait {
  streams: string[];
  after: string[];
}

/** A message over its delivery limit, held by {@link HOLD} until dead-lettered. */
interface Held {
  message: ClaimedMessage;
  letter: DeadLetter;
}

const fieldsOf = (list: Fields): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] as string] = list[i + 1] as string;
  return fields;
};

const positiveInteger = (value: number) => Number.isInteger(value) && value > 0;
/** A delivery limit: a positive integer, or Infinity for none. */
const validLimit = (value: number) => value === Number.POSITIVE_INFINITY || positiveInteger(value);

/** The replies of a MULTI, or the first error among them. */
/** Entries a dead-letter search reads per XRANGE. */
const SEARCH_PAGE = 200;

/**
 * The entry id of the dead letter `id` in the stream `key`: the entry whose `id` field is `id`,
 * or, for an entry without one, whose entry id is (the letter ids `deadLetters()` gives). Reads
 * the stream oldest first, a page at a time, so a redrive (which removes letters oldest first)
 * finds each in the first page; an unknown id reads the whole stream. One key: one slot.
 */
async function findDeadLetter(
  client: RedisClient,
  key: string,
  id: string,
): Promise<string | undefined> {
  let start = '-';
  for (;;) {
    const page = (await client.xrange(key, start, '+', 'COUNT', SEARCH_PAGE)) as Array<
      [string, Fields]
    >;
    for (const [streamId, list] of page) {
      if ((fieldsOf(list).id ?? streamId) === id) return streamId;
    }
    if (page.length < SEARCH_PAGE) return undefined;
    start = `(${page[page.length - 1]![0]}`;
  }
}

async function exec(batch: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
  return ((await batch.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * A {@link Queue} on Redis Streams with priority, delay, dedupe and groups. Per queue (all keys
 * under the hash tag `{prefix:q:queue}`):
 *
 * | key | holds |
 * | --- | --- |
 * | `:high`, `:normal`, `:low` | streams of claimable messages, read through a consumer group |
 * | `:delayed` | sorted set of messages not yet due (score: server time due) |
 * | `:leases` | sorted set of lease expiries of pending entries |
 * | `:dedupe` | hash dedupe id → message id, while the message is in the queue |
 * | `:groups` | hash group id → id of its head, the one member that may be claimed |
 * | `:group:<id>` | list of a group's waiting members, oldest first |
 * | `:dead` | stream of dead letters |
 *
 * One Lua script per claim moves due delayed messages into their streams, takes over entries
 * whose lease ran out (a consumer that died) and reads new ones by priority, recording each lease
 * in the same step. Settled entries are deleted (`XDEL`), so a stream holds only live messages
 * and is never trimmed: trimming by length could drop an entry still pending.
 *
 * Groups: only a group's head is ever in a stream or the delayed set; later members wait in the
 * group's list. Release and lease expiry keep the head; ack and dead-letter pop the next member
 * into its stream (or the delayed set while its delay lasts), in the same script. So a group has
 * at most one message leased, in enqueue order, and priority and delay apply to a member when it
 * becomes the head.
 *
 * A message over its delivery limit (the lower of `maxDeliveries` and the claim's) is leased by
 * the claim under a hold consumer, without counting a delivery; the claim awaits `onDeadLetter`
 * and then dead-letters it, or leaves it held until its lease ends when the hook rejects.
 *
 * Waiting claims block on `XREAD` over a second connection, after the last id each stream had,
 * so a message enqueued (or a group member promoted) at any moment wakes them.
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
  if (!validLimit(maxDeliveries)) {
    throw new InvalidOptionError(
      `[loopwork:redis] maxDeliveries must be a positive integer, got ${options.maxDeliveries}`,
    );
  }
  if (options.hashTag !== undefined && !/^[^{}]+$/.test(options.hashTag)) {
    throw new InvalidOptionError(
      `[loopwork:redis] hashTag must be a non-empty string without braces, got ${JSON.stringify(options.hashTag)}`,
    );
  }
  // Every claim and settle names its queue's keys: built once per queue, not per call.
  const keyCache = new Map<string, ReturnType<typeof queueKeys>>();
  const keysOf = (queue: string) => {
    let keys = keyCache.get(queue);
    if (!keys) {
      keys = queueKeys(prefix, queue, options.hashTag);
      keyCache.set(queue, keys);
    }
    return keys;
  };
  // One blocking XREAD may only name keys of one slot on a Cluster: there, without a hashTag,
  // a claim over several queues waits on each queue's streams apart.
  const waitApart = isCluster(options.client) && options.hashTag === undefined;
  const waitReplicas = options.waitReplicas ?? 0;
  const replicaTimeoutMs = options.replicaTimeoutMs ?? 1000;
  if (!(Number.isInteger(waitReplicas) && waitReplicas >= 0)) {
    throw new InvalidOptionError(
      `[loopwork:redis] waitReplicas must be a non-negative integer, got ${options.waitReplicas}`,
    );
  }
  if (!positiveInteger(replicaTimeoutMs)) {
    throw new InvalidOptionError(
      `[loopwork:redis] replicaTimeoutMs must be a positive integer, got ${options.replicaTimeoutMs}`,
    );
  }
  const client = options.client as ScriptClient;
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  /**
   * Runs script `name`; with `waitReplicas`, in one pipeline with `WAIT`, which then goes to the
   * node that ran the script (on a Cluster, the pipeline's node is the slot's master).
   */
  async function run(
    name: keyof typeof SCRIPTS,
    ...args: Array<string | number>
  ): Promise<unknown> {
    if (waitReplicas === 0) return client[name](...args);
    const pipeline = client.pipeline() as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    > & {
      wait(
        replicas: number,
        timeoutMs: number,
      ): { exec(): Promise<Array<[Error | null, unknown]>> };
    };
    pipeline[name]?.(...args);
    const [[error, result] = [null, undefined], [waitError, acked] = [null, 0]] =
      (await pipeline.wait(waitReplicas, replicaTimeoutMs).exec()) ?? [];
    if (error) throw error;
    if (waitError) throw waitError;
    if (Number(acked) < waitReplicas) {
      throw new ReplicationError(
        `[loopwork:redis] ${name} reached ${acked} of ${waitReplicas} replicas within ${replicaTimeoutMs} ms (waitReplicas): the master has it, a failover now may lose it`,
      );
    }
    return result;
  }
  const readyGroups = new Set<string>();
  const connections = new Set<RedisClient>();
  const idle: RedisClient[] = [];
  let rotation = 0;
  let closed = false;

  async function ensureGroups(queue: string, force = false): Promise<void> {
    if (readyGroups.has(queue) && !force) return;
    for (const stream of keysOf(queue).streams) {
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

  /**
   * One claim script run on one queue; `limit` is the delivery limit that applies. With `start`
   * (the joint claimAndStart), the runs of fresh messages are started in the same script.
   */
  async function claimFrom(
    queue: string,
    claim: ClaimOptions,
    max: number,
    limit: number,
    start: Array<string | number> | undefined,
  ) {
    const keys = keysOf(queue);
    const [taken, held, nextDue, lastIds] = (await run(
      start ? 'claimStart' : 'claim',
      keys.delayed,
      keys.leases,
      ...keys.streams,
      group,
      claim.consumer,
      max,
      claim.leaseMs,
      Number.isFinite(limit) ? limit : 0,
      HOLD,
      ...(start ?? []),
    )) as [Taken[], Taken[], number, string[]];
    const toMessage = ([level, streamId, list, count]: Taken, consumer: string) => {
      const fields = fieldsOf(list);
      const receipt: Receipt = {
        level,
        streamId,
        consumer,
        count: Number(count),
        ...(fields.g === undefined ? {} : { group: fields.g }),
      };
      const message: ClaimedMessage = {
        id: fields.id ?? streamId,
        queue,
        body: fields.body ?? '',
        deliveryCount: Number(fields.dc0 ?? 0) + Number(count),
        receipt: JSON.stringify(receipt),
        ...(fields.g === undefined ? {} : { groupId: fields.g }),
      };
      return message;
    };
    return {
      messages: taken.map(
        (entry): StartedClaim => ({
          message: toMessage(entry, claim.consumer),
          ...(Array.isArray(entry[4]) ? { started: fromPairs(entry[4]) } : {}),
        }),
      ),
      held: held.map((entry): Held => {
        const message = toMessage(entry, HOLD);
        const deliveries = message.deliveryCount;
        const letter: DeadLetter = {
          id: message.id,
          queue,
          body: message.body,
          reason: `delivered ${deliveries} times without being settled (maxDeliveries ${limit})`,
          deliveryCount: deliveries,
        };
        return { message, letter };
      }),
      nextDue: Number(nextDue),
      lastIds,
    };
  }

  /**
   * Dead-letters a held message, telling `onDeadLetter` first (see ClaimOptions); true when the
   * letter was written. When the hook rejects, the message stays held and comes back after its
   * lease, to be tried again.
   */
  async function deadLetterHeld(
    { message, letter }: Held,
    onDeadLetter: ClaimOptions['onDeadLetter'],
  ): Promise<boolean> {
    try {
      await onDeadLetter?.(letter);
    } catch {
      return false;
    }
    // Refused when the hook outlived the lease and someone else took the message meanwhile.
    return settle(message, 'deadLetter', letter.reason);
  }

  /**
   * Blocks until an entry newer than its `after` lands in a stream of one of the `waits`, or
   * `waitMs` passes. Each wait is one XREAD on its own connection; when the first returns, the
   * others are cut off (their connections closed, as an abort does).
   */
  async function waitForNew(waits: Wait[], waitMs: number, signal?: AbortSignal): Promise<void> {
    const [only] = waits;
    if (waits.length === 1 && only) return blockOn(only.streams, only.after, waitMs, signal);
    const race = new AbortController();
    const onAbort = () => race.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race(
        waits.map((wait) => blockOn(wait.streams, wait.after, waitMs, race.signal)),
      );
    } finally {
      race.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Blocks until an entry newer than `after` lands in one of the streams, or `waitMs` passes. */
  async function blockOn(
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

  /** Runs a fenced settle script (ack, release, deadLetter); false when the delivery is not ours any more. */
  async function settle(
    message: ClaimedMessage,
    script: 'ack' | 'release' | 'deadLetter',
    ...extra: Array<string | number>
  ): Promise<boolean> {
    const { keys, args } = settleScript(message);
    const ok = await run(script, ...keys, ...args, ...extra);
    return Number(ok) === 1;
  }

  /** {@link settle}, rejecting with LeaseLostError when the delivery is not ours any more. */
  async function fenced(
    message: ClaimedMessage,
    operation: string,
    script: 'ack' | 'release' | 'deadLetter',
    ...extra: Array<string | number>
  ): Promise<void> {
    if (!(await settle(message, script, ...extra))) throw lost(message, operation);
  }

  /** Keys and arguments of the enqueue script (see ENQUEUE in scripts.ts), its streams' group made. */
  async function enqueueScript(name: string, body: string, enqueueOptions: EnqueueOptions) {
    const level = enqueueOptions.priority ?? 'normal';
    if (!LEVELS.includes(level)) {
      throw new InvalidOptionError(
        `[loopwork:redis] priority must be 'high', 'normal' or 'low', got ${JSON.stringify(level)}`,
      );
    }
    await ensureGroups(name);
    const keys = keysOf(name);
    const { groupId } = enqueueOptions;
    const delayMs = Math.max(0, Math.round(enqueueOptions.delayMs ?? 0));
    return {
      keys: [
        ...keys.streams,
        keys.delayed,
        keys.dedupe,
        keys.groups,
        groupId === undefined ? keys.groups : keys.group(groupId),
      ],
      args: [
        randomUUID(),
        body,
        enqueueOptions.dedupeId ?? '',
        delayMs,
        level,
        groupId === undefined ? '0' : '1',
        groupId ?? '',
      ],
    };
  }

  /** The settle scripts' keys and first arguments for `message` (see SETTLE_PRELUDE in scripts.ts). */
  function settleScript(message: ClaimedMessage) {
    const receipt = receiptOf(message);
    return {
      keys: keysOf(message.queue).settle(receipt.group),
      args: [
        group,
        receipt.streamId,
        receipt.consumer,
        receipt.count,
        receipt.level,
        receipt.group ?? '',
      ],
    };
  }

  /** A claim (see Queue.claim); with `start`, claimAndStart's (see jointWith). */
  async function claimWith(
    queues: readonly string[],
    claim: ClaimOptions,
    start?: Array<string | number>,
  ): Promise<StartedClaim[]> {
    const max = claim.max ?? 1;
    if (!positiveInteger(max)) {
      throw new InvalidOptionError(`[loopwork:redis] max must be a positive integer, got ${max}`);
    }
    if (claim.maxDeliveries !== undefined && !validLimit(claim.maxDeliveries)) {
      throw new InvalidOptionError(
        `[loopwork:redis] maxDeliveries must be a positive integer, got ${claim.maxDeliveries}`,
      );
    }
    if (claim.consumer === HOLD) {
      throw new InvalidOptionError(
        `[loopwork:redis] consumer "${HOLD}" is reserved for messages being dead-lettered`,
      );
    }
    const limit = Math.min(maxDeliveries, claim.maxDeliveries ?? Number.POSITIVE_INFINITY);
    const deadline = Date.now() + (claim.waitMs ?? 0);
    return withGroups(queues, async () => {
      while (!closed && !claim.signal?.aborted) {
        const taken: StartedClaim[] = [];
        const waits: Wait[] = [];
        let nextDue = Number.POSITIVE_INFINITY;
        let deadLettered = false;
        // Start from a different queue each claim, so a busy queue cannot starve the others.
        const first = rotation++ % queues.length;
        for (const name of [...queues.slice(first), ...queues.slice(0, first)]) {
          const result = await claimFrom(name, claim, max - taken.length, limit, start);
          taken.push(...result.messages);
          for (const held of result.held) {
            if (await deadLetterHeld(held, claim.onDeadLetter)) deadLettered = true;
          }
          if (result.nextDue >= 0) nextDue = Math.min(nextDue, result.nextDue);
          const wait = waitApart ? undefined : waits[0];
          if (wait) {
            wait.streams.push(...keysOf(name).streams);
            wait.after.push(...result.lastIds);
          } else waits.push({ streams: [...keysOf(name).streams], after: [...result.lastIds] });
          if (taken.length >= max) break;
        }
        const remaining = deadline - Date.now();
        if (taken.length > 0 || remaining <= 0) return taken;
        // A dead letter may have made the next member of its group claimable.
        if (deadLettered) continue;
        // Sleep until something may be claimable: a new entry, a due delay or an expiring lease.
        await waitForNew(waits, Math.min(remaining, nextDue), claim.signal);
      }
      return [];
    });
  }

  /**
   * The joint steps with `runs` (see Queue.jointWith): offered for a Redis run store on this very
   * client whose keys can share a script with the queue's: always on one server; on a Cluster
   * only when the queues' `hashTag` is the run store's prefix, which puts both in one slot.
   */
  function jointWith(
    runs: RunStore,
    stores: { heartbeats?: HeartbeatStore | undefined; events?: EventLog | undefined } = {},
  ): QueueRunSteps | undefined {
    const handle = handleOf<RunStoreHandle>(runs, RUN_STORE_HANDLE);
    if (handle?.client !== options.client) return undefined;
    const cluster = isCluster(options.client);
    if (cluster && options.hashTag !== handle.prefix) return undefined;
    // Heartbeats with the runs' prefix share their slot; a run's event stream has a slot of its
    // own, so its append joins the final write on one server only.
    const beat = handleOf<HeartbeatStoreHandle>(stores.heartbeats, HEARTBEAT_STORE_HANDLE);
    const beats = beat?.client === options.client && beat.prefix === handle.prefix;
    const log = handleOf<EventLogHandle>(stores.events, EVENT_LOG_HANDLE);
    const appendsEvents = log?.client === options.client && !cluster;
    const logKeys = appendsEvents && log ? storeKeys(log.prefix) : undefined;
    const beatKeys = storeKeys(handle.prefix);
    /** claimStart's arguments for a first heartbeat (see scripts.ts), or none. */
    const firstBeat = (workerId: string, ttlMs: number | undefined) => {
      if (!beats || ttlMs === undefined) return ['', 0, 0, '', ''];
      if (!(Number.isFinite(ttlMs) && ttlMs > 0)) {
        throw new InvalidOptionError(
          `[loopwork:redis] claimAndStart: heartbeatTtlMs must be a positive number, got ${ttlMs}`,
        );
      }
      // As the heartbeat store's beat writes it: the same JSON, key, expiry and index entry.
      const expiresAt = Date.now() + ttlMs;
      return [
        JSON.stringify({ data: { workerId }, expiresAt }),
        Math.max(1, Math.ceil(ttlMs)),
        expiresAt,
        beatKeys.heartbeat(''),
        beatKeys.heartbeats,
      ];
    };
    return {
      beats,
      appendsEvents,
      async claimAndStart(queues, claim) {
        if (typeof claim.workerId !== 'string' || claim.workerId === '') {
          throw new InvalidOptionError(
            `[loopwork:redis] claimAndStart needs workerId, a non-empty string, got ${JSON.stringify(claim.workerId)}`,
          );
        }
        return claimWith(queues, claim, [
          ...handle.startArgs(claim.workerId),
          ...firstBeat(claim.workerId, claim.heartbeatTtlMs),
        ]);
      },
      async transitionAndAck(record, transition, message, event) {
        const { runId } = record;
        const settleWith = settleScript(message);
        const write = handle.transition(runId, transition);
        const append = event !== undefined && log && logKeys;
        // Fenced on the version `record` is at, the write leaves a record known but for its
        // updatedAt and version: the script answers those two, not the whole hash.
        const known = transition.version !== undefined && transition.version === record.version;
        const written = await run(
          'ackTransition',
          ...settleWith.keys,
          ...write.keys,
          append ? logKeys.events(runId) : write.keys[0]!,
          ...settleWith.args,
          append ? log.encode(event) : '',
          append ? log.retainMs : 0,
          known ? '1' : '',
          ...write.args,
        );
        if (!Array.isArray(written)) return undefined;
        return known
          ? recordAfter(record, transition, write.set, written as [string, string])
          : fromPairs(written as string[]);
      },
      async createAndEnqueue(record, name, body, enqueueOptions = {}) {
        const message = await enqueueScript(name, body, enqueueOptions);
        const create = handle.create(record);
        const result = await run(
          'createEnqueue',
          ...message.keys,
          ...create.keys,
          ...message.args,
          ...create.args,
        );
        if (!Array.isArray(result)) {
          throw new ConflictError(`[loopwork:redis] run "${record.runId}" already exists`, null, 1);
        }
        const [id, deduplicated] = result as [string, number];
        return { id, deduplicated: Number(deduplicated) === 1 };
      },
    };
  }

  const queue: Queue = {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'redis',
    capabilities: { priority: true, delay: true, dedupe: true, groups: true },

    async enqueue(name, body, enqueueOptions = {}) {
      const message = await enqueueScript(name, body, enqueueOptions);
      const [id, deduplicated] = (await run('enqueue', ...message.keys, ...message.args)) as [
        string,
        number,
      ];
      return { id, deduplicated: Number(deduplicated) === 1 };
    },

    claim: async (queues, claim) => (await claimWith(queues, claim)).map((taken) => taken.message),

    ack: (message) => fenced(message, 'ack', 'ack'),

    async release(message, releaseOptions = {}) {
      const delayMs = Math.max(0, Math.round(releaseOptions.delayMs ?? 0));
      await fenced(message, 'release', 'release', delayMs);
    },

    async extend(message, leaseMs) {
      const keys = keysOf(message.queue);
      const receipt = receiptOf(message);
      const ok = await run(
        'extend',
        keys.stream(receipt.level),
        keys.leases,
        group,
        receipt.streamId,
        receipt.consumer,
        receipt.count,
        receipt.level,
        Math.max(1, Math.round(leaseMs)),
      );
      if (Number(ok) !== 1) throw lost(message, 'extend');
    },

    async extendMany(messages, leaseMs) {
      // One script per queue (a queue's keys share a slot); the answers go back in input order.
      const byQueue = new Map<string, number[]>();
      messages.forEach((message, i) => {
        const positions = byQueue.get(message.queue) ?? [];
        positions.push(i);
        byQueue.set(message.queue, positions);
      });
      const receipts = messages.map(receiptOf);
      const answers: boolean[] = new Array(messages.length).fill(false);
      const ms = Math.max(1, Math.round(leaseMs));
      await Promise.all(
        [...byQueue].map(async ([name, positions]) => {
          const keys = keysOf(name);
          const renewed = (await run(
            'extendMany',
            ...keys.streams,
            keys.leases,
            group,
            ms,
            ...positions.flatMap((i) => {
              const receipt = receipts[i]!;
              return [receipt.streamId, receipt.consumer, receipt.count, receipt.level];
            }),
          )) as number[];
          positions.forEach((i, j) => {
            answers[i] = Number(renewed[j]) === 1;
          });
        }),
      );
      return answers;
    },

    jointWith,

    deadLetter: (message, reason) => fenced(message, 'dead-letter', 'deadLetter', reason),

    async deadLetters(name, listOptions = {}) {
      const entries = (await client.xrange(
        keysOf(name).dead,
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

    async removeDeadLetter(name, id) {
      assertDeadLetterRef('redis', name, id);
      const key = keysOf(name).dead;
      const streamId = await findDeadLetter(client, key, id);
      // Entry ids are never reused: the entry found is the letter while it exists, so XDEL alone
      // is the atomic step. Of two removals racing, one deletes it (true), the other finds it gone.
      return streamId !== undefined && Number(await client.xdel(key, streamId)) === 1;
    },

    async stats(name) {
      const keys = keysOf(name);
      const [seconds, micros] = await client.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const counted = await exec(
        client
          .multi()
          .xlen(keys.stream('high'))
          .xlen(keys.stream('normal'))
          .xlen(keys.stream('low'))
          .zcount(keys.leases, `(${now}`, '+inf')
          .zcard(keys.delayed)
          .xlen(keys.dead)
          .hkeys(keys.groups),
      );
      const [high, normal, low, leased, delayed, dead] = counted.map(Number) as number[];
      const groupIds = counted[6] as string[];
      // Later members of a group wait in its list until they become its head.
      let waiting = 0;
      if (groupIds.length > 0) {
        const batch = client.multi();
        for (const id of groupIds) batch.llen(keys.group(id));
        for (const length of await exec(batch)) waiting += Number(length);
      }
      // A stream holds ready and leased entries (an entry whose lease ran out is ready again).
      const inStreams = (high ?? 0) + (normal ?? 0) + (low ?? 0);
      return {
        ready: inStreams - (leased ?? 0) + waiting,
        delayed: delayed ?? 0,
        leased: leased ?? 0,
        deadLettered: dead ?? 0,
      };
    },

    async close() {
      closed = true;
      for (const connection of connections) connection.disconnect();
    },
  };
  return queue;
}
