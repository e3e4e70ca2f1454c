import { randomUUID } from 'node:crypto';
import {
  type ClaimedMessage,
  type ClaimOptions,
  ConflictError,
  type DeadLetter,
  InvalidOptionError,
  LeaseLostError,
  type Priority,
  type Queue,
  type QueueRunSteps,
  type RunStore,
} from 'loopwork';
import { assertDeadLetterRef } from 'loopwork/adapter-kit';
import type { Pool, PoolClient } from 'pg';
import { Listener } from './listener';
import { POSTGRES_RUN_STORE_HANDLE, type PostgresRunStoreHandle } from './postgres-run-store';
import { channelOf, checkPool, schemaOf, tableOf } from './schema';

/** Options of {@link createPostgresQueue}. */
export interface PostgresQueueOptions {
  /**
   * A `pg` Pool, or a client inside your transaction (then `enqueue` commits or rolls back with
   * your own writes; see docs/postgres.md). The adapter never ends or releases it.
   */
  pool: Pool | PoolClient;
  /** Schema that {@link migrate} created the tables in. @defaultValue 'loopwork' */
  schema?: string;
  /**
   * A message delivered this many times is dead-lettered instead of delivered again; a claim's
   * own `maxDeliveries` may lower it. @defaultValue unlimited
   */
  maxDeliveries?: number;
  /**
   * Longest a waiting claim sleeps between looks at the table. Notifications wake it sooner;
   * this bounds the wait when one is lost (the listening connection broke). @defaultValue 2000
   */
  pollMs?: number;
}

/** The consumer name of a message held while `onDeadLetter` runs; claims under it are refused. */
const HOLD = 'loopwork:dead-letter';
const LEVELS: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

const positiveInteger = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;
const validLimit = (value: number) => value === Number.POSITIVE_INFINITY || positiveInteger(value);

interface ClaimedRow {
  id: string;
  queue: string;
  body: string;
  deliveries: number;
  receipt: string;
  group_id: string | null;
  held: boolean;
  priority: number;
  seq: string;
}

/** True for a Pool (its clients can LISTEN); false for a single client (a transaction's). */
const isPool = (pool: Pool | PoolClient): pool is Pool =>
  typeof (pool as Pool).totalCount === 'number';

/**
 * A {@link Queue} in one Postgres table (`messages`; dead letters in `dead_letters`), for the
 * database an application already runs. A claim is one statement: it picks ready rows in
 * priority then enqueue order with `FOR UPDATE SKIP LOCKED` (so concurrent consumers never wait
 * on or take each other's rows), and leases them by setting `available_at` to the lease's end
 * and a fresh `receipt`. A lease that runs out simply makes the row ready again; every settle
 * names the receipt, so a delivery that was superseded is refused with `LeaseLostError`.
 *
 * Delay is a future `available_at`; dedupe is a unique index on `(queue, dedupe_id)` of live
 * rows; a group's member is claimable only when no older member of the group is left (so one
 * at a time, in order). Time is the database's clock, never the workers'.
 *
 * Waiting claims sleep until the next row falls due, or a `NOTIFY` (carrying the queue name
 * only) from an enqueue, release or group hand-over wakes them; they take one connection from
 * the pool for `LISTEN`, given back a second after the last wait ends.
 *
 * Needs the tables of {@link migrate}.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg';
 * import { createPostgresQueue, migrate } from 'loopwork/postgres';
 *
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate({ pool });
 * const queue = createPostgresQueue({ pool, maxDeliveries: 5 });
 * ```
 */
export function createPostgresQueue(options: PostgresQueueOptions): Queue {
  checkPool(options.pool);
  const schema = schemaOf(options);
  const maxDeliveries = options.maxDeliveries ?? Number.POSITIVE_INFINITY;
  if (!validLimit(maxDeliveries)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] maxDeliveries must be a positive integer, got ${options.maxDeliveries}`,
    );
  }
  const pollMs = options.pollMs ?? 2_000;
  if (!positiveInteger(pollMs)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] pollMs must be a positive integer, got ${options.pollMs}`,
    );
  }
  const { pool } = options;
  const messages = tableOf(schema, 'messages');
  const dead = tableOf(schema, 'dead_letters');
  const channel = channelOf(schema, 'queue');
  const listener = isPool(pool) ? new Listener(pool, channel) : undefined;
  const aborter = new AbortController();
  let closed = false;

  /** Rows a claim may take: ready, and each group's oldest member only. */
  const claimable = `m.queue = any($1::text[]) and m.available_at <= now()
    and (m.group_id is null or not exists (
      select 1 from ${messages} g where g.queue = m.queue and g.group_id = m.group_id and g.seq < m.seq))`;

  function lost(message: ClaimedMessage, operation: string): LeaseLostError {
    return new LeaseLostError(
      `[loopwork:postgres] cannot ${operation} message ${message.id} of "${message.queue}": its lease was lost (delivered again or settled elsewhere)`,
    );
  }

  /** One claim statement; `limit` is the delivery limit that applies (Infinity: none). */
  async function claimOnce(
    queues: readonly string[],
    claim: ClaimOptions,
    max: number,
    limit: number,
  ) {
    const { rows } = await pool.query<ClaimedRow>(
      `with picked as (
        select m.id from ${messages} m
        where ${claimable}
        order by m.priority, m.seq
        limit $2
        for update of m skip locked
      )
      update ${messages} m set
        deliveries = m.deliveries + case when m.deliveries >= $5 then 0 else 1 end,
        consumer = case when m.deliveries >= $5 then $6 else $3 end,
        receipt = gen_random_uuid()::text,
        available_at = now() + $4 * interval '1 millisecond'
      from picked where m.id = picked.id
      returning m.id, m.queue, m.body, m.deliveries, m.receipt, m.group_id, m.priority, m.seq,
        m.consumer = $6 as held`,
      [
        queues,
        max,
        claim.consumer,
        claim.leaseMs,
        Number.isFinite(limit) ? limit : 2 ** 31 - 1,
        HOLD,
      ],
    );
    rows.sort((a, b) => a.priority - b.priority || Number(BigInt(a.seq) - BigInt(b.seq)));
    const toMessage = (row: ClaimedRow): ClaimedMessage => ({
      id: row.id,
      queue: row.queue,
      body: row.body,
      deliveryCount: row.deliveries,
      receipt: row.receipt,
      ...(row.group_id === null ? {} : { groupId: row.group_id }),
    });
    return {
      taken: rows.filter((row) => !row.held).map(toMessage),
      held: rows.filter((row) => row.held).map(toMessage),
    };
  }

  /** Milliseconds until the next row of `queues` may become claimable (a delay or a lease ending). */
  async function nextDue(queues: readonly string[]): Promise<number> {
    const { rows } = await pool.query<{ ms: number | null }>(
      `select extract(epoch from min(m.available_at) - now()) * 1000 as ms from ${messages} m
       where m.queue = any($1::text[]) and (m.group_id is null or not exists (
         select 1 from ${messages} g where g.queue = m.queue and g.group_id = m.group_id and g.seq < m.seq))`,
      [queues],
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? Number.POSITIVE_INFINITY : Number(ms);
  }

  /**
   * Dead-letters a held message, telling `onDeadLetter` first; true when the letter was
   * written. When the hook rejects, the row stays held and comes back after its lease.
   */
  async function deadLetterHeld(
    message: ClaimedMessage,
    limit: number,
    onDeadLetter: ClaimOptions['onDeadLetter'],
  ): Promise<boolean> {
    const letter: DeadLetter = {
      id: message.id,
      queue: message.queue,
      body: message.body,
      reason: `delivered ${message.deliveryCount} times without being settled (maxDeliveries ${limit})`,
      deliveryCount: message.deliveryCount,
    };
    try {
      await onDeadLetter?.(letter);
    } catch {
      return false;
    }
    return moveToDead(message, letter.reason);
  }

  async function moveToDead(message: ClaimedMessage, reason: string): Promise<boolean> {
    const { rows } = await pool.query<{ n: string }>(
      `with d as (
        delete from ${messages} where id = $1 and receipt = $2
        returning id, queue, body, deliveries, group_id
      ), letter as (
        insert into ${dead} (id, queue, body, reason, deliveries, group_id)
        select id, queue, body, $3, deliveries, group_id from d returning group_id
      )
      select count(*) as n, count(pg_notify($4, $5)) filter (where group_id is not null) as woke
      from letter`,
      [message.id, message.receipt, reason, channel, message.queue],
    );
    return Number(rows[0]?.n) === 1;
  }

  /**
   * The joint steps with `runs` (see Queue.jointWith): offered for a Postgres run store on this
   * very pool, whose writes can then share a statement with the queue's. A run's final write and
   * its ack are one statement, with no read before it when the caller's record is at the version
   * the write is fenced on, as the worker's is (one round trip, not three); a dispatch's record and
   * message are one statement (one, not two).
   */
  function jointWith(runs: RunStore): QueueRunSteps | undefined {
    const handle = (runs as { [POSTGRES_RUN_STORE_HANDLE]?: PostgresRunStoreHandle })[
      POSTGRES_RUN_STORE_HANDLE
    ];
    if (handle?.pool !== pool) return undefined;
    return {
      async transitionAndAck(record, transition, message) {
        const { runId } = record;
        // Fenced on the version `record` is at: that is the row as stored, or the update will
        // not apply (and the transition would not either). No read needed.
        const known = transition.version !== undefined && transition.version === record.version;
        let row = known ? { version: record.version, record } : await handle.read(runId);
        for (;;) {
          if (!row) return undefined;
          const updated = handle.next(row.record, transition);
          if (!updated) return undefined;
          // The ack only when the update applied; a receipt that is not ours any more deletes
          // nothing, and the write stands (as a worker's ack after its final write).
          const { rows } = await pool.query<{ applied: string }>(
            `with u as (
              update ${handle.table} set status = $3, clock = $4, version = $5, record = $6
              where run_id = $1 and version = $2 returning 1
            ), d as (
              delete from ${messages} where id = $7 and receipt = $8 and exists (select 1 from u)
              returning group_id
            )
            select (select count(*) from u) as applied,
              (select count(pg_notify($9, $10)) from d where group_id is not null) as woke`,
            [
              runId,
              row.version,
              ...handle.updateValues(updated),
              message.id,
              message.receipt,
              channel,
              message.queue,
            ],
          );
          if (Number(rows[0]?.applied) === 1) return updated;
          if (known) return undefined;
          // Someone wrote the run between the read and the update: judge it again.
          row = await handle.read(runId);
        }
      },
      async createAndEnqueue(record, name, body, enqueueOptions = {}) {
        const level = levelOf(enqueueOptions.priority);
        const insert = handle.insert(record);
        const at = insert.values.length;
        const dedupeId = enqueueOptions.dedupeId ?? null;
        const { rows } = await pool.query<{ created: string; id: string | null }>(
          `with r as (
            insert into ${handle.table} (${insert.columns})
            values (${insert.values.map((_, i) => `$${i + 1}`).join(', ')})
            on conflict (run_id) do nothing returning run_id
          ), ins as (
            insert into ${messages} (id, queue, body, priority, available_at, dedupe_id, group_id)
            select $${at + 1}, $${at + 2}, $${at + 3}, $${at + 4},
              now() + $${at + 5} * interval '1 millisecond', $${at + 6}, $${at + 7}
            where exists (select 1 from r)
            on conflict (queue, dedupe_id) where dedupe_id is not null do nothing
            returning id
          )
          select (select count(*) from r) as created, (select id from ins) as id,
            (select pg_notify($${at + 8}, $${at + 2}) from ins) is null as n`,
          [
            ...insert.values,
            randomUUID(),
            name,
            body,
            LEVELS[level],
            Math.max(0, Math.round(enqueueOptions.delayMs ?? 0)),
            dedupeId,
            enqueueOptions.groupId ?? null,
            channel,
          ],
        );
        if (Number(rows[0]?.created) !== 1) {
          throw new ConflictError(
            `[loopwork:postgres] run "${record.runId}" already exists`,
            null,
            1,
          );
        }
        const id = rows[0]?.id;
        if (id) return { id, deduplicated: false };
        // The run is new but a live message has its dedupe id (a leftover): that one stands.
        const { rows: existing } = await pool.query<{ id: string }>(
          `select id from ${messages} where queue = $1 and dedupe_id = $2`,
          [name, dedupeId],
        );
        if (existing[0]) return { id: existing[0].id, deduplicated: true };
        // It was settled meanwhile: enqueue as a plain enqueue would.
        return queue.enqueue(name, body, enqueueOptions);
      },
    };
  }

  /** A checked priority level (InvalidOptionError naming `priority`). */
  function levelOf(priority: Priority | undefined): Priority {
    const level = priority ?? 'normal';
    if (!(level in LEVELS)) {
      throw new InvalidOptionError(
        `[loopwork:postgres] priority must be 'high', 'normal' or 'low', got ${JSON.stringify(level)}`,
      );
    }
    return level;
  }

  const queue: Queue = {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'postgres',
    jointWith,
    capabilities: { priority: true, delay: true, dedupe: true, groups: true },

    async enqueue(name, body, enqueueOptions = {}) {
      const level = levelOf(enqueueOptions.priority);
      const delayMs = Math.max(0, Math.round(enqueueOptions.delayMs ?? 0));
      const dedupeId = enqueueOptions.dedupeId ?? null;
      // The dedupe row may be settled, or committed by someone else, between the insert's
      // conflict check and the lookup: look again (ON CONFLICT never raises, so a caller's
      // transaction is never aborted by a duplicate).
      for (let round = 0; round < 10; round++) {
        const { rows } = await pool.query<{ id: string; deduplicated: boolean }>(
          `with ins as (
            insert into ${messages} (id, queue, body, priority, available_at, dedupe_id, group_id)
            values ($1, $2, $3, $4, now() + $5 * interval '1 millisecond', $6, $7)
            on conflict (queue, dedupe_id) where dedupe_id is not null do nothing
            returning id
          )
          select id, false as deduplicated, pg_notify($8, $2) is null as n from ins
          union all
          select id, true, false from ${messages}
          where $6::text is not null and queue = $2 and dedupe_id = $6 and not exists (select 1 from ins)`,
          [
            randomUUID(),
            name,
            body,
            LEVELS[level],
            delayMs,
            dedupeId,
            enqueueOptions.groupId ?? null,
            channel,
          ],
        );
        const row = rows[0];
        if (row) return { id: row.id, deduplicated: row.deduplicated };
      }
      throw new Error(
        `[loopwork:postgres] enqueue with dedupeId ${JSON.stringify(dedupeId)} kept racing; try again`,
      );
    },

    async claim(queues, claim) {
      const max = claim.max ?? 1;
      if (!positiveInteger(max)) {
        throw new InvalidOptionError(
          `[loopwork:postgres] max must be a positive integer, got ${max}`,
        );
      }
      if (!positiveInteger(claim.leaseMs)) {
        throw new InvalidOptionError(
          `[loopwork:postgres] leaseMs must be a positive integer, got ${claim.leaseMs}`,
        );
      }
      if (claim.maxDeliveries !== undefined && !validLimit(claim.maxDeliveries)) {
        throw new InvalidOptionError(
          `[loopwork:postgres] maxDeliveries must be a positive integer, got ${claim.maxDeliveries}`,
        );
      }
      if (claim.consumer === HOLD) {
        throw new InvalidOptionError(
          `[loopwork:postgres] consumer "${HOLD}" is reserved for messages being dead-lettered`,
        );
      }
      const limit = Math.min(maxDeliveries, claim.maxDeliveries ?? Number.POSITIVE_INFINITY);
      const deadline = Date.now() + (claim.waitMs ?? 0);
      const signal = claim.signal
        ? AbortSignal.any([claim.signal, aborter.signal])
        : aborter.signal;
      while (!closed && !signal.aborted) {
        // Marks first: a notification that lands while we look is not missed.
        const marks = queues.map((name) => listener?.mark(name) ?? '');
        const { taken, held } = await claimOnce(queues, claim, max, limit);
        let deadLettered = false;
        for (const message of held) {
          if (await deadLetterHeld(message, limit, claim.onDeadLetter)) deadLettered = true;
        }
        const remaining = deadline - Date.now();
        if (taken.length > 0 || remaining <= 0) return taken;
        // A dead letter may have made the next member of its group claimable.
        if (deadLettered || held.length > 0) continue;
        const sleepMs = Math.min(remaining, pollMs, Math.max(5, await nextDue(queues)));
        if (!listener) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, sleepMs);
            function done() {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              resolve();
            }
            signal.addEventListener('abort', done, { once: true });
          });
          continue;
        }
        // Woken by the first of the queues to be notified.
        const waits = new AbortController();
        const both = AbortSignal.any([signal, waits.signal]);
        await Promise.race(queues.map((name, i) => listener.wait(name, marks[i]!, sleepMs, both)));
        waits.abort();
      }
      return [];
    },

    async ack(message) {
      const { rows } = await pool.query<{ n: string }>(
        `with d as (delete from ${messages} where id = $1 and receipt = $2 returning group_id)
         select count(*) as n, count(pg_notify($3, $4)) filter (where group_id is not null) as woke from d`,
        [message.id, message.receipt, channel, message.queue],
      );
      if (Number(rows[0]?.n) !== 1) throw lost(message, 'ack');
    },

    async release(message, releaseOptions = {}) {
      const delayMs = Math.max(0, Math.round(releaseOptions.delayMs ?? 0));
      const { rows } = await pool.query(
        `with r as (
          update ${messages} set receipt = null, consumer = null,
            available_at = now() + $3 * interval '1 millisecond'
          where id = $1 and receipt = $2 returning id
        ) select id, pg_notify($4, $5) is null as n from r`,
        [message.id, message.receipt, delayMs, channel, message.queue],
      );
      if (rows.length !== 1) throw lost(message, 'release');
    },

    async extend(message, leaseMs) {
      const { rowCount } = await pool.query(
        `update ${messages} set available_at = now() + $3 * interval '1 millisecond'
         where id = $1 and receipt = $2`,
        [message.id, message.receipt, Math.max(1, Math.round(leaseMs))],
      );
      if (rowCount !== 1) throw lost(message, 'extend');
    },

    async extendMany(held, leaseMs) {
      if (held.length === 0) return [];
      // One statement for all: the rows whose receipt still matches, as `extend` would find them.
      const { rows } = await pool.query<{ id: string; receipt: string }>(
        `update ${messages} m set available_at = now() + $3 * interval '1 millisecond'
         from unnest($1::text[], $2::text[]) as h(id, receipt)
         where m.id = h.id and m.receipt = h.receipt
         returning m.id, m.receipt`,
        [
          held.map((message) => message.id),
          held.map((message) => message.receipt),
          Math.max(1, Math.round(leaseMs)),
        ],
      );
      const renewed = new Set(rows.map((row) => `${row.id}\0${row.receipt}`));
      return held.map((message) => renewed.has(`${message.id}\0${message.receipt}`));
    },

    async deadLetter(message, reason) {
      if (!(await moveToDead(message, reason))) throw lost(message, 'dead-letter');
    },

    async deadLetters(name, listOptions = {}) {
      const { rows } = await pool.query<{
        id: string;
        body: string;
        reason: string;
        deliveries: number;
      }>(
        `select id, body, reason, deliveries from ${dead} where queue = $1 order by seq limit $2`,
        [name, listOptions.limit ?? 1000],
      );
      return rows.map(
        (row): DeadLetter => ({
          id: row.id,
          queue: name,
          body: row.body,
          reason: row.reason,
          deliveryCount: row.deliveries,
        }),
      );
    },

    async removeDeadLetter(name, id) {
      assertDeadLetterRef('postgres', name, id);
      // One row per letter: moveToDead deletes the message in the statement that writes it. The
      // (queue, seq) index narrows the search to the queue's letters; id itself is not indexed.
      const { rowCount } = await pool.query(`delete from ${dead} where queue = $1 and id = $2`, [
        name,
        id,
      ]);
      return (rowCount ?? 0) > 0;
    },

    async stats(name) {
      const { rows } = await pool.query<{
        ready: string;
        delayed: string;
        leased: string;
        dead: string;
      }>(
        `select count(*) filter (where available_at <= now()) as ready,
                count(*) filter (where available_at > now() and receipt is null) as delayed,
                count(*) filter (where available_at > now() and receipt is not null) as leased,
                (select count(*) from ${dead} where queue = $1) as dead
           from ${messages} where queue = $1`,
        [name],
      );
      const row = rows[0];
      return {
        ready: Number(row?.ready ?? 0),
        delayed: Number(row?.delayed ?? 0),
        leased: Number(row?.leased ?? 0),
        deadLettered: Number(row?.dead ?? 0),
      };
    },

    async close() {
      closed = true;
      aborter.abort();
      listener?.close();
    },
  };
  return queue;
}
