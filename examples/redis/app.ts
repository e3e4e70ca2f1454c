/**
 * What the three Redis example programs share: the connection, the key prefix, and the task
 * definition (dispatchers and workers must agree on it).
 *
 * The agent's model is a `ScriptedModel`, so the examples need no API key: it counts the words of
 * the prompt with a tool, then answers. Put a real adapter (`loopwork/anthropic`, …) there instead.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { agentTask, createDispatcher, defineTool, type ModelRequest } from 'loopwork';
import {
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
  createRedisSessionStore,
} from 'loopwork/redis';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The first part of every key. A new one per run of the example, so it never touches anything
 * else on the server: start the dispatcher, worker and SSE server with the same LOOPWORK_PREFIX.
 */
export const prefix = process.env.LOOPWORK_PREFIX ?? `loopwork-example-${randomUUID().slice(0, 8)}`;

const countWords = defineTool({
  name: 'count_words',
  description: 'Counts the words of a text.',
  input: z.object({ text: z.string() }),
  execute: ({ text }) => ({ words: text.split(/\s+/).filter(Boolean).length }),
});

// Decides from the conversation alone, so a run resumed on another worker gets the same answers.
const answer = (request: ModelRequest): ScriptedTurn => {
  const last = request.messages.at(-1);
  if (last?.role === 'user' && typeof last.content === 'string') {
    return { toolCalls: [{ id: 'count', name: 'count_words', input: { text: last.content } }] };
  }
  const counted = last?.role === 'tool' ? JSON.parse(last.content[0]?.output ?? '{}') : {};
  return { chunks: ['Your message has ', `${counted.words} words.`] };
};

/**
 * Connects to Redis and builds the loopwork parts on it, every key under {@link prefix}. One
 * client for the queue and the stores: the queue can then write a task's steps together with its
 * run record in one script each (`queue.jointWith(runs, { heartbeats, events })`, docs/queues.md):
 * a dispatch records and enqueues at once, a claim starts the run and writes its first heartbeat,
 * and the final write acks the message and appends the `task-finished` event.
 */
export function connect() {
  const client = new Redis(redisUrl);
  const queue = createRedisQueue({ client, prefix });
  const runs = createRedisRunStore({ client, prefix });
  const checkpoints = createRedisSessionStore({ client, prefix });
  const assistant = agentTask({
    type: 'assistant',
    checkpoints,
    agent: { model: new ScriptedModel({ turns: answer }), tools: [countWords], maxTurns: 5 },
  });
  return {
    client,
    queue,
    runs,
    checkpoints,
    assistant,
    dispatcher: createDispatcher({ queue, runs }),
    events: createRedisEventLog({ client, prefix, retainMs: 24 * 3_600_000 }),
    heartbeats: createRedisHeartbeatStore({ client, prefix }),
  };
}
