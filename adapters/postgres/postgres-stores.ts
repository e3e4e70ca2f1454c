import {
  type BlobStore,
  type CheckpointWrite,
  ConflictError,
  type HeartbeatStore,
  parseRunState,
  type RunState,
  type SessionStore,
} from 'loopwork';
import { DeltaEncoder, replayCheckpoint } from 'loopwork/adapter-kit';
import { checkPool, type PostgresOptions, schemaOf, tableOf } from './schema';

/**
 * Run checkpoints and sessions in Postgres: per key, a row of `sessions` with the version and a
 * snapshot of the state as JSON text, and rows of `session_deltas` with the delta checkpoints
 * written after it (`DeltaEncoder` from the core: a save writes what the run appended since the
 * last one, so its cost does not grow with the run). A save is one statement that writes only
 * when the stored version is the one the writer read (an insert for `null`), so a stale save is
 * refused with `ConflictError`; a snapshot deletes the deltas in the same statement, and a load
 * reads the snapshot and its deltas in one.
 *
 * @example
 * ```ts
 * const sessions = createPostgresSessionStore({ pool, schema: 'loopwork' });
 * ```
 */
export function createPostgresSessionStore(options: PostgresOptions): SessionStore {
  checkPool(options.pool);
  const { pool } = options;
  const schema = schemaOf(options);
  const sessions = tableOf(schema, 'sessions');
  const deltas = tableOf(schema, 'session_deltas');
  const encoder = new DeltaEncoder();

  async function conflict(key: string, expected: number | null): Promise<never> {
    encoder.forget(key);
    const { rows } = await pool.query<{ version: number }>(
      `select version from ${sessions} where key = $1`,
      [key],
    );
    const stored = rows[0]?.version ?? null;
    throw new ConflictError(
      `[loopwork:postgres] checkpoint "${key}" is at version ${stored}, the write expected ${expected}; reload and retry`,
      expected,
      stored,
    );
  }

  /** The statement of one save, by what is written over what. */
  function statement(key: string, write: CheckpointWrite, expected: number | null) {
    if (write.kind === 'delta') {
      return {
        text: `with saved as (
                 update ${sessions} set version = version + 1
                 where key = $1 and version = $2 returning version)
               insert into ${deltas} (key, version, delta)
               select $1, version, $3 from saved returning version`,
        values: [key, expected, write.json],
      };
    }
    if (expected === null) {
      return {
        text: `with saved as (
                 insert into ${sessions} (key, version, state) values ($1, 1, $2)
                 on conflict (key) do nothing returning version),
               cleared as (delete from ${deltas} where key = $1 and exists (select 1 from saved))
               select version from saved`,
        values: [key, write.json],
      };
    }
    return {
      text: `with saved as (
               update ${sessions} set version = version + 1, state = $3
               where key = $1 and version = $2 returning version),
             cleared as (delete from ${deltas} where key = $1 and exists (select 1 from saved))
             select version from saved`,
      values: [key, expected, write.json],
    };
  }

  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key) {
      const { rows } = await pool.query<{ version: number; state: string; deltas: string[] }>(
        `select s.version, s.state,
                coalesce(array_agg(d.delta order by d.version) filter (where d.delta is not null), '{}') as deltas
         from ${sessions} s left join ${deltas} d on d.key = s.key
         where s.key = $1 group by s.key, s.version, s.state`,
        [key],
      );
      const row = rows[0];
      if (!row) return undefined;
      const state = parseRunState(replayCheckpoint(row.state, row.deltas)) as RunState;
      return { state, version: row.version };
    },
    async save(key, state, expectedVersion) {
      const write = encoder.encode(key, state, expectedVersion);
      let version: number | undefined;
      try {
        const { rows } = await pool.query<{ version: number }>(
          statement(key, write, expectedVersion),
        );
        version = rows[0]?.version;
      } catch (error) {
        // Unknown whether it was written: the next save must not build on it.
        encoder.forget(key);
        throw error;
      }
      if (version === undefined) return conflict(key, expectedVersion);
      encoder.committed(key, state, version, write);
      return version;
    },
    async delete(key) {
      encoder.forget(key);
      await pool.query(
        `with gone as (delete from ${deltas} where key = $1) delete from ${sessions} where key = $1`,
        [key],
      );
    },
    async version(key) {
      const { rows } = await pool.query<{ version: number }>(
        `select version from ${sessions} where key = $1`,
        [key],
      );
      return rows[0]?.version;
    },
  };
}

/**
 * Heartbeats in one Postgres table (`heartbeats`): data and an expiry per key; expired rows are
 * ignored by reads and deleted as `list` meets them. Expiries are this process's clock, as the
 * watchdog that reads them compares them with its own.
 */
export function createPostgresHeartbeatStore(options: PostgresOptions): HeartbeatStore {
  checkPool(options.pool);
  const { pool } = options;
  const heartbeats = tableOf(schemaOf(options), 'heartbeats');
  return {
    specificationVersion: 'loopwork.heartbeat-store.v1',
    async beat(key, ttlMs, data = {}) {
      await pool.query(
        `insert into ${heartbeats} (key, data, expires_at) values ($1, $2, $3)
         on conflict (key) do update set data = excluded.data, expires_at = excluded.expires_at`,
        [key, JSON.stringify(data), Date.now() + ttlMs],
      );
    },
    async beatMany(many, ttlMs) {
      if (many.length === 0) return;
      // The last beat of a key given twice wins, as two beats in a row would leave it.
      const latest = new Map(many.map(({ key, data = {} }) => [key, JSON.stringify(data)]));
      await pool.query(
        `insert into ${heartbeats} (key, data, expires_at)
         select key, data, $3::bigint from unnest($1::text[], $2::text[]) as b(key, data)
         on conflict (key) do update set data = excluded.data, expires_at = excluded.expires_at`,
        [[...latest.keys()], [...latest.values()], Date.now() + ttlMs],
      );
    },
    async get(key) {
      const { rows } = await pool.query<{ data: string; expires_at: string }>(
        `select data, expires_at from ${heartbeats} where key = $1 and expires_at > $2`,
        [key, Date.now()],
      );
      const row = rows[0];
      return row ? { data: JSON.parse(row.data), expiresAt: Number(row.expires_at) } : undefined;
    },
    async remove(key) {
      await pool.query(`delete from ${heartbeats} where key = $1`, [key]);
    },
    async list(prefix) {
      const now = Date.now();
      await pool.query(`delete from ${heartbeats} where expires_at <= $1`, [now]);
      const { rows } = await pool.query<{ key: string; data: string; expires_at: string }>(
        `select key, data, expires_at from ${heartbeats}
         where left(key, length($1)) = $1 and expires_at > $2 order by key`,
        [prefix, now],
      );
      return rows.map((row) => ({
        key: row.key,
        data: JSON.parse(row.data),
        expiresAt: Number(row.expires_at),
      }));
    },
  };
}

/** Blobs in one Postgres table (`blobs`), as `bytea`; keys list in byte order. */
export function createPostgresBlobStore(options: PostgresOptions): BlobStore {
  checkPool(options.pool);
  const { pool } = options;
  const blobs = tableOf(schemaOf(options), 'blobs');
  return {
    specificationVersion: 'loopwork.blob-store.v1',
    async put(key, data, putOptions = {}) {
      await pool.query(
        `insert into ${blobs} (key, data, content_type) values ($1, $2, $3)
         on conflict (key) do update set data = excluded.data, content_type = excluded.content_type`,
        [
          key,
          Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          putOptions.contentType ?? null,
        ],
      );
    },
    async get(key) {
      const { rows } = await pool.query<{ data: Buffer }>(
        `select data from ${blobs} where key = $1`,
        [key],
      );
      const row = rows[0];
      return row ? new Uint8Array(row.data) : undefined;
    },
    async delete(key) {
      await pool.query(`delete from ${blobs} where key = $1`, [key]);
    },
    async list(prefix) {
      const { rows } = await pool.query<{ key: string }>(
        `select key from ${blobs} where left(key, length($1)) = $1 order by key`,
        [prefix],
      );
      return rows.map((row) => row.key);
    },
  };
}
