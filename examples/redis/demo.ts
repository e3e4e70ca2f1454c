/**
 * The Redis example end to end, with no Redis to install: starts a private redis-server on a
 * free port, runs `worker.ts` and `sse-server.ts` as separate processes on it, dispatches two
 * agent tasks with `dispatcher.ts`, reads each run's events through the SSE endpoint with
 * `fetch` and prints them, then stops everything and deletes its keys. CI runs it.
 *
 * Run: `npx tsx examples/redis/demo.ts`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer } from './local-redis';

const redis = await startRedisServer();
const port = await freePort();
const prefix = `loopwork-demo-${randomUUID().slice(0, 8)}`; // every key of this run starts so
const token = 'demo-token';
const env = { ...process.env, REDIS_URL: redis.url, LOOPWORK_PREFIX: prefix, PORT: `${port}` };
console.log(`redis-server on ${redis.url}, keys under "${prefix}"`);

/** Runs an example program as its own process (loaded the way this one was, e.g. by tsx). */
function start(file: string, args: string[] = []) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, path, ...args], {
    env: { ...env, SSE_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => console.log(`  [${file}] ${line}`));
  return { child, lines };
}
const firstLine = ({ lines }: ReturnType<typeof start>, pattern: RegExp) =>
  new Promise<string>((resolve) => lines.on('line', (line) => pattern.test(line) && resolve(line)));
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

const worker = start('worker.ts');
const sseServer = start('sse-server.ts');
let failed = false;
try {
  await Promise.all([firstLine(worker, /^ready/), firstLine(sseServer, /^listening/)]);

  const dispatcher = start('dispatcher.ts', ['Count the words of this sentence', 'Hello Redis']);
  const runIds: string[] = [];
  dispatcher.lines.on(
    'line',
    (line) => line.startsWith('dispatched ') && runIds.push(line.slice(11)),
  );
  if ((await exited(dispatcher.child)) !== 0) throw new Error('dispatcher.ts failed');

  for (const runId of runIds) {
    console.log(`\nevents of run ${runId}, through the SSE endpoint:`);
    const response = await fetch(`http://127.0.0.1:${port}/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    let last: { type?: string; status?: string } = {};
    let buffer = '';
    // The server ends the stream after the run's task-finished event.
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (id === undefined || data === undefined) continue; // retry: and keep-alive lines
        const { type, runId: _, ...rest } = JSON.parse(data);
        last = { type, ...rest };
        const details = JSON.stringify(rest);
        console.log(
          `  ${id}  ${type} ${details.length > 80 ? `${details.slice(0, 77)}...` : details}`,
        );
      }
    }
    if (last.type !== 'task-finished' || last.status !== 'completed') {
      throw new Error(`run ${runId} did not end with a completed task-finished event`);
    }
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  worker.child.kill('SIGTERM'); // a graceful stop: no task is running any more
  sseServer.child.kill('SIGTERM');
  await Promise.all([exited(worker.child), exited(sseServer.child)]);
  // Delete what this run wrote: every key of the demo starts with "{<prefix>".
  const client = redis.client();
  let deleted = 0;
  for await (const keys of client.scanStream({ match: `{${prefix}*`, count: 500 })) {
    if ((keys as string[]).length > 0) deleted += await client.del(...(keys as string[]));
  }
  console.log(`\ndeleted ${deleted} keys under "${prefix}"`);
  await redis.stop();
}
process.exit(failed ? 1 : 0);
