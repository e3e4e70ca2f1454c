import {
  type BlobStore,
  ConflictError,
  type HeartbeatStore,
  parseRunState,
  type RunState,
  type SessionStore,
} from 'loopwork';
import { checkPool, type PostgresOptions, schemaOf, tableOf } from './schema';

/**
 * Run checkpoints and sessions in one Postgres table (`sessions`): the state as JSON text and
 * its version. A save is one statement that writes only when the stored version is the one the
 * writer read (an insert for `null`), so a stale save is refused with `ConflictError`.
 *
 * @example
 * ```ts
 * const sessions = createPostgresSessionStore({ pool, schema: 'loopwork' });
 * ```
 */
export function createPostgresSessionStore(options: PostgresOptions): SessionStore {
  checkPool(options.pool);
  const { pool } = options;
  const sessions = tableOf(schemaOf(options), 'sessions');

  async function conflict(key: string, expected: number | null): Promise<never> {
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

  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key) {
      const { rows } = await pool.query<{ version: number; state: string }>(
        `select version, state from ${sessions} where key = $1`,
        [key],
      );
      const row = rows[0];
      if (!row) return undefined;
      return { state: parseRunState(JSON.parse(row.state)) as RunState, version: row.version };
    },
    async save(key, state, expectedVersion) {
      const json = JSON.stringify(state);
      const { rows } =
        expectedVersion === null
          ? await pool.query<{ version: number }>(
              `insert into ${sessions} (key, version, state) values ($1, 1, $2)
               on conflict (key) do nothing returning version`,
              [key, json],
            )
          : await pool.query<{ version: number }>(
              `update ${sessions} set version = version + 1, state = $3
               where key = $1 and version = $2 returning version`,
              [key, expectedVersion, json],
            );
      return rows[0]?.version ?? conflict(key, expectedVersion);
    },
    async delete(key) {
      await pool.query(`delete from ${sessions} where key = $1`, [key]);
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
