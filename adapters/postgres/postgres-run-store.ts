import {
  ConflictError,
  type RunRecord,
  type RunStanding,
  type RunStore,
  type RunTransition,
} from 'loopwork';
import { listPosition, parseRunQuery, runCursor, stalenessClock } from 'loopwork/adapter-kit';
import type { Pool, PoolClient } from 'pg';
import { checkPool, schemaOf, tableOf } from './schema';

/** Options of {@link createPostgresRunStore}. */
export interface PostgresRunStoreOptions {
  /**
   * A `pg` Pool, or a client inside your transaction (then `create` commits or rolls back with
   * your own writes). The store never ends or releases it.
   */
  pool: Pool | PoolClient;
  /** Schema that {@link migrate} created the tables in. @defaultValue 'loopwork' */
  schema?: string;
}

interface RunRow {
  version: number;
  record: string;
}

/**
 * What the Postgres queue needs of a Postgres run store to write its runs in its own statements
 * (the joint steps of `createPostgresQueue(…).jointWith(runs)`): kept under
 * {@link POSTGRES_RUN_STORE_HANDLE}, not enumerable, so a wrapped store has none.
 */
export interface PostgresRunStoreHandle {
  pool: Pool | PoolClient;
  /** The quoted, schema-qualified `runs` table. */
  table: string;
  /** The insert's column list, and its values for `record`, in that order. */
  insert(record: RunRecord): { columns: string; values: unknown[] };
  /** The run's row as stored, or undefined. */
  read(runId: string): Promise<{ version: number; record: RunRecord } | undefined>;
  /** The record `transition` makes of `current`, or undefined when a precondition fails. */
  next(current: RunRecord, transition: RunTransition): RunRecord | undefined;
  /** The update's values after `run_id` and the expected version: status, clock, version, record. */
  updateValues(updated: RunRecord): unknown[];
}

/** Where a Postgres run store keeps its {@link PostgresRunStoreHandle}. */
export const POSTGRES_RUN_STORE_HANDLE = Symbol.for('loopwork.postgres.run-store');

const INSERT_COLUMNS = 'run_id, task_type, status, group_id, queued_at, clock, version, record';

const insertValues = (record: RunRecord): unknown[] => [
  record.runId,
  record.taskType,
  record.status,
  record.groupId ?? null,
  record.queuedAt,
  stalenessClock(record),
  record.version,
  JSON.stringify(record),
];

/** The record `transition` makes of `current` (status, version + 1, updatedAt), or undefined. */
function nextRecord(current: RunRecord, transition: RunTransition): RunRecord | undefined {
  if (!transition.from.includes(current.status)) return undefined;
  if (transition.version !== undefined && current.version !== transition.version) return undefined;
  if (transition.attempt !== undefined && current.attempt !== transition.attempt) return undefined;
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(transition.set ?? {})) {
    if (value !== undefined) next[key] = value;
  }
  for (const key of transition.unset ?? []) delete next[key];
  return {
    ...(next as unknown as RunRecord),
    status: transition.to,
    version: current.version + 1,
    updatedAt: Math.max(Date.now(), current.updatedAt + 1),
  };
}

const updateValues = (updated: RunRecord): unknown[] => [
  updated.status,
  stalenessClock(updated),
  updated.version,
  JSON.stringify(updated),
];

/**
 * Run records in one Postgres table (`runs`): the record as JSON text (kept exactly as written),
 * beside the columns the queries filter and order on (status, task type, group, `queuedAt`, and
 * the staleness clock of `listStale`). A transition reads the record, checks its preconditions
 * and writes it back only if its `version` is unchanged — one compare-and-set, looked at again
 * when another writer got in between, so nothing is ever silently overwritten. `create` never
 * raises an SQL error on a duplicate (it inserts `ON CONFLICT DO NOTHING`), so it is safe inside
 * a caller's transaction.
 *
 * @example
 * ```ts
 * const runs = createPostgresRunStore({ pool, schema: 'loopwork' });
 * const { runs: failed } = await runs.list({ status: 'failed', limit: 20 });
 * ```
 */
export function createPostgresRunStore(options: PostgresRunStoreOptions): RunStore {
  checkPool(options.pool);
  const { pool } = options;
  const runs = tableOf(schemaOf(options), 'runs');

  async function read(runId: string): Promise<RunRow | undefined> {
    const { rows } = await pool.query<RunRow>(
      `select version, record from ${runs} where run_id = $1`,
      [runId],
    );
    return rows[0];
  }

  const parse = (row: RunRow) => JSON.parse(row.record) as RunRecord;

  const store: RunStore = {
    specificationVersion: 'loopwork.run-store.v2',
    async create(record) {
      const { rowCount } = await pool.query(
        `insert into ${runs} (${INSERT_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (run_id) do nothing`,
        insertValues(record),
      );
      if (rowCount !== 1) {
        throw new ConflictError(
          `[loopwork:postgres] run "${record.runId}" already exists`,
          null,
          1,
        );
      }
    },

    async get(runId) {
      const row = await read(runId);
      return row ? parse(row) : undefined;
    },

    async transition(runId, transition) {
      for (;;) {
        const row = await read(runId);
        if (!row) return undefined;
        const updated = nextRecord(parse(row), transition);
        if (!updated) return undefined;
        const { rowCount } = await pool.query(
          `update ${runs} set status = $3, clock = $4, version = $5, record = $6
           where run_id = $1 and version = $2`,
          [runId, row.version, ...updateValues(updated)],
        );
        if (rowCount === 1) return updated;
        // Someone wrote it between our read and write: judge the preconditions again.
      }
    },

    async getStandings(runIds) {
      if (runIds.length === 0) return [];
      const { rows } = await pool.query<{
        run_id: string;
        status: RunStanding['status'];
        attempt: number;
        cancel: RunStanding['cancel'] | null;
      }>(
        `select run_id, status, j -> 'attempt' as attempt, j -> 'cancel' as cancel
         from ${runs}, lateral (select record::jsonb as j) as r
         where run_id = any($1::text[])`,
        [[...runIds]],
      );
      const byId = new Map(rows.map((row) => [row.run_id, row]));
      return runIds.map((runId) => {
        const row = byId.get(runId);
        if (!row) return undefined;
        const standing: RunStanding = { status: row.status, attempt: Number(row.attempt) };
        if (row.cancel !== null) standing.cancel = row.cancel;
        return standing;
      });
    },

    async list(query = {}) {
      const parsed = parseRunQuery(query);
      const order = parsed.status === undefined ? 'queued_at' : 'clock';
      const where: string[] = [];
      const values: unknown[] = [];
      const add = (sql: string, ...params: unknown[]) => {
        values.push(...params);
        where.push(sql.replace(/\?/g, () => `$${values.length - params.length + 1}`));
      };
      if (parsed.status !== undefined) add('status = ?', parsed.status);
      if (parsed.taskType !== undefined) add('task_type = ?', parsed.taskType);
      if (parsed.groupId !== undefined) add('group_id = ?', parsed.groupId);
      if (parsed.after) {
        values.push(parsed.after.score, parsed.after.runId);
        where.push(`(${order}, run_id) < ($${values.length - 1}, $${values.length})`);
      }
      values.push(parsed.limit + 1);
      const { rows } = await pool.query<RunRow>(
        `select version, record from ${runs}
         ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
         order by ${order} desc, run_id desc limit $${values.length}`,
        values,
      );
      const page = rows.slice(0, parsed.limit).map(parse);
      return rows.length > parsed.limit
        ? { runs: page, cursor: runCursor(listPosition(page.at(-1)!, query)) }
        : { runs: page };
    },

    async listStale(status, before, limit = 100) {
      const { rows } = await pool.query<RunRow>(
        `select version, record from ${runs} where status = $1 and clock < $2
         order by clock, run_id limit $3`,
        [status, before, limit],
      );
      return rows.map(parse);
    },
  };
  const handle: PostgresRunStoreHandle = {
    pool,
    table: runs,
    insert: (record) => ({ columns: INSERT_COLUMNS, values: insertValues(record) }),
    async read(runId) {
      const row = await read(runId);
      return row && { version: row.version, record: parse(row) };
    },
    next: nextRecord,
    updateValues,
  };
  Object.defineProperty(store, POSTGRES_RUN_STORE_HANDLE, { value: handle });
  return store;
}
