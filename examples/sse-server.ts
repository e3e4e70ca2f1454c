/**
 * An HTTP server that streams a run's events as Server-Sent Events: `GET /runs/:runId/events`,
 * behind a bearer token, with catch-up after a disconnect.
 *
 * So that CI can run it, the program is also its own client: it dispatches an agent task, reads
 * the run's stream with `fetch` and prints the frames, disconnects midway, reconnects with
 * `Last-Event-ID` and checks that it receives exactly the events it missed, then stops.
 * The model is scripted (offline). Run: `npx tsx examples/sse-server.ts` (PORT=3000 to fix the port)
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
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const token = process.env.SSE_TOKEN ?? 'example-token';
const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();

const sse = createSseHandler({
  events,
  // Required, no open default. In your app: does this caller own this run?
  authorize: ({ headers }) => headers.get('authorization') === `Bearer ${token}`,
  keepAliveMs: 15_000, // a comment line this often keeps proxies from closing a quiet stream
});
const server = createServer((request, response) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method !== 'GET' || !/^\/runs\/[^/]+\/events$/.test(path)) {
    response.writeHead(404).end('try GET /runs/<runId>/events\n');
    return;
  }
  sse.node(request, response).catch(() => response.destroy());
});
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`listening on ${base}/runs/<runId>/events`);

// A worker running a slow agent (it waits between steps, so the client can miss a few events).
const lookUp = defineTool({
  name: 'look_up',
  description: 'Looks up a fact.',
  input: z.object({ topic: z.string() }),
  execute: async ({ topic }) => {
    await sleep(150);
    return `${topic}: 42`;
  },
});
const assistant = agentTask({
  type: 'assistant',
  checkpoints: createMemorySessionStore(),
  agent: {
    tools: [lookUp],
    model: new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'look_up', input: { topic: 'the answer' } }], delayMs: 50 },
        { chunks: ['The answer ', 'is ', '42.'], delayMs: 150 },
      ],
    }),
  },
});
const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
const working = worker.run();
const { runId } = await createDispatcher({ queue, runs }).dispatch(assistant.task, {
  prompt: 'What is the answer?',
});
const url = `${base}/runs/${runId}/events`;

console.log('\nwithout the token:', (await fetch(url)).status);
console.log('\nfirst connection, dropped after the first tool call starts:');
const first = await readFrames(undefined, (frame) => frame.event === 'tool-call-started');
const lastSeen = first.at(-1)?.id;
await sleep(200); // events keep coming while the client is away

console.log(`\nreconnect with Last-Event-ID: ${lastSeen}`);
const second = await readFrames(lastSeen);
const missed = await events.read(runId, { after: lastSeen });
const exact = JSON.stringify(second.map((f) => f.id)) === JSON.stringify(missed.map((e) => e.id));
console.log(`\nmissed ${missed.length} events; the reconnect delivered exactly those: ${exact}`);

const after = await fetch(url, {
  headers: { authorization: `Bearer ${token}`, 'last-event-id': second.at(-1)?.id ?? '' },
});
console.log(`reconnect after task-finished: ${after.status} (tells EventSource to stop)`);

await worker.stop();
await working;
server.close();
if (!exact || after.status !== 204) process.exitCode = 1;

interface Frame {
  id: string;
  event: string;
  data: string;
}

/** Reads the run's stream with fetch until the server ends it, or `dropAfter` says to disconnect. */
async function readFrames(lastEventId?: string, dropAfter?: (frame: Frame) => boolean) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const response = await fetch(url, { headers });
  const frames: Frame[] = [];
  let buffer = '';
  for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const fields = new Map<string, string>();
      for (const line of buffer.slice(0, end).split('\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      buffer = buffer.slice(end + 2);
      if (!fields.has('id')) continue; // `retry:` and keep-alive comments carry no event
      const frame = {
        id: fields.get('id')!,
        event: fields.get('event')!,
        data: fields.get('data')!,
      };
      frames.push(frame);
      const { type: _type, runId: _runId, ...rest } = JSON.parse(frame.data); // shortened
      console.log(
        `  id: ${frame.id}  ${frame.event.padEnd(18)} ${JSON.stringify(rest).slice(0, 60)}`,
      );
      if (dropAfter?.(frame)) return frames; // leaving the loop cancels the body: a disconnect
    }
  }
  return frames; // the server closed the stream after the run's final event
}
