/**
 * `loopwork/client`: follow a run's events from a browser or Node with `followRun`, typed, with
 * resume. A worker runs a scripted agent (offline) behind an SSE endpoint; the client prints the
 * run as it happens, and the connection is cut midway to show that it resumes with Last-Event-ID
 * and misses nothing. Run: `npx tsx examples/client.ts`
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createSseHandler,
  createWorker,
  defineTool,
} from 'loopwork';
import { followRun, isEventOfType } from 'loopwork/client';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const token = 'example-token';

const sse = createSseHandler({
  events,
  authorize: ({ headers }) => headers.get('authorization') === `Bearer ${token}`,
});
const server = createServer((request, response) => void sse.node(request, response));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const weather = defineTool({
  name: 'weather',
  description: 'Current weather in a city.',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    await sleep(100);
    return `${city}: 18°C, light rain`;
  },
});
const assistant = agentTask({
  type: 'assistant',
  checkpoints: createMemorySessionStore(),
  agent: {
    tools: [weather],
    model: new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'weather', input: { city: 'Lisbon' } }], delayMs: 50 },
        { chunks: ['Take ', 'an ', 'umbrella.'], delayMs: 100 },
      ],
    }),
  },
});
const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
const working = worker.run();
const { runId } = await createDispatcher({ queue, runs }).dispatch(assistant.task, {
  prompt: 'Do I need an umbrella in Lisbon?',
});

// The client: everything below runs as is in a browser (no Node imports in loopwork/client).
const seen: string[] = [];
let cut = false;
for await (const { id, data } of followRun(`${base}/runs/${runId}/events`, {
  headers: { authorization: `Bearer ${token}` },
  retryDelayMs: 50,
})) {
  seen.push(id);
  if (data.type === 'text-delta') process.stdout.write(data.text);
  else if (isEventOfType(data, 'tool-call-started')) {
    console.log(`[tool] ${data.toolName}(${JSON.stringify(data.input)})`);
    if (!cut) {
      cut = true;
      server.closeAllConnections(); // a network blip: followRun reconnects with Last-Event-ID
    }
  } else if (data.type === 'turn-finished') {
    console.log(
      `\n[turn ${data.turn}] ${data.usage.outputTokens} output tokens, $${data.costUsd.toFixed(4)}`,
    );
  } else if (data.type === 'task-finished') console.log(`[run] ${data.status}`);
}

const stored = (await events.read(runId)).map((event) => event.id);
const exact = JSON.stringify(seen) === JSON.stringify(stored);
console.log(`received all ${stored.length} events exactly once, across a cut connection: ${exact}`);
await worker.stop();
await working;
server.close();
if (!exact || !cut) process.exitCode = 1;
