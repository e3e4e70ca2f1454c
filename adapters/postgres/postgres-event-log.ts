import { createEventEncoder, type EventLog, InvalidOptionError, type LoggedEvent } from 'loopwork';
import type { Pool } from 'pg';
import { Listener } from './listener';
import { channelOf, checkPool, schemaOf, tableOf } from './schema';

/** Options of {@link createPostgresEventLog}. */
export interface PostgresEventLogOptions {
  /** A `pg` Pool; followers share one connection of it for `LISTEN`. The log never ends it. */
  pool: Pool;
  /** Schema that {@link migrate} created the tables in. @defaultValue 'loopwork' */
  schema?: string;
  /**
   * Largest event stored as is, in UTF-8 bytes of its JSON; a larger one is stored as an
   * `event-too-large` placeholder. @defaultValue `EVENT_LOG_DEFAULTS.maxEventBytes` (1 MiB)
   */
  maxEventBytes?: number;
  /**
   * Longest a follower waits before looking at the table again without a notification (bounds
   * the delay when one is lost, as while the listening connection reconnects). @defaultValue 2000
   */
  pollMs?: number;
}

/** Events fetched per round trip while following. */
const FOLLOW_PAGE = 32;

/** The sequence number an event id (`<seq>-0`) stands for; ids of other logs sort by their first part too. */
function seqOf(id: string | undefined): string {
  if (id === undefined) return '0';
  const first = id.split('-')[0] ?? '';
  if (!/^\d+$/.test(first)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] after must be an event id of this log (<number>-<number>), got ${JSON.stringify(id).slice(0, 60)}`,
    );
  }
  return first;
}

/**
 * The per-run output stream in Postgres: one row per event (`events`), numbered per run by a
 * counter row (`event_seq`) that serializes a run's appends, so ids are gap-free and commit in
 * order — a reader after id N can never miss an event committed later with a smaller id. Each
 * append sends `NOTIFY` with the run id only (payloads are capped near 8 KB; events are not), and
 * followers read the rows. `follow()` reads the history, then waits for notifications on a
 * shared `LISTEN` connection; when that breaks it reconnects by itself and every follower looks
 * again, and a follower whose read fails (the server restarting) retries until it is aborted.
 *
 * Ids are `<seq>-0`, ordered by `compareEventIds` (from `loopwork`) like the other logs' ids, so they are
 * what SSE clients send back as `Last-Event-ID`.
 *
 * @example
 * ```ts
 * const events = createPostgresEventLog({ pool, schema: 'loopwork' });
 * for await (const event of events.follow(runId, { signal })) console.log(event.id, event.data);
 * ```
 */
export function createPostgresEventLog(options: PostgresEventLogOptions): EventLog {
  checkPool(options.pool);
  const schema = schemaOf(options);
  const { pool } = options;
  const pollMs = options.pollMs ?? 2_000;
  if (!(Number.isInteger(pollMs) && pollMs > 0)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] pollMs must be a positive integer, got ${options.pollMs}`,
    );
  }
  const encode = createEventEncoder(options.maxEventBytes, 'postgres');
  const events = tableOf(schema, 'events');
  const counters = tableOf(schema, 'event_seq');
  const channel = channelOf(schema, 'events');
  const listener = new Listener(pool, channel);

  async function read(runId: string, after: string | undefined, limit: number) {
    const { rows } = await pool.query<{ seq: string; data: string }>(
      `select seq, data from ${events} where run_id = $1 and seq > $2::numeric order by seq limit $3`,
      [runId, seqOf(after), limit],
    );
    return rows.map((row): LoggedEvent => ({ id: `${row.seq}-0`, data: JSON.parse(row.data) }));
  }

  const pause = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });

  return {
    specificationVersion: 'loopwork.event-log.v1',
    async append(runId, data) {
      const { rows } = await pool.query<{ seq: string }>(
        `with counter as (
          insert into ${counters} (run_id, last) values ($1, 1)
          on conflict (run_id) do update set last = ${counters}.last + 1
          returning last
        ), event as (
          insert into ${events} (run_id, seq, data) select $1, last, $2 from counter returning seq
        )
        select seq, pg_notify($3, $1) is null as n from event`,
        [runId, encode(data).json, channel],
      );
      return `${rows[0]!.seq}-0`;
    },
    read: (runId, readOptions = {}) => read(runId, readOptions.after, readOptions.limit ?? 10_000),
    async *follow(runId, followOptions = {}) {
      const { signal } = followOptions;
      let cursor = followOptions.after;
      seqOf(cursor);
      let failures = 0;
      while (!signal?.aborted) {
        const mark = listener.mark(runId);
        let page: LoggedEvent[];
        try {
          page = await read(runId, cursor, FOLLOW_PAGE);
          failures = 0;
        } catch (error) {
          // The server is away (restarting): look again, backing off, until it answers or we stop.
          if (signal?.aborted) return;
          if (++failures > 1_000) throw error;
          await pause(Math.min(100 * failures, pollMs), signal);
          continue;
        }
        for (const event of page) {
          cursor = event.id;
          yield event;
          if (signal?.aborted) return;
        }
        if (page.length < FOLLOW_PAGE) await listener.wait(runId, mark, pollMs, signal);
      }
    },
  };
}
