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
  jointStepsConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  sessionStoreConformance,
} from 'loopwork/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
jointStepsConformance({
  describe,
  it,
  create: async () => ({
    queue: createPostgresQueue({ pool, schema }),
    runs: createPostgresRunStore({ pool, schema }),
  }),
});

describe('jointWith on Postgres', () => {
  it('is offered for a Postgres run store on the same pool only, and not for a wrapped one', async () => {
    const queue = createPostgresQueue({ pool, schema });
    const runs = createPostgresRunStore({ pool, schema });
    const steps = queue.jointWith?.(runs);
    expect(steps).toBeDefined();
    // The joint steps are the plain ones: no claim that starts runs, no heartbeat, no events.
    expect(steps?.claimAndStart).toBeUndefined();
    expect(steps?.beats).toBeFalsy();
    expect(steps?.appendsEvents).toBeFalsy();
    const client = await pool.connect();
    try {
      expect(queue.jointWith?.(createPostgresRunStore({ pool: client, schema }))).toBeUndefined();
      expect(queue.jointWith?.({ ...runs })).toBeUndefined();
    } finally {
      client.release();
      await queue.close();
    }
  });
});
