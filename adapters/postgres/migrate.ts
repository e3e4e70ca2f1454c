import type { Pool, PoolClient } from 'pg';
import { checkPool, schemaOf, tableOf } from './schema';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** A `pg` Pool; one client is taken for the migration and given back. */
  pool: Pool;
  /** Schema to create the tables in (created when missing). @defaultValue 'loopwork' */
  schema?: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The schema's version before the call (0: nothing there yet). */
  from: number;
  /** Its version now: {@link SCHEMA_VERSION}. */
  to: number;
  /** Versions applied by this call, in order (empty when already current). */
  applied: number[];
}

/** Each migration's SQL, by version; `S` stands for the quoted schema. Never edit a shipped one. */
const MIGRATIONS: ReadonlyArray<(s: string) => string> = [
  (s) => `
create table ${s}.messages (
  id text primary key,
  queue text not null,
  body text not null,
  priority smallint not null,
  seq bigserial not null,
  available_at timestamptz not null,
  dedupe_id text,
  group_id text,
  deliveries integer not null default 0,
  receipt text,
  consumer text
);
create unique index messages_dedupe on ${s}.messages (queue, dedupe_id) where dedupe_id is not null;
create index messages_ready on ${s}.messages (queue, priority, seq);
create index messages_group on ${s}.messages (queue, group_id, seq) where group_id is not null;
create table ${s}.dead_letters (
  seq bigserial primary key,
  id text not null,
  queue text not null,
  body text not null,
  reason text not null,
  deliveries integer not null,
  group_id text,
  dead_at timestamptz not null default now()
);
create index dead_letters_queue on ${s}.dead_letters (queue, seq);
create table ${s}.runs (
  run_id text collate "C" primary key,
  task_type text not null,
  status text not null,
  group_id text,
  queued_at bigint not null,
  clock bigint not null,
  version integer not null,
  record text not null
);
create index runs_queued on ${s}.runs (queued_at desc, run_id desc);
create index runs_status on ${s}.runs (status, clock, run_id);
create table ${s}.sessions (key text primary key, version integer not null, state text not null);
create table ${s}.session_deltas (
  key text not null,
  version integer not null,
  delta text not null,
  primary key (key, version)
);
create table ${s}.heartbeats (key text collate "C" primary key, data text not null, expires_at bigint not null);
create table ${s}.blobs (key text collate "C" primary key, data bytea not null, content_type text);
create table ${s}.event_seq (run_id text primary key, last bigint not null);
create table ${s}.events (
  run_id text not null,
  seq bigint not null,
  data text not null,
  created_at timestamptz not null default now(),
  primary key (run_id, seq)
);`,
];

/** The schema version this release of `loopwork/postgres` needs. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates or upgrades loopwork's tables in `schema`: explicit (nothing is created on import or
 * by the adapters), versioned (a `migrations` table records each applied version) and idempotent
 * (run it at every start; concurrent calls serialize on an advisory lock, and each version is
 * applied once, in one transaction with its record).
 *
 * @example
 * ```ts
 * import { Pool } from 'pg';
 * import { migrate } from 'loopwork/postgres';
 *
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate({ pool, schema: 'loopwork' });
 * ```
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  checkPool(options.pool);
  const schema = schemaOf(options);
  const s = `"${schema}"`;
  const client: PoolClient = await options.pool.connect();
  try {
    await client.query('begin');
    // One migrator per schema at a time; the lock ends with the transaction.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [
      `loopwork:migrate:${schema}`,
    ]);
    await client.query(`create schema if not exists ${s}`);
    await client.query(
      `create table if not exists ${tableOf(schema, 'migrations')} (version integer primary key, applied_at timestamptz not null default now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `select max(version) as version from ${tableOf(schema, 'migrations')}`,
    );
    const from = rows[0]?.version ?? 0;
    const applied: number[] = [];
    for (let version = from + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!(s));
      await client.query(`insert into ${tableOf(schema, 'migrations')} (version) values ($1)`, [
        version,
      ]);
      applied.push(version);
    }
    await client.query('commit');
    return { from, to: Math.max(from, MIGRATIONS.length), applied };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
