// A Claude Agent SDK task under a real worker process, SIGKILLed mid-run (the worker, its budget
// proxy and its `claude` child all lose their parent at once), is taken over by a worker in
// another process: it resumes the Claude session from the checkpoint in Redis (the transcript
// travels in the checkpoint, not on the first worker's disk), the history is intact, and no tool
// call whose result was checkpointed runs again.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Message } from 'loopwork';
import { fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { afterAll, expect, it } from 'vitest';
import { type FixtureProcess, startFixture } from '../../e2e/fixtures/processes';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';
import { waitFor } from '../../orchestration/helpers';
import { ENV, resultIds, wire } from './fixtures/claude-wiring';

const STEPS = 4;
const WORKER = '../../adapters/claude-agent-sdk/fixtures/claude-worker.ts';

const expected = (prompt: string): Message[] => {
  const messages: Message[] = [{ role: 'user', content: prompt }];
  for (let n = 1; n <= STEPS; n++) {
    messages.push({
      role: 'assistant',
      content: [{ type: 'tool-call', id: `t${n}`, name: 'step', input: { n } }],
    });
    messages.push({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: `t${n}`,
          toolName: 'step',
          output: `step ${n} done`,
          isError: false,
        },
      ],
    });
  }
  messages.push({ role: 'assistant', content: [{ type: 'text', text: 'all steps done' }] });
  return messages;
};

/**
 * Pids of the processes this test started whose environment holds `marker` (its unique key
 * prefix): the `claude` child of a SIGKILLed worker outlives it, retrying calls to the dead
 * proxy (it cannot spend: the proxy died with its worker) until its retries run out.
 */
function pidsWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

let server: RedisServer | undefined;
let marker: string | undefined;
const processes: FixtureProcess[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  if (marker) for (const pid of pidsWithMarker(marker)) process.kill(pid, 'SIGKILL');
  for (const close of closers) await close();
  await server?.stop();
});

it('SIGKILL of the worker mid-run: another worker process resumes the Claude session, history intact, no checkpointed tool call repeated', {
  timeout: 300_000,
}, async () => {
  server = await startRedisServer();
  // Each model call takes a while, so the kill lands while a call is in flight.
  const upstream = await fakeAnthropicUpstream({
    apiKey: 'sk-kill-test-upstream',
    turn: (n) =>
      n < STEPS
        ? { toolCalls: [{ name: 'step', id: `t${n + 1}`, input: { n: n + 1 } }], delayMs: 1_500 }
        : { text: 'all steps done', delayMs: 200 },
  });
  closers.push(() => upstream.close());
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  closers.push(async () => void client.disconnect());
  const prefix = `claude-kill-${randomUUID().slice(0, 8)}`;
  marker = `${ENV.prefix}=${prefix}`;
  const env = {
    [ENV.port]: String(server.port),
    [ENV.prefix]: prefix,
    [ENV.upstream]: upstream.url,
  };
  const { dispatcher, task, checkpoints, runs, events, keys, queue } = wire(
    client,
    prefix,
    upstream.url,
  );
  closers.unshift(() => queue.close());

  const first = startFixture(WORKER, env, 'first');
  processes.push(first);
  await first.ready;
  const prompt = 'do the four steps';
  await dispatcher.dispatch(task.task, { prompt }, { runId: 'claude-kill-1' });

  // Kill once the checkpoint holds two tool results: the third model call is then in flight.
  await waitFor(
    async () => {
      const saved = await checkpoints.load('claude-kill-1');
      return saved && resultIds(saved.state).size >= 2 ? saved : undefined;
    },
    'a checkpoint holding two tool results',
    120_000,
  );
  await first.kill();
  const atKill = (await checkpoints.load('claude-kill-1'))!.state;
  expect(atKill.runtime?.name).toBe('claude-agent-sdk');
  expect(
    (atKill.runtime?.handle as { entries?: unknown[] } | undefined)?.entries?.length,
  ).toBeGreaterThan(0);
  const requestsAtKill = upstream.requests.length;

  const second = startFixture(WORKER, env, 'second');
  processes.push(second);
  await second.ready;
  const record = await waitFor(
    async () => {
      const run = await runs.get('claude-kill-1');
      return run && run.status !== 'running' && run.status !== 'queued' ? run : undefined;
    },
    'the run to end on the second worker',
    180_000,
  );

  const tails = `${first.tail()}\n${second.tail()}`;
  expect(record.status, tails).toBe('completed');
  const final = (await checkpoints.load('claude-kill-1'))!.state;
  const brief = (messages: Message[]) =>
    messages.map((m) => `${m.role}:${JSON.stringify(m.content).slice(0, 90)}`).join('\n');
  expect(
    final.messages,
    `at kill:\n${brief(atKill.messages)}\nfinal:\n${brief(final.messages)}`,
  ).toEqual(expected(prompt));
  // Turns: those of the first worker (checkpointed) and the second one's, the history's five.
  expect(final.turns.length).toBeGreaterThanOrEqual(STEPS + 1);
  expect(await client.hgetall(keys.violations)).toEqual({});
  const executions = await client.hgetall(keys.executions);
  for (const id of resultIds(atKill)) expect(executions[`claude-kill-1:${id}`]).toBe('1');
  for (let n = 1; n <= STEPS; n++)
    expect(Number(executions[`claude-kill-1:t${n}`])).toBeGreaterThanOrEqual(1);
  // The second worker continued the session: its first call held every turn the checkpointed
  // transcript did (a result checkpointed beside it, not yet in it, is returned without running).
  const resumed = upstream.requests.slice(requestsAtKill);
  expect(resumed.length).toBeGreaterThan(0);
  const firstResumed = resumed[0]!.messages as Array<{ role: string }>;
  const turnsAtKill = atKill.messages.filter((m) => m.role === 'assistant').length;
  expect(turnsAtKill).toBeGreaterThanOrEqual(1);
  expect(firstResumed.filter((m) => m.role === 'assistant').length).toBeGreaterThanOrEqual(
    turnsAtKill,
  );
  const types = (await events.read('claude-kill-1')).map(
    (e) => e.data as { type: string; resumed?: boolean },
  );
  expect(types.some((e) => e.type === 'run-started' && e.resumed === true)).toBe(true);
  console.log(
    `claude-agent-sdk kill: killed after ${resultIds(atKill).size} checkpointed tool results; resumed on another worker process; ${final.turns.length} turns; history intact`,
  );
});
