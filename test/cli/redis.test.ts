import { Redis } from 'ioredis';
import {
  createDispatcher,
  createWorker,
  defineTask,
  handleTask,
  type RedriveResult,
  type RunRecord,
} from 'loopwork';
import { createRedisEventLog, createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';
import { waitFor } from '../stream/helpers';
import { assertBuilt, BIN, cli, run, start } from './helpers';

const ESC = String.fromCharCode(27);
const usage = {
  inputTokens: 100,
  outputTokens: 20,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};
const task = defineTask({
  type: 'summarize',
  payload: z.object({ url: z.string() }),
  queue: 'cli-tests',
});

let server: RedisServer;
let client: Redis;
let url: string;
const prefix = `cli-${Math.random().toString(36).slice(2, 8)}`;
let stores: {
  runs: ReturnType<typeof createRedisRunStore>;
  events: ReturnType<typeof createRedisEventLog>;
  queue: ReturnType<typeof createRedisQueue>;
};
let dispatcher: ReturnType<typeof createDispatcher>;

beforeAll(async () => {
  assertBuilt();
  server = await startRedisServer();
  url = server.url;
  client = new Redis(url);
  stores = {
    runs: createRedisRunStore({ client, prefix }),
    events: createRedisEventLog({ client, prefix }),
    queue: createRedisQueue({ client, prefix }),
  };
  dispatcher = createDispatcher({ ...stores });
});

afterAll(async () => {
  await stores?.queue.close();
  client?.disconnect();
  await server?.stop();
});

const args = (...rest: string[]) => [...rest, '--url', url, '--prefix', prefix];

/** Dispatches a run and moves it to `running`, as a worker starting it would. */
async function runningRun(runId: string): Promise<RunRecord> {
  await dispatcher.dispatch(task, { url: 'https://example.com' }, { runId });
  const record = await stores.runs.transition(runId, {
    from: ['queued'],
    to: 'running',
    set: { attempt: 1, workerId: 'w1', startedAt: Date.now() },
  });
  if (!record) throw new Error('not started');
  return record;
}

async function turn(runId: string, number: number, text: string, costUsd: number) {
  await stores.events.append(runId, {
    type: 'turn-started',
    runId,
    turn: number,
    maxOutputTokens: 100,
    estimatedInputTokens: 10,
  });
  await stores.events.append(runId, { type: 'text-delta', runId, turn: number, text });
  await stores.events.append(runId, {
    type: 'tool-call-started',
    runId,
    turn: number,
    toolCallId: `c${number}`,
    toolName: 'search',
    input: { q: 'x' },
  });
  await stores.events.append(runId, {
    type: 'tool-call-finished',
    runId,
    turn: number,
    toolCallId: `c${number}`,
    toolName: 'search',
    output: 'found it',
    durationMs: 12,
  });
  await stores.events.append(runId, {
    type: 'turn-finished',
    runId,
    turn: number,
    usage,
    costUsd,
    stopReason: 'tool_use',
  });
}

describe('loopwork CLI on Redis (the built bin)', () => {
  it('lists runs, newest first, as a table and as JSON, and filters by status', async () => {
    await dispatcher.dispatch(task, { url: 'a' }, { runId: 'list-1' });
    await runningRun('list-2');
    const human = await cli(args('runs', 'list'));
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^RUN\s+STATUS\s+TASK/);
    expect(human.stdout).toContain('list-1');
    expect(human.stdout.indexOf('list-2')).toBeLessThan(human.stdout.indexOf('list-1'));
    expect(human.stdout).not.toContain('\x1b['); // not a terminal: no colours
    const json = await cli(args('runs', 'list', '--status', 'running', '--json'));
    const page = JSON.parse(json.stdout) as { runs: RunRecord[] };
    expect(page.runs.map((run) => run.runId)).toContain('list-2');
    expect(page.runs.every((run) => run.status === 'running')).toBe(true);
  });

  it('shows a run: record, turns with tokens, cost and tools', async () => {
    await runningRun('show-1');
    await turn('show-1', 1, 'Looking it up', 0.0012);
    await turn('show-1', 2, 'Done', 0.0021);
    const human = await cli(args('runs', 'show', 'show-1'));
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('status    running');
    expect(human.stdout).toMatch(/1\s+120\s+\$0\.0012\s+tool_use\s+search/);
    expect(human.stdout).toContain('total: 240 tokens, $0.0033');
    const json = JSON.parse((await cli(args('runs', 'show', 'show-1', '--json'))).stdout);
    expect(json.run.runId).toBe('show-1');
    expect(json.transcript.turns[1]).toMatchObject({ turn: 2, text: 'Done', costUsd: 0.0021 });
  });

  it('says so, with exit code 3, for a run that does not exist', async () => {
    for (const command of ['show', 'tail', 'cancel']) {
      const result = await cli(args('runs', command, 'no-such-run'));
      expect(result.code, command).toBe(3);
      expect(result.stderr).toContain('no run "no-such-run"');
      expect(result.stdout).toBe('');
    }
  });

  it('cancels a queued run at once and asks a running one to stop', async () => {
    await dispatcher.dispatch(task, { url: 'a' }, { runId: 'cancel-1' });
    const queued = await cli(args('runs', 'cancel', 'cancel-1', '--reason', 'not needed'));
    expect(queued.code).toBe(0);
    expect(queued.stdout).toContain('cancelled');
    expect((await stores.runs.get('cancel-1'))?.status).toBe('cancelled');
    await runningRun('cancel-2');
    const running = JSON.parse((await cli(args('runs', 'cancel', 'cancel-2', '--json'))).stdout);
    expect(running).toEqual({ runId: 'cancel-2', outcome: 'requested', status: 'running' });
    expect((await stores.runs.get('cancel-2'))?.cancel?.reason).toBe(
      'cancelled from the loopwork CLI',
    );
  });

  it('tails a run live to its end, with per-turn progress, and exits 0 when it completed', async () => {
    await runningRun('tail-1');
    await turn('tail-1', 1, 'first', 0.001);
    const child = start(args('runs', 'tail', 'tail-1'));
    await waitFor(() => child.output().includes('turn 1 finished'), 'the history');
    await turn('tail-1', 2, 'second \x1b]0;pwned\x07\x1b[2Jwith escapes', 0.002);
    await stores.events.append('tail-1', {
      type: 'task-finished',
      runId: 'tail-1',
      status: 'completed',
      attempt: 1,
    });
    const result = await child.result;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('assistant first');
    expect(result.stdout).toContain('tool search {"q":"x"}');
    expect(result.stdout).toContain(
      'turn 2 finished: 120 tokens, $0.0020 (total 240 tokens, $0.0030)',
    );
    expect(result.stdout).toContain('completed after 2 turns: 240 tokens, $0.0030');
    // A run's output cannot drive the terminal: escape sequences are stripped.
    expect(result.stdout).not.toContain('\x1b');
    expect(result.stdout).toContain('assistant second ]0;pwned[2Jwith escapes');
  });

  it('on a terminal: colours and a redrawn progress line, and no colours under NO_COLOR', async () => {
    await runningRun('tty-1');
    await turn('tty-1', 1, 'hello', 0.004);
    await stores.events.append('tty-1', {
      type: 'task-finished',
      runId: 'tty-1',
      status: 'completed',
      attempt: 1,
    });
    // util-linux `script` runs the bin on a pseudo-terminal, as a person's shell would.
    const command = ['node', BIN, ...args('runs', 'tail', 'tty-1')]
      .map((part) => `'${part}'`)
      .join(' ');
    const tty = await run('script', ['-qec', command, '/dev/null'], { TERM: 'xterm-256color' });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toContain('\x1b[32mcompleted'); // green
    expect(tty.stdout).toContain('\r\x1b[2K'); // the progress line is cleared and redrawn
    expect(tty.stdout).toMatch(/turn 1 · 120 tokens · \$0\.0040/);
    expect(tty.stdout).not.toContain('turn 1 finished:'); // the per-turn lines are for pipes
    const plain = await run('script', ['-qec', command, '/dev/null'], {
      NO_COLOR: '1',
      TERM: 'xterm-256color',
    });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(new RegExp(`${ESC}\\[\\d+m`)); // no SGR (colour) sequence
    expect(plain.stdout).toMatch(/turn 1 · 120 tokens · \$0\.0040/);
  });

  it('tails as JSON lines, and exits 6 for a run that ended otherwise', async () => {
    await runningRun('tail-2');
    await turn('tail-2', 1, 'x', 0.001);
    await stores.events.append('tail-2', {
      type: 'task-finished',
      runId: 'tail-2',
      status: 'failed',
      attempt: 1,
      error: { code: 'handler_error', message: 'boom' },
    });
    const result = await cli(args('runs', 'tail', 'tail-2', '--json'));
    expect(result.code).toBe(6);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.data.type)).toEqual([
      'turn-started',
      'text-delta',
      'tool-call-started',
      'tool-call-finished',
      'turn-finished',
      'task-finished',
    ]);
    expect(lines.every((line) => typeof line.id === 'string')).toBe(true);
  });

  it('lists dead letters and counts queue messages by state', async () => {
    const queue = 'cli-stats';
    await stores.queue.enqueue(queue, JSON.stringify({ runId: 'dead-1' }));
    await stores.queue.enqueue(queue, 'b');
    await stores.queue.enqueue(queue, 'c');
    await stores.queue.enqueue(queue, 'later', { delayMs: 60_000 });
    const [first, second] = await stores.queue.claim([queue], {
      consumer: 't',
      leaseMs: 60_000,
      max: 2,
    });
    await stores.queue.deadLetter(first as NonNullable<typeof first>, 'payload did not parse');
    expect(second).toBeDefined();
    const stats = JSON.parse(
      (await cli(args('queues', 'stats', '--queue', queue, '--json'))).stdout,
    );
    expect(stats.queues).toEqual([{ queue, ready: 1, delayed: 1, leased: 1, deadLettered: 1 }]);
    const letters = await cli(args('dead-letters', 'list', '--queue', queue));
    expect(letters.code).toBe(0);
    expect(letters.stdout).toMatch(/dead-1\s+1\s+payload did not parse/);
  });

  it('redrives dead letters as new linked runs that a worker completes, and keeps what it skips', async () => {
    const queue = 'cli-redrive';
    const greet = defineTask({ type: 'greet', payload: z.object({ name: z.string() }), queue });
    const other = defineTask({ type: 'other', payload: z.object({}), queue });
    const worker = (handler: Parameters<typeof createWorker>[0]['handlers'][number]) =>
      createWorker({ queue: stores.queue, runs: stores.runs, handlers: [handler] });
    // Deployed without greet's handler: its runs are dead-lettered as unknown tasks.
    const stale = worker(handleTask(other, async () => 'other'));
    for (const name of ['Ada', 'Bo']) {
      await dispatcher.dispatch(greet, { name }, { runId: `redrive-${name}` });
      expect(await stale.runOnce({ waitMs: 0 })).toBe('dead_lettered');
    }
    await stores.queue.enqueue(queue, 'not a task message');
    expect(await stale.runOnce({ waitMs: 0 })).toBe('dead_lettered');
    const [ada, bo, junk] = await stores.queue.deadLetters(queue);
    if (!(ada && bo && junk)) throw new Error('three dead letters');

    const none = await cli(args('dead-letters', 'redrive', '--queue', queue));
    expect([none.code, none.stderr]).toEqual([2, expect.stringMatching(/name the letters/)]);
    const missing = await cli(args('dead-letters', 'redrive', '--queue', queue, ada.id, 'nope'));
    expect([missing.code, missing.stderr]).toEqual([3, expect.stringMatching(/"nope"/)]);
    expect(await stores.queue.deadLetters(queue)).toHaveLength(3); // nothing done

    const one = await cli(args('dead-letters', 'redrive', '--queue', queue, ada.id));
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/redrive-Ada\s+redriven\s+[0-9a-f-]{36}/);
    const rest = await cli(args('dead-letters', 'redrive', '--queue', queue, '--all', '--json'));
    expect(rest.code).toBe(1); // the junk letter is skipped
    const { results } = JSON.parse(rest.stdout) as { results: RedriveResult[] };
    expect(results.map((result) => [result.fromRunId, result.outcome])).toEqual([
      ['redrive-Bo', 'redriven'],
      [undefined, 'skipped'],
    ]);
    expect((await stores.queue.deadLetters(queue)).map((letter) => letter.id)).toEqual([junk.id]);

    const greeter = worker(handleTask(greet, async ({ name }) => `hello ${name}`));
    expect(await greeter.runOnce({ waitMs: 0 })).toBe('completed');
    expect(await greeter.runOnce({ waitMs: 0 })).toBe('completed');
    const redriven = await stores.runs.list({ taskType: 'greet', status: 'completed' });
    expect(redriven.runs.map((run) => [run.redrivenFrom, run.output]).sort()).toEqual([
      ['redrive-Ada', 'hello Ada'],
      ['redrive-Bo', 'hello Bo'],
    ]);
    const shown = await cli(args('runs', 'show', redriven.runs[0]?.runId as string));
    expect(shown.stdout).toMatch(/redrive\s+of redrive-(Ada|Bo)/);
  });

  it('answers bad command lines and unreachable backends with a message and its exit code', async () => {
    const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
      [['runs', 'list'], {}, 2, /no backend: pass --url/],
      [['runs', 'list', '--url', 'not a url'], {}, 2, /--url is not a URL/],
      [['runs', 'list', '--url', 'http://localhost'], {}, 2, /unsupported scheme "http:"/],
      [
        ['runs', 'list', '--url', 'redis://127.0.0.1:1'],
        {},
        5,
        /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
      ],
      [
        ['runs', 'list', '--url', 'redis://:hunter2@127.0.0.1:1'],
        {},
        5,
        /redis:\/\/:\*\*\*@127\.0\.0\.1:1/,
      ],
      [
        ['runs', 'lsit'],
        {},
        2,
        /unknown command "runs lsit"; "runs" takes: list, show, tail, cancel/,
      ],
      [
        args('dead-letters', 'redrive', '--queue', 'q', 'some-id', '--all'),
        {},
        2,
        /either letter ids or --all, not both/,
      ],
      [['runs', 'list', '--bogus'], {}, 2, /Unknown option '--bogus'/],
      [args('runs', 'list', '--limit', '0'), {}, 2, /--limit must be an integer from 1 to 1000/],
      [args('runs', 'list', '--status', 'done'), {}, 2, /--status must be one of queued, running/],
      [args('runs', 'show'), {}, 2, /missing the run id/],
      [args('dead-letters', 'list'), {}, 2, /--queue is required/],
      [
        ['runs', 'list', '--url', 'redis://127.0.0.1:1', '--schema', 'x'],
        {},
        2,
        /--schema is for postgres/,
      ],
    ];
    for (const [argv, env, code, message] of cases) {
      const result = await cli(argv, env);
      expect(result.code, argv.join(' ')).toBe(code);
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.stderr).not.toContain('hunter2');
      expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }
    const fromEnv = await cli(['runs', 'list', '--prefix', prefix, '--json'], {
      LOOPWORK_URL: url,
    });
    expect(fromEnv.code).toBe(0);
  });
});
