import {
  createPostgresBlobStore,
  createPostgresEventLog,
  createPostgresHeartbeatStore,
  createPostgresQueue,
  createPostgresRunStore,
  createPostgresSessionStore,
  migrate,
} from 'loopwork/postgres';
import {
  blobStoreConformance,
  eventLogConformance,
  heartbeatStoreConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  sessionStoreConformance,
} from 'loopwork/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freshSchema } from '../../helpers/postgres';

// Every suite against a real Postgres, in a schema of this file's own, dropped at the end.
let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, schema, drop } = await freshSchema());
  await migrate({ pool, schema });
});
afterAll(() => drop());

queueConformance({
  describe,
  it,
  createQueue: async (options) => createPostgresQueue({ pool, schema, ...options }),
});
sessionStoreConformance({
  describe,
  it,
  createStore: async () => createPostgresSessionStore({ pool, schema }),
});
runStoreConformance({
  describe,
  it,
  createStore: async () => createPostgresRunStore({ pool, schema }),
});
heartbeatStoreConformance({
  describe,
  it,
  createStore: async () => createPostgresHeartbeatStore({ pool, schema }),
});
eventLogConformance({
  describe,
  it,
  createLog: async (options) => createPostgresEventLog({ pool, schema, ...options }),
});
blobStoreConformance({
  describe,
  it,
  createStore: async () => createPostgresBlobStore({ pool, schema }),
});
lifecycleConformance({
  describe,
  it,
  createQueue: async () => createPostgresQueue({ pool, schema }),
  createRunStore: async () => createPostgresRunStore({ pool, schema }),
  createEventLog: async () => createPostgresEventLog({ pool, schema }),
});
