// A worker SIGKILLed in the middle of a process task: its agent process (a process group of its
// own, so the kill does not reach it) sees its stdin close and exits; another worker process takes
// the run over after the lease and resumes the agent from the handle in the checkpoint, with the
// transcript whole and no checkpointed tool call run again.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from 'loopwork';
import { afterAll, expect, it } from 'vitest';
import { type FixtureProcess, startFixture } from '../../e2e/fixtures/processes';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';
import { wireProcessTask } from './fixtures/process-wiring';
import { gone } from './run-helpers';
import { closeServers, serveTurns } from './scenario-server';

const STEPS = 4;
let server: RedisServer | undefined;
const processes: FixtureProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await server?.stop();
  await closeServers();
});

/** Polls `check` every 100 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The transcript of an uninterrupted run: STEPS tool calls, then the answer. */
function expectedTranscript(): Message[] {
  const messages: Message[] = [{ role: 'user', content: 'go' }];
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
  messages.push({ role: 'assistant', content: [{ type: 'text', text: 'all done' }] });
  return messages;
}

it('a worker SIGKILLed mid-run of a process task: another worker resumes the agent from its checkpoint, history intact', {
  timeout: 180_000,
}, async () => {
  server = await startRedisServer();
  const prefix = `process-kill-${randomUUID().slice(0, 8)}`;
  const scriptUrl = await serveTurns((n) =>
    n < STEPS
      ? { toolCalls: [{ name: 'step', input: { n: n + 1 }, id: `t${n + 1}` }], delayMs: 400 }
      : { text: 'all done', delayMs: 400 },
  );
  const env = {
    LOOPWORK_E2E_REDIS_PORT: String(server.port),
    LOOPWORK_E2E_PREFIX: prefix,
    LOOPWORK_SCRIPT_URL: scriptUrl,
  };
  const client = server.client();
  const { dispatcher, agent, runs, checkpoints, events, executions, queue } = wireProcessTask(
    client,
    prefix,
    scriptUrl,
  );

  const first = startFixture(
    new URL('./fixtures/process-worker.ts', import.meta.url).pathname,
    env,
    'worker-a',
  );
  processes.push(first);
  await first.ready;
  await dispatcher.dispatch(agent.task, { prompt: 'go' }, { runId: 'p1' });

  // Kill the worker once a checkpoint holds the first tool result.
  const saved = await waitFor('a checkpoint holding t1', 60_000, async () => {
    const stored = await checkpoints.load('p1');
    return stored?.state.messages.some((message) => message.role === 'tool')
      ? stored.state
      : undefined;
  });
  await first.kill();
  const agentPid = Number((saved.runtime?.handle as { pid?: number } | undefined)?.pid);
  expect(agentPid, 'the agent put its pid in its handle').toBeGreaterThan(0);
  // Its agent process is in a group of its own: the SIGKILL did not reach it, its closed stdin did.
  await waitFor(`agent process ${agentPid} to exit`, 30_000, async () =>
    gone(agentPid) ? true : undefined,
  );

  const second = startFixture(
    new URL('./fixtures/process-worker.ts', import.meta.url).pathname,
    env,
    'worker-b',
  );
  processes.push(second);
  const record = await waitFor('the run to end', 120_000, async () => {
    const run = await runs.get('p1');
    return run && ['completed', 'failed', 'dead_lettered'].includes(run.status) ? run : undefined;
  });
  expect(record.status, `${record.error?.message}\n${first.tail()}\n${second.tail()}`).toBe(
    'completed',
  );
  expect(record.output).toBe('all done');
  const final = (await checkpoints.load('p1'))?.state;
  expect(final?.messages).toEqual(expectedTranscript());
  expect(final?.runtime?.name).toBe('process:loopwork-ndjson');
  const counts = Object.fromEntries(
    Object.entries(await client.hgetall(executions)).map(([key, n]) => [key, Number(n)]),
  );
  expect(counts['p1:t1'], 't1 was checkpointed before the kill: not run again').toBe(1);
  for (let n = 1; n <= STEPS; n++) expect(counts[`p1:t${n}`]).toBeGreaterThanOrEqual(1);
  const log = (await events.read('p1')).map(
    (event) => event.data as { type: string; resumed?: boolean },
  );
  expect(
    log.some((event) => event.type === 'run-started' && event.resumed === true),
    'the second attempt resumed',
  ).toBe(true);
  console.log(
    `process kill: worker SIGKILLed after ${saved.messages.filter((m) => m.role === 'tool').length} checkpointed tool result(s); ` +
      `agent pid ${agentPid} exited on stdin EOF; resumed on another worker; executions ${JSON.stringify(counts)}; ` +
      `${final?.turns.length} turns, ${final?.messages.length} messages`,
  );
  await queue.close();
});
