import { createPostgresQueue, migrate } from 'loopwork/postgres';
import { lifecycleConformance, queueConformance } from 'loopwork/testing';
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
lifecycleConformance({
  describe,
  it,
  createQueue: async () => createPostgresQueue({ pool, schema }),
});
