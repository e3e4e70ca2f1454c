// The worker's event appends (issue 13): events emitted while an append is in flight go together
// in one appendMany, queued text deltas of a turn are joined, and nothing is lost or reordered —
// on the memory log (through a counting appendMany) and on a real Redis log.
import type { Redis } from 'ioredis';
import { defineTask, type EventLog, handleTask } from 'loopwork';
import { createRedisEventLog } from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';
import { memorySetup, typesOf } from './helpers';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const job = defineTask({ type: 'chatty', payload: z.object({ n: z.number() }) });

/** `log` with its appends counted (one per call, however many events it carries). */
function counted(log: EventLog & { appendMany?: EventLog['appendMany'] }) {
  const calls = { append: 0, appendMany: 0 };
  const wrapped: EventLog = {
    ...log,
    append: (runId, data) => {
      calls.append++;
      return log.append(runId, data);
    },
    appendMany: async (runId, data) => {
      calls.appendMany++;
      if (log.appendMany) return log.appendMany(runId, data);
      const ids: string[] = [];
      for (const item of data) ids.push(await log.append(runId, item));
      return ids;
    },
  };
  return { log: wrapped, calls };
}

const tokens = Array.from({ length: 300 }, (_, n) => `tok${n} `);

const chatty = handleTask(job, async (_payload, { emit, runId }) => {
  emit({ type: 'turn-started', runId, turn: 1 });
  for (const text of tokens) emit({ type: 'text-delta', runId, turn: 1, text });
  emit({ type: 'turn-finished', runId, turn: 1 });
  for (let step = 1; step <= 200; step++) emit({ type: 'step', step });
  return 'done';
});

describe.each([
  ['memory', () => memorySetup().events],
  [
    'redis',
    () => createRedisEventLog({ client, prefix: `eb${Math.random().toString(36).slice(2, 8)}` }),
  ],
])('event appends on the %s log', (_name, createLog) => {
  it('joins queued text deltas and sends queued events together, losing and reordering none', async () => {
    const setup = memorySetup();
    const { log, calls } = counted(createLog());
    const worker = setup.worker({ events: log, handlers: [chatty] });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'chatty-1' });
    expect(await worker.runOnce()).toBe('completed');

    const events = await log.read('chatty-1');
    const data = events.map(
      (event) => event.data as { type: string; text?: string; step?: number },
    );
    const agentTypes = typesOf(events).filter((type) => type !== 'task-finished');
    // The first event went alone; the 502 behind it in at most a few appends.
    expect(calls.append + calls.appendMany).toBeLessThanOrEqual(4);
    expect(
      data
        .filter((event) => event.type === 'text-delta')
        .map((event) => event.text)
        .join(''),
    ).toBe(tokens.join(''));
    expect(data.filter((event) => event.type === 'text-delta').length).toBeLessThanOrEqual(2);
    expect(data.filter((event) => event.type === 'step').map((event) => event.step)).toEqual(
      Array.from({ length: 200 }, (_, n) => n + 1),
    );
    expect(agentTypes.indexOf('turn-finished')).toBeGreaterThan(
      agentTypes.lastIndexOf('text-delta'),
    );
    expect(agentTypes[0]).toBe('turn-started');
    expect(typesOf(events).at(-1)).toBe('task-finished');
  });
});

describe('a batch the log refuses', () => {
  it('loses the events it carried, not the ones after it; the worker reports the count once', async () => {
    const setup = memorySetup();
    let batches = 0;
    const flaky: EventLog = {
      ...setup.events,
      appendMany: (runId, data) =>
        ++batches === 1
          ? Promise.reject(new Error('OOM command not allowed'))
          : (setup.events.appendMany?.(runId, data) ?? Promise.resolve([])),
    };
    const worker = setup.worker({
      events: flaky,
      handlers: [
        handleTask(job, async (_payload, { emit }) => {
          for (const step of ['a', 'b', 'c']) emit({ type: 'step', step });
          await new Promise((resolve) => setTimeout(resolve, 50));
          for (const step of ['d', 'e', 'f']) emit({ type: 'step', step });
          return 'done';
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'lossy' });
    expect(await worker.runOnce()).toBe('completed');
    const steps = (await setup.events.read('lossy'))
      .map((event) => event.data as { type: string; step?: string })
      .filter((data) => data.type === 'step')
      .map((data) => data.step);
    expect(steps).toEqual(['a', 'd', 'e', 'f']);
    expect(setup.errors.map(String)).toEqual([
      'Error: [loopwork:worker] 2 event(s) of run "lossy" could not be appended to the event log; the first failure: OOM command not allowed',
    ]);
  });
});
