/**
 * Agent tasks through BullMQ: a dispatcher enqueues three agent runs (one of them high priority)
 * and a deliberately malformed message, a worker runs them off the BullMQ queue, and the malformed
 * one ends in the dead-letter stream with its reason. A plain BullMQ `Queue` on the same Redis
 * and prefix sees the loopwork jobs, as Bull Board or your own BullMQ code would.
 *
 * Offline: it starts a throwaway redis-server on a free port (examples/redis/local-redis.ts), and
 * the model is a `ScriptedModel`, so there is no API key and no network.
 *
 * Run: `npx tsx examples/bullmq.ts`
 */
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  agentTask,
  createDispatcher,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  type RunRecord,
} from 'loopwork';
import { createBullmqQueue } from 'loopwork/bullmq';
import { ScriptedModel } from 'loopwork/testing';
import { startRedisServer } from './redis/local-redis';

const server = await startRedisServer();
// Your application's connection; the adapter shares it and never closes it.
const connection = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: null });
const queue = createBullmqQueue({ connection, prefix: 'bull', maxDeliveries: 5 });
const runs = createMemoryRunStore(); // one process here; use a shared store across processes
const checkpoints = createMemorySessionStore();

const order: string[] = [];
const assistant = agentTask({
  type: 'assistant',
  checkpoints,
  agent: (payload) => {
    order.push(payload.prompt ?? '');
    return { model: new ScriptedModel({ turns: [{ text: `Done: ${payload.prompt}` }] }) };
  },
});
const dispatcher = createDispatcher({ queue, runs });
const prompts = ['Summarize the changelog', 'Triage issue #12', 'Fix the failing build'];
const runIds: string[] = [];
for (const [i, prompt] of prompts.entries()) {
  const priority = i === 2 ? 'high' : 'normal';
  runIds.push((await dispatcher.dispatch(assistant.task, { prompt }, { priority })).runId);
}
await queue.enqueue(assistant.task.queue, '{"not": "a task envelope"}');

// loopwork's default queue `loopwork:tasks:assistant` is the BullMQ queue `loopwork.tasks.assistant`.
const plain = new BullQueue('loopwork.tasks.assistant', { connection, prefix: 'bull' });
console.log('BullMQ sees:', await plain.getJobCounts('prioritized', 'active', 'completed'));

const worker = createWorker({ queue, runs, handlers: [assistant.handler], pollWaitMs: 200 });
const running = worker.run();
const terminal = (record?: RunRecord) =>
  record !== undefined && ['completed', 'failed', 'dead_lettered'].includes(record.status);
while (!(await Promise.all(runIds.map((id) => runs.get(id)))).every(terminal)) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await worker.stop();
await running;

console.log('ran in this order (high priority first):', order);
for (const runId of runIds) {
  const saved = await checkpoints.load(runId);
  const last = saved?.state.messages.at(-1);
  const text =
    last?.role === 'assistant' && last.content[0]?.type === 'text' ? last.content[0].text : '';
  console.log(`${runId.slice(0, 8)} ${(await runs.get(runId))?.status}: ${text}`);
}
for (const letter of await queue.deadLetters(assistant.task.queue)) {
  console.log(`dead letter ${letter.id.slice(0, 8)}: ${letter.reason}`);
}
console.log('BullMQ sees:', await plain.getJobCounts('prioritized', 'active', 'completed'));

await plain.close();
await queue.close();
connection.disconnect();
await server.stop();
