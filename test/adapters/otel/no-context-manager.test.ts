import {
  agentTask,
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { idOf, otelSetup, parentOf } from './helpers';

// No context manager registered (the API's default keeps no active span across `await`):
// loopwork's own spans must still form one tree, from the parents it keeps by run id.
it('without a context manager, dispatch → process → invoke_agent → chat / execute_tool is still one tree', async () => {
  const otel = await otelSetup({ contextManager: false });
  const { instrumentation } = otel;
  const queue = createMemoryQueue();
  const runs = createMemoryRunStore();
  const echo = defineTool({
    name: 'echo',
    description: 'Echoes',
    input: z.object({ text: z.string() }),
    execute: async ({ text }) => text,
  });
  const assistant = agentTask({
    type: 'assistant',
    checkpoints: createMemorySessionStore(),
    agent: {
      model: new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'echo', input: { text: 'a' } }] }, { text: 'done' }],
      }),
      tools: [echo],
      instrumentation,
    },
  });
  const worker = createWorker({
    queue,
    runs,
    handlers: [assistant.handler],
    pollWaitMs: 20,
    instrumentation,
  });
  await createDispatcher({ queue, runs, instrumentation }).dispatch(assistant.task, {
    prompt: 'go',
  });
  expect(await worker.runOnce()).toBe('completed');
  await worker.stop();

  const dispatch = otel.span('dispatch assistant');
  const attempt = otel.span('process assistant');
  const agent = otel.span('invoke_agent');
  expect(parentOf(dispatch)).toBeUndefined();
  expect(parentOf(attempt)).toBe(idOf(dispatch));
  expect(parentOf(agent)).toBe(idOf(attempt));
  const leaves = otel.spans().filter((span) => /^(chat|execute_tool) /.test(span.name));
  expect(leaves.map((span) => span.name).sort()).toEqual([
    'chat scripted',
    'chat scripted',
    'execute_tool echo',
  ]);
  for (const leaf of leaves) expect(parentOf(leaf)).toBe(idOf(agent));
  expect(new Set(otel.spans().map((span) => span.spanContext().traceId)).size).toBe(1);
});
