import { FINAL_STATUSES, InvalidOptionError } from 'loopwork';
import { checkPool, type PostgresOptions, schemaOf, tableOf } from './schema';

/** Options of {@link prune}. */
export interface PruneOptions extends PostgresOptions {
  /**
   * Final runs (completed, failed, cancelled, dead-lettered …) whose last write is older than this
   * many milliseconds are deleted, with their events and their checkpoint.
   */
  olderThanMs: number;
  /**
   * Also delete dead letters older than this many milliseconds. @defaultValue kept: a dead letter
   * waits for an operator (`loopwork dead-letters list|redrive`)
   */
  deadLettersOlderThanMs?: number;
  /** Runs deleted per statement; each batch is its own short transaction. @defaultValue 500 */
  batchSize?: number;
  /** Stops between batches; what was deleted so far stays deleted. */
  signal?: AbortSignal;
}

/** What {@link prune} deleted. */
export interface PruneResult {
  runs: number;
  events: number;
  /** Run checkpoints (`sessions` rows keyed by the run id), with their deltas. */
  checkpoints: number;
  /** Heartbeats that had expired. */
  heartbeats: number;
  deadLetters: number;
}

/**
 * Deletes what a deployment no longer needs, in batches: final runs older than `olderThanMs` with
 * their events and checkpoints, expired heartbeats, and (when asked) old dead letters. Redis
 * expires these by itself (`retainMs`); on Postgres, call this on a schedule of yours (a cron job,
 * or a timer in one worker process). Open runs, sessions (`session:<id>` keys: follow-ups read
 * them), blobs, and the events of runs that have no run record are never touched.
 *
 * @example
 * ```ts
 * import { prune } from 'loopwork/postgres';
 * const day = 24 * 3_600_000;
 * const deleted = await prune({ pool, schema: 'loopwork', olderThanMs: 7 * day });
 * ```
 */
export async function prune(options: PruneOptions): Promise<PruneResult> {
  checkPool(options.pool);
  const schema = schemaOf(options);
  const olderThanMs = age(options.olderThanMs, 'olderThanMs');
  const deadAge =
    options.deadLettersOlderThanMs === undefined
      ? undefined
      : age(options.deadLettersOlderThanMs, 'deadLettersOlderThanMs');
  const batchSize = options.batchSize ?? 500;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] batchSize must be an integer from 1 to 10000, got ${JSON.stringify(batchSize)}`,
    );
  }
  const { pool, signal } = options;
  const t = (name: string) => tableOf(schema, name);
  const result: PruneResult = { runs: 0, events: 0, checkpoints: 0, heartbeats: 0, deadLetters: 0 };
  const now = Date.now();

  // One statement per batch: the runs, then every row keyed by their ids, atomically.
  const batch = `
    with gone as (
      delete from ${t('runs')} where run_id in (
        select run_id from ${t('runs')}
        where status = any($1) and clock < $2
        order by clock limit $3
        for update skip locked)
      returning run_id),
    events as (delete from ${t('events')} where run_id in (select run_id from gone) returning 1),
    seq as (delete from ${t('event_seq')} where run_id in (select run_id from gone)),
    deltas as (delete from ${t('session_deltas')} where key in (select run_id from gone)),
    checkpoints as (delete from ${t('sessions')} where key in (select run_id from gone) returning 1)
    select (select count(*) from gone)::int as runs,
           (select count(*) from events)::int as events,
           (select count(*) from checkpoints)::int as checkpoints`;
  while (!signal?.aborted) {
    const { rows } = await pool.query<{ runs: number; events: number; checkpoints: number }>(
      batch,
      [FINAL_STATUSES, now - olderThanMs, batchSize],
    );
    const row = rows[0] ?? { runs: 0, events: 0, checkpoints: 0 };
    result.runs += row.runs;
    result.events += row.events;
    result.checkpoints += row.checkpoints;
    if (row.runs < batchSize) break;
  }
  if (signal?.aborted) return result;
  result.heartbeats = (
    await pool.query(`delete from ${t('heartbeats')} where expires_at < $1`, [now])
  ).rowCount as number;
  if (deadAge !== undefined) {
    result.deadLetters = (
      await pool.query(
        `delete from ${t('dead_letters')} where dead_at < now() - make_interval(secs => $1)`,
        [deadAge / 1000],
      )
    ).rowCount as number;
  }
  return result;
}

/** A non-negative finite number of milliseconds, or an InvalidOptionError naming the option. */
function age(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new InvalidOptionError(
    `[loopwork:postgres] ${name} must be a number of milliseconds >= 0 (for example 7 * 24 * 3_600_000 for a week), got ${JSON.stringify(value) ?? String(value)}`,
  );
}
