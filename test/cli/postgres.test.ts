import { createDispatcher, createWorker, defineTask, handleTask } from 'loopwork';
import {
  createPostgresEventLog,
  createPostgresQueue,
  createPostgresRunStore,
  migrate,
} from 'loopwork/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freshSchema } from '../helpers/postgres';
import { waitFor } from '../stream/helpers';
import { assertBuilt, cli, start } from './helpers';

const usage = {
  inputTokens: 50,
  outputTokens: 10,
  cacheReadTokens: 5,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};
const task = defineTask({ type: 'triage', payload: z.object({ id: z.number() }), queue: 'pg-cli' });

let db: Awaited<ReturnType<typeof freshSchema>>;
let stores: {
  runs: ReturnType<typeof createPostgresRunStore>;
  events: ReturnType<typeof createPostgresEventLog>;
  queue: ReturnType<typeof createPostgresQueue>;
};

beforeAll(async () => {
  assertBuilt();
  db = await freshSchema('lw_cli');
  await migrate({ pool: db.pool, schema: db.schema });
  const options = { pool: db.pool, schema: db.schema };
  stores = {
    runs: createPostgresRunStore(options),
    events: createPostgresEventLog(options),
    queue: createPostgresQueue(options),
  };
});

afterAll(async () => {
  await stores?.queue.close();
  await db?.drop();
});

const args = (...rest: string[]) => [...rest, '--url', db.url, '--schema', db.schema];

describe('loopwork CLI on Postgres (the built bin)', () => {
  it('lists, shows, tails and cancels runs in the given schema', async () => {
    const dispatcher = createDispatcher(stores);
    await dispatcher.dispatch(task, { id: 1 }, { runId: 'pg-1' });
    await dispatcher.dispatch(task, { id: 2 }, { runId: 'pg-2' });
    await stores.runs.transition('pg-1', { from: ['queued'], to: 'running', set: { attempt: 1 } });
    await stores.events.append('pg-1', {
      type: 'text-delta',
      runId: 'pg-1',
      turn: 1,
      text: 'triaging',
    });
    await stores.events.append('pg-1', {
      type: 'turn-finished',
      runId: 'pg-1',
      turn: 1,
      usage,
      costUsd: 0.0005,
      stopReason: 'end_turn',
    });

    const list = JSON.parse((await cli(args('runs', 'list', '--json'))).stdout);
    expect(list.runs.map((run: { runId: string }) => run.runId)).toEqual(['pg-2', 'pg-1']);
    const show = await cli(args('runs', 'show', 'pg-1'));
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('total: 65 tokens, $0.0005');

    const tail = start(args('runs', 'tail', 'pg-1'));
    await waitFor(() => tail.output().includes('turn 1 finished'), 'the history');
    await stores.events.append('pg-1', {
      type: 'task-finished',
      runId: 'pg-1',
      status: 'completed',
      attempt: 1,
    });
    const tailed = await tail.result;
    expect(tailed.code).toBe(0);
    expect(tailed.stdout).toContain('assistant triaging');
    expect(tailed.stdout).toContain('completed after 1 turns');

    const cancel = await cli(args('runs', 'cancel', 'pg-2'));
    expect(cancel.code).toBe(0);
    expect((await stores.runs.get('pg-2'))?.status).toBe('cancelled');
    expect((await cli(args('runs', 'show', 'nope'))).code).toBe(3);
  });

  it('counts queue messages and lists dead letters', async () => {
    await stores.queue.enqueue('pg-stats', 'a');
    await stores.queue.enqueue('pg-stats', 'b', { delayMs: 60_000 });
    await stores.queue.enqueue('pg-stats', JSON.stringify({ runId: 'pg-dead' }));
    const [claimed] = await stores.queue.claim(['pg-stats'], { consumer: 't', leaseMs: 60_000 });
    await stores.queue.enqueue('pg-stats', 'c');
    const stats = JSON.parse(
      (await cli(args('queues', 'stats', '--queue', 'pg-stats', '--json'))).stdout,
    );
    expect(stats.queues).toEqual([
      { queue: 'pg-stats', ready: 2, delayed: 1, leased: 1, deadLettered: 0 },
    ]);
    await stores.queue.deadLetter(claimed as NonNullable<typeof claimed>, 'bad envelope');
    const letters = JSON.parse(
      (await cli(args('dead-letters', 'list', '--queue', 'pg-stats', '--json'))).stdout,
    );
    expect(letters.deadLetters).toHaveLength(1);
    expect(letters.deadLetters[0]).toMatchObject({ reason: 'bad envelope', queue: 'pg-stats' });
  });

  it('redrives a dead-lettered run as a new linked run', async () => {
    const queue = 'pg-redrive';
    const triage = defineTask({ type: 'triage', payload: z.object({ id: z.number() }), queue });
    const other = defineTask({ type: 'other', payload: z.object({}), queue });
    const stale = createWorker({
      queue: stores.queue,
      runs: stores.runs,
      handlers: [handleTask(other, async () => 'other')],
    });
    const dispatcher = createDispatcher(stores);
    await dispatcher.dispatch(triage, { id: 7 }, { runId: 'pg-redrive' });
    expect(await stale.runOnce({ waitMs: 0 })).toBe('dead_lettered');
    const result = await cli(args('dead-letters', 'redrive', '--queue', queue, '--all'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const runId = /pg-redrive\s+redriven\s+(\S+)/.exec(result.stdout)?.[1] as string;
    expect(await stores.runs.get(runId)).toMatchObject({
      status: 'queued',
      payload: { id: 7 },
      redrivenFrom: 'pg-redrive',
    });
    expect(await stores.queue.deadLetters(queue)).toEqual([]);
    const [message] = await stores.queue.claim([queue], { consumer: 't', leaseMs: 60_000 });
    expect(JSON.parse(message?.body ?? '{}')).toMatchObject({ runId, type: 'triage' });
  });

  it('says which schema is wrong, and refuses --prefix on a postgres URL', async () => {
    const missing = await cli(['runs', 'list', '--url', db.url, '--schema', 'no_such_schema']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('schema "no_such_schema"');
    const invalid = await cli(['runs', 'list', '--url', db.url, '--schema', 'Bad-Name']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('schema must be a lower-case identifier');
    const prefix = await cli(['runs', 'list', '--url', db.url, '--prefix', 'x']);
    expect(prefix.code).toBe(2);
  });
});
