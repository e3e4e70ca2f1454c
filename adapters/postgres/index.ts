/**
 * Postgres adapters for loopwork (`loopwork/postgres`): a queue on `FOR UPDATE SKIP LOCKED`, the
 * run, session, heartbeat and blob stores, and the run event log with `LISTEN/NOTIFY`, all in a
 * schema that {@link migrate} creates. Needs the optional peer dependency `pg`; you pass your
 * own `Pool`.
 *
 * @packageDocumentation
 */
export type { MigrateOptions, MigrateResult } from './migrate';
export { migrate, SCHEMA_VERSION } from './migrate';
export type { PostgresEventLogOptions } from './postgres-event-log';
export { createPostgresEventLog } from './postgres-event-log';
export type { PostgresQueueOptions } from './postgres-queue';
export { createPostgresQueue } from './postgres-queue';
export type { PostgresRunStoreOptions } from './postgres-run-store';
export { createPostgresRunStore } from './postgres-run-store';
export {
  createPostgresBlobStore,
  createPostgresHeartbeatStore,
  createPostgresSessionStore,
} from './postgres-stores';
export type { PruneOptions, PruneResult } from './prune';
export { prune } from './prune';
export type { PostgresOptions } from './schema';
