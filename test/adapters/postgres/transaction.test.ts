import { createDispatcher, defineTask } from 'loopwork';
import {
  createPostgresQueue,
  createPostgresRunStore,
  migrate,
  type PostgresQueueOptions,
} from 'loopwork/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freshSchema } from '../../helpers/postgres';

// Dispatch inside the caller's transaction: the run record and the message are written on the
// caller's client, so they commit or roll back with the caller's own write (the outbox guarantee).
let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, schema, drop } = await freshSchema());
  await migrate({ pool, schema });
  await pool.query(`create table "${schema}".orders (id text primary key)`);
});
afterAll(() => drop());

const ship = defineTask({
  type: 'ship',
  queue: 'orders',
  payload: z.object({ orderId: z.string() }),
});

/** Places an order and dispatches its task in one transaction; `fail` throws before commit. */
async function placeOrder(orderId: string, options: { fail?: boolean } = {}) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`insert into "${schema}".orders (id) values ($1)`, [orderId]);
    const onClient: PostgresQueueOptions = { pool: client, schema };
    const dispatcher = createDispatcher({
      queue: createPostgresQueue(onClient),
      runs: createPostgresRunStore(onClient),
    });
    const result = await dispatcher.dispatch(ship, { orderId }, { runId: `ship-${orderId}` });
    if (options.fail) throw new Error('payment declined');
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

const orderExists = async (id: string) =>
  (await pool.query(`select 1 from "${schema}".orders where id = $1`, [id])).rowCount === 1;

describe('dispatch inside the caller’s transaction', () => {
  const runs = () => createPostgresRunStore({ pool, schema });

  it('rollback: no order, no run, no message', async () => {
    await expect(placeOrder('o-1', { fail: true })).rejects.toThrow('payment declined');
    expect(await orderExists('o-1')).toBe(false);
    expect(await runs().get('ship-o-1')).toBeUndefined();
    const queue = createPostgresQueue({ pool, schema });
    expect(await queue.claim(['orders'], { consumer: 'w', leaseMs: 60_000, waitMs: 200 })).toEqual(
      [],
    );
    await queue.close();
  });

  it('commit: the order, its queued run and its message, all together', async () => {
    const queue = createPostgresQueue({ pool, schema });
    // A claim waiting before the commit is woken by it (NOTIFY is delivered on commit).
    const waiting = queue.claim(['orders'], { consumer: 'w', leaseMs: 60_000, waitMs: 10_000 });
    const { runId, deduplicated } = await placeOrder('o-2');
    expect(deduplicated).toBe(false);
    expect(await orderExists('o-2')).toBe(true);
    expect((await runs().get(runId))?.status).toBe('queued');
    const [message] = await waiting;
    expect(JSON.parse(message!.body)).toMatchObject({
      type: 'ship',
      runId,
      payload: { orderId: 'o-2' },
    });
    await queue.ack(message!);
    await queue.close();
  });

  it('while uncommitted, nothing is visible outside the transaction', async () => {
    const client = await pool.connect();
    const queue = createPostgresQueue({ pool, schema });
    try {
      await client.query('begin');
      const dispatcher = createDispatcher({
        queue: createPostgresQueue({ pool: client, schema }),
        runs: createPostgresRunStore({ pool: client, schema }),
      });
      await dispatcher.dispatch(ship, { orderId: 'o-3' }, { runId: 'ship-o-3' });
      expect(await runs().get('ship-o-3')).toBeUndefined();
      expect(await queue.claim(['orders'], { consumer: 'w', leaseMs: 60_000 })).toEqual([]);
      // A repeated dispatch of the same run id is a no-op that leaves the transaction usable.
      const again = await dispatcher.dispatch(ship, { orderId: 'o-3' }, { runId: 'ship-o-3' });
      expect(again.deduplicated).toBe(true);
      await client.query('commit');
    } finally {
      client.release();
    }
    const claimed = await queue.claim(['orders'], { consumer: 'w', leaseMs: 60_000, max: 5 });
    expect(claimed.map((m) => JSON.parse(m.body).runId)).toEqual(['ship-o-3']);
    await queue.close();
  });
});
