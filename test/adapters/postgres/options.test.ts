// The public surface of loopwork/postgres, bad options refused by name, and NOTIFY payloads that
// carry ids only (events themselves may be far over the ~8 KB notification cap).
import { InvalidOptionError } from 'loopwork';
import * as postgres from 'loopwork/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema } from '../../helpers/postgres';

let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, schema, drop } = await freshSchema());
  await postgres.migrate({ pool, schema });
});
afterAll(() => drop());

it("'loopwork/postgres' exports exactly the listed names", () => {
  expect(Object.keys(postgres).sort()).toEqual(
    [
      'SCHEMA_VERSION',
      'createPostgresBlobStore',
      'createPostgresEventLog',
      'createPostgresHeartbeatStore',
      'createPostgresQueue',
      'createPostgresRunStore',
      'createPostgresSessionStore',
      'migrate',
      'prune',
    ].sort(),
  );
});

describe('bad options are refused with an InvalidOptionError naming the option', () => {
  const refuses = (build: () => unknown, option: RegExp) => {
    let thrown: unknown;
    try {
      build();
    } catch (error) {
      thrown = error;
    }
    expect(InvalidOptionError.isInstance(thrown), String(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(/^\[loopwork:postgres\] /);
    expect((thrown as Error).message).toMatch(option);
  };

  it('queue: maxDeliveries, pollMs, pool, schema', () => {
    refuses(
      () => postgres.createPostgresQueue({ pool, schema, maxDeliveries: 0 }),
      /maxDeliveries/,
    );
    refuses(() => postgres.createPostgresQueue({ pool, schema, pollMs: -1 }), /pollMs/);
    refuses(() => postgres.createPostgresQueue({ pool: {} as never, schema }), /pool/);
    refuses(() => postgres.createPostgresQueue({ pool, schema: 'x;drop' }), /schema/);
  });

  it('event log: pollMs, maxEventBytes; stores: schema', () => {
    refuses(() => postgres.createPostgresEventLog({ pool, schema, pollMs: 0 }), /pollMs/);
    refuses(
      () => postgres.createPostgresEventLog({ pool, schema, maxEventBytes: 1 }),
      /maxEventBytes/,
    );
    for (const create of [
      postgres.createPostgresRunStore,
      postgres.createPostgresSessionStore,
      postgres.createPostgresHeartbeatStore,
      postgres.createPostgresBlobStore,
    ]) {
      refuses(() => create({ pool, schema: 'Bad-Name' }), /schema/);
    }
  });

  it('claim: max, leaseMs, maxDeliveries and the reserved consumer name', async () => {
    const queue = postgres.createPostgresQueue({ pool, schema });
    const lease = { consumer: 'c', leaseMs: 1_000 };
    for (const [claim, option] of [
      [{ ...lease, max: 0 }, /max must/],
      [{ ...lease, leaseMs: 0 }, /leaseMs/],
      [{ ...lease, maxDeliveries: -1 }, /maxDeliveries/],
      [{ ...lease, consumer: 'loopwork:dead-letter' }, /reserved/],
    ] as const) {
      const error = await queue.claim(['q'], claim).catch((thrown: unknown) => thrown);
      expect(InvalidOptionError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(option);
    }
    await queue.close();
  });
});

it('NOTIFY carries the run id only, even for an event far over the payload cap', async () => {
  const log = postgres.createPostgresEventLog({ pool, schema });
  const client = await pool.connect();
  const payloads: string[] = [];
  client.on('notification', (message) => payloads.push(message.payload ?? ''));
  try {
    await client.query(`listen "${schema}_events"`);
    const big = { type: 'big', text: 'x'.repeat(100_000) };
    const id = await log.append('run-1', big);
    for (let i = 0; i < 100 && payloads.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(payloads).toEqual(['run-1']);
    expect(await log.read('run-1')).toEqual([{ id, data: big }]);
  } finally {
    client.release(true);
  }
});
