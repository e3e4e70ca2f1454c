/**
 * The run viewer: a page that lists runs and shows each one's turns, tool calls, usage and cost,
 * following it live. Mounted at /runs/ behind a session cookie. A worker runs one scripted agent
 * (offline) so there is something to see.
 *
 * Run: `npx tsx examples/viewer.ts` fetches the page and the listing once and exits (as CI does);
 * `KEEP_OPEN=1 PORT=3000 npx tsx examples/viewer.ts` keeps serving: open
 * http://localhost:3000/runs/ after setting the cookie `session=example` for localhost.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createRunViewer,
  createWorker,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();

const viewer = createRunViewer({
  runs,
  events,
  basePath: '/runs/',
  // Required, no open default. In your app: check the session cookie against your sessions.
  authorize: ({ headers }) => /(?:^|;\s*)session=example(?:;|$)/.test(headers.get('cookie') ?? ''),
});
const server = createServer((request, response) => void viewer.node(request, response));
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/runs/`;

const assistant = agentTask({
  type: 'assistant',
  checkpoints: createMemorySessionStore(),
  agent: { model: new ScriptedModel({ turns: [{ chunks: ['Hello ', 'from the viewer.'] }] }) },
});
const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
const working = worker.run();
const { runId } = await createDispatcher({ queue, runs, events }).dispatch(assistant.task, {
  prompt: 'Say hello',
});
while ((await runs.get(runId))?.status !== 'completed') await new Promise((r) => setTimeout(r, 20));

const cookie = { headers: { cookie: 'session=example' } };
const page = await fetch(base, cookie);
console.log(`GET ${base} → ${page.status}, ${(await page.text()).length} bytes of HTML`);
console.log(`  content-security-policy: ${page.headers.get('content-security-policy')}`);
console.log(`without the cookie → ${(await fetch(base)).status}`);
const listing = (await (await fetch(`${base}api/runs`, cookie)).json()) as {
  runs: Array<{ runId: string; status: string }>;
};
for (const run of listing.runs) console.log(`  run ${run.runId}: ${run.status}`);

if (process.env.KEEP_OPEN) {
  console.log(`serving ${base} (Ctrl-C to stop)`);
} else {
  await worker.stop();
  await working;
  server.close();
  if (page.status !== 200 || listing.runs.length !== 1) process.exitCode = 1;
}
