// Follow-ups of one agent session cannot race on Redis Streams or BullMQ: the agentTask doc
// example (dispatch with `groupId: sessionId`) runs as written, with several workers at once.
import type { Redis } from 'ioredis';
import {
  agentTask,
  createDispatcher,
  createWorker,
  isFinal,
  type ModelRequest,
  type Queue,
  type Worker,
} from 'loopwork';
import { createBullmqQueue } from 'loopwork/bullmq';
import {
  createRedisEventLog,
  createRedisQueue,
  createRedisRunStore,
  createRedisSessionStore,
} from 'loopwork/redis';
import { ScriptedModel } from 'loopwork/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const queues: Record<string, (prefix: string) => Queue> = {
  'Redis Streams': (prefix) => createRedisQueue({ client, prefix }),
  BullMQ: (prefix) => createBullmqQueue({ connection: client, prefix, stalledIntervalMs: 200 }),
};

for (const [name, createQueue] of Object.entries(queues)) {
  describe(`sessions on ${name}`, () => {
    it('five follow-ups dispatched at once run one at a time, in order, on three workers', async () => {
      const prefix = `s${Math.random().toString(36).slice(2, 8)}`;
      const queue = createQueue(prefix);
      const runs = createRedisRunStore({ client, prefix });
      const events = createRedisEventLog({ client, prefix });
      const checkpoints = createRedisSessionStore({ client, prefix });
      let inFlight = 0;
      let overlapped = false;
      // The model answers slowly and notes any two runs of the session at once.
      const model = new ScriptedModel({
        turns: (request: ModelRequest) => {
          const users = request.messages.filter((m) => m.role === 'user');
          return { text: `reply ${users.length} to "${users.at(-1)?.content}"`, delayMs: 30 };
        },
      });
      // As in agentTask's doc example:
      const assistant = agentTask({
        type: 'assistant',
        checkpoints,
        agent: {
          model,
          maxCostUsd: 1,
          prices: { scripted: { inputPerMTok: 3, outputPerMTok: 15 } },
        },
      });
      const dispatcher = createDispatcher({ queue, runs, events });
      const workers: Worker[] = [];
      for (let i = 0; i < 3; i++) {
        const worker = createWorker({
          queue,
          runs,
          events,
          concurrency: 2,
          pollWaitMs: 100,
          handlers: [
            {
              task: assistant.task,
              async run(payload, context) {
                if (++inFlight > 1) overlapped = true;
                try {
                  return await assistant.handler.run(payload, context);
                } finally {
                  inFlight--;
                }
              },
            },
          ],
        });
        workers.push(worker);
        void worker.run();
      }
      const runIds: string[] = [];
      for (let n = 1; n <= 5; n++) {
        const { runId } = await dispatcher.dispatch(
          assistant.task,
          { prompt: `message ${n}`, sessionId: 's1' },
          { groupId: 's1' },
        );
        runIds.push(runId);
      }
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const records = await Promise.all(runIds.map((runId) => runs.get(runId)));
        if (records.every((record) => record && isFinal(record.status))) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(workers.map((worker) => worker.stop({ graceMs: 1_000 })));
      await queue.close();

      const records = await Promise.all(runIds.map((runId) => runs.get(runId)));
      expect(records.map((record) => [record?.status, record?.error?.message])).toEqual(
        Array(5).fill(['completed', undefined]),
      );
      expect(overlapped, 'two runs of one session ran at once').toBe(false);
      const session = await checkpoints.load('session:s1');
      const users = session?.state.messages
        .filter((message) => message.role === 'user')
        .map((message) => message.content);
      expect(users).toEqual(['message 1', 'message 2', 'message 3', 'message 4', 'message 5']);
      expect(records.map((record) => record?.output)).toEqual(
        [1, 2, 3, 4, 5].map((n) => `reply ${n} to "message ${n}"`),
      );
    });
  });
}
