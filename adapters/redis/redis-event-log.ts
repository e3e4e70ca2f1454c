import {
  createEventEncoder,
  type EventLog,
  InvalidOptionError,
  type LoggedEvent,
  STORE_DEFAULTS,
} from 'loopwork';
import { duplicateOf } from './duplicate';
import { EVENT_LOG_HANDLE, type EventLogHandle } from './handles';
import { storeKeys } from './keys';
import type { RedisStoreOptions } from './redis-stores';

/** Options of {@link createRedisEventLog}. */
export interface RedisEventLogOptions extends RedisStoreOptions {
  /** Each run's stream expires this long after its last event. @defaultValue STORE_DEFAULTS.eventRetentionMs (7 days) */
  retainMs?: number;
  /** Longest single blocking read while following (the loop re-checks its signal between). @defaultValue 5000 */
  blockMs?: number;
  /**
   * Largest event stored as is, in UTF-8 bytes of its JSON; a larger one is stored as an
   * `event-too-large` placeholder. @defaultValue `EVENT_LOG_DEFAULTS.maxEventBytes` (1 MiB)
   */
  maxEventBytes?: number;
}

/** The greatest stream id: nothing can come after it, and Redis refuses `(` + it as a range start. */
const LAST_POSSIBLE_ID = '18446744073709551615-18446744073709551615';

/** Events fetched per round trip while following. */
const FOLLOW_PAGE = 32;

type Entry = [id: string, fields: string[]];

/**
 * KEYS: the run's stream. ARGV: the event's JSON, retainMs. → the entry id. One script, not a
 * MULTI: the worker appends per task, and a transaction costs two commands more and a pipeline
 * object on the client.
 */
const APPEND = {
  numberOfKeys: 1,
  lua: `
local id = redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id`,
};
type AppendClient = RedisStoreOptions['client'] & {
  loopworkAppendEvent(key: string, json: string, retainMs: number): Promise<string>;
};

const toEvent = ([id, fields]: Entry): LoggedEvent => ({
  id,
  data: JSON.parse(fields[1] ?? 'null'),
});

/**
 * The per-run output stream on Redis Streams (what a run's SSE clients read): `XADD` to append,
 * `XRANGE` for history after an id, and a blocking `XREAD` to follow live. Event ids are the
 * stream ids, so they are exactly what an SSE client sends back as `Last-Event-ID`.
 *
 * Each follower holds its own connection while it blocks; it is closed when the follower stops.
 *
 * @example
 * ```ts
 * const events = createRedisEventLog({ client: redis, retainMs: 24 * 3_600_000 });
 * ```
 */
export function createRedisEventLog(options: RedisEventLogOptions): EventLog {
  if (!('loopworkAppendEvent' in options.client))
    options.client.defineCommand('loopworkAppendEvent', APPEND);
  const client = options.client as AppendClient;
  const keys = storeKeys(options.prefix ?? 'loopwork');
  const blockMs = options.blockMs ?? 5_000;
  const retainMs = options.retainMs ?? STORE_DEFAULTS.eventRetentionMs;
  for (const [name, value] of Object.entries({ retainMs, blockMs })) {
    if (!(Number.isFinite(value) && value > 0))
      throw new InvalidOptionError(
        `[loopwork:redis] ${name} must be a positive number, got ${value}`,
      );
  }
  const encode = createEventEncoder(options.maxEventBytes, 'redis');
  const prefix = options.prefix ?? 'loopwork';

  async function read(
    runId: string,
    after: string | undefined,
    limit: number,
  ): Promise<LoggedEvent[]> {
    if (after === LAST_POSSIBLE_ID) return [];
    const start = after === undefined ? '-' : `(${after}`;
    const entries = (await client.xrange(
      keys.events(runId),
      start,
      '+',
      'COUNT',
      limit,
    )) as Entry[];
    return entries.map(toEvent);
  }

  const log: EventLog = {
    specificationVersion: 'loopwork.event-log.v1',
    async append(runId, data) {
      return client.loopworkAppendEvent(keys.events(runId), encode(data).json, retainMs);
    },
    async appendMany(runId, data) {
      const key = keys.events(runId);
      const transaction = client.multi();
      for (const item of data) transaction.xadd(key, '*', 'data', encode(item).json);
      const replies = ((await transaction.pexpire(key, retainMs).exec()) ?? []) as Array<
        [Error | null, unknown]
      >;
      const failed = replies.find(([error]) => error);
      if (failed) throw failed[0];
      return replies.slice(0, data.length).map(([, id]) => id as string);
    },
    read: (runId, readOptions = {}) => read(runId, readOptions.after, readOptions.limit ?? 10_000),
    async *follow(runId, followOptions = {}) {
      const signal = followOptions.signal;
      let cursor = followOptions.after;
      // History first, in pages, then live. A page is small because an event may be up to
      // maxEventBytes: 32 of them bound what one follower holds to 32 MiB at the default.
      while (!signal?.aborted) {
        const page = await read(runId, cursor, FOLLOW_PAGE);
        for (const event of page) {
          cursor = event.id;
          yield event;
          if (signal?.aborted) return;
        }
        if (page.length < FOLLOW_PAGE) break;
      }
      const connection = duplicateOf(client);
      const onAbort = () => connection.disconnect();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        while (!signal?.aborted) {
          const result = (await connection
            .xread(
              'COUNT',
              FOLLOW_PAGE,
              'BLOCK',
              blockMs,
              'STREAMS',
              keys.events(runId),
              cursor ?? '0',
            )
            .catch((error: unknown) => {
              if (signal?.aborted) return null;
              throw error;
            })) as Array<[string, Entry[]]> | null;
          for (const entry of result?.[0]?.[1] ?? []) {
            const event = toEvent(entry);
            cursor = event.id;
            yield event;
            if (signal?.aborted) return;
          }
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        connection.disconnect();
      }
    },
  };
  // For the queue's final write, which may append the run's task-finished event (see handles.ts).
  const handle: EventLogHandle = {
    client: options.client,
    prefix,
    retainMs,
    encode: (data) => encode(data).json,
  };
  Object.defineProperty(log, EVENT_LOG_HANDLE, { value: handle });
  return log;
}
