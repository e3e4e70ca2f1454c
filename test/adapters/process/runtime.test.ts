// The process runtime's own behaviour: cancel reaching the whole process group, exit codes,
// stderr kept redacted and capped, malformed and oversized lines, a command that cannot start,
// settings refused with the option named, and a state of another runtime refused.
import { InvalidOptionError, loopRuntime } from 'loopwork';
import { loopworkNdjson, type ProcessRuntimeSettings, processRuntime } from 'loopwork/process';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it, vi } from 'vitest';
import { FIXTURES, gone, PRICES, runOnce } from './run-helpers';

vi.setConfig({ testTimeout: 60_000 });

/** A runtime running `node -e <script>` (loopwork-ndjson unless said otherwise). */
const script = (source: string, settings: Partial<ProcessRuntimeSettings> = {}) =>
  processRuntime({ command: process.execPath, args: ['-e', source], ...settings });

const line = (value: unknown) =>
  `process.stdout.write(${JSON.stringify(`${JSON.stringify(value)}\n`)});`;

describe('cancel', () => {
  it('SIGINT, then SIGTERM, then SIGKILL to the whole group: a child and grandchild that ignore both are killed', async () => {
    const runtime = processRuntime({
      command: process.execPath,
      args: [`${FIXTURES}stubborn.mjs`],
      interruptGraceMs: 300,
      terminateGraceMs: 300,
    });
    const controller = new AbortController();
    let pids: number[] = [];
    const run = runOnce(runtime, {
      runId: 'cancel-group',
      signal: controller.signal,
      emit: (event) => {
        if (event.type !== 'text-delta' || !event.text.startsWith('pids ')) return;
        pids = event.text.slice(5).split(' ').map(Number);
        controller.abort(new Error('cancelled'));
      },
    });
    const { result } = await run;
    expect(result.status).toBe('aborted');
    expect(pids).toHaveLength(2);
    // Both ignored SIGINT and SIGTERM (the child said so while the grandchild stayed silent) …
    const said = result.state.messages.flatMap((message) =>
      message.role === 'assistant'
        ? message.content.map((part) => (part.type === 'text' ? part.text : ''))
        : [],
    );
    expect(said.join('')).toMatch(/got SIGINT.*got SIGTERM/s);
    // … and SIGKILL to the group took both, the grandchild included.
    for (const pid of pids) expect(gone(pid), `pid ${pid} is gone`).toBe(true);
    console.log(`cancel escalation: SIGINT → SIGTERM → SIGKILL; pids ${pids.join(', ')} gone`);
  });

  it('a process that exits on SIGINT is not sent more', async () => {
    const runtime = script(
      `process.on('SIGINT', () => { ${line({ type: 'text', text: 'bye' })} process.exit(130); }); ${line({ type: 'text', text: 'ready' })} setInterval(() => {}, 1000);`,
    );
    const controller = new AbortController();
    const { result } = await runOnce(runtime, {
      runId: 'cancel-soft',
      signal: controller.signal,
      emit: (event) => event.type === 'text-delta' && event.text === 'ready' && controller.abort(),
    });
    expect(result.status).toBe('aborted');
    expect(result.state.messages.at(-1)).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: 'readybye' }],
    });
  });

  it('a signal aborted before the start spawns nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result } = await runOnce(script('process.exit(3)'), {
      runId: 'cancel-early',
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
  });
  it('a grandchild that left the group (setsid) holding stdout does not keep the run open', async () => {
    // The escapee inherits stdout and lives 60 s in a session of its own, out of the group's reach.
    const runtime = script(
      `const child = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { detached: true, stdio: ['ignore', 'inherit', 'ignore'] });
       ${line({ type: 'result', output: 'done' })}
       process.stdout.write(JSON.stringify({ type: 'text', text: 'escapee ' + child.pid }) + '\\n');
       child.unref();`,
    );
    let escapee = 0;
    const { result } = await runOnce(runtime, {
      runId: 'escapee-1',
      emit: (event) => {
        if (event.type === 'text-delta' && event.text.startsWith('escapee '))
          escapee = Number(event.text.slice(8));
      },
    });
    expect([result.status, result.output]).toEqual(['completed', 'done']);
    expect(escapee).toBeGreaterThan(0);
    process.kill(escapee, 'SIGKILL'); // outside the group: the test cleans it up itself
  });
});

describe('exit codes and stderr', () => {
  it('exit 0 without a result line completes with the last text; other codes fail; exitCodes maps them', async () => {
    const ok = await runOnce(script(line({ type: 'text', text: 'fine' })), { runId: 'exit-0' });
    expect([ok.result.status, ok.result.output]).toEqual(['completed', 'fine']);
    const bad = await runOnce(script('process.exit(3)'), { runId: 'exit-3' });
    expect(bad.result.status).toBe('failed');
    expect(bad.result.error?.message).toMatch(/exited with code 3/);
    const mapped = await runOnce(script('process.exit(75)', { exitCodes: { 75: 'timeout' } }), {
      runId: 'exit-75',
    });
    expect(mapped.result.status).toBe('timeout');
    const killed = await runOnce(script("process.kill(process.pid, 'SIGKILL')"), {
      runId: 'exit-kill',
    });
    expect(killed.result.error?.message).toMatch(/was killed by SIGKILL/);
  });

  it('stderr is kept, redacted and capped to its last bytes, in the error of a failed run', async () => {
    const key = `sk-ant-api03-${'x'.repeat(40)}`;
    const runtime = script(
      `process.stderr.write('noise '.repeat(5000)); process.stderr.write('auth failed for ${key}\\n'); process.exit(2);`,
      {
        maxStderrBytes: 200,
      },
    );
    const { result } = await runOnce(runtime, { runId: 'stderr-1' });
    expect(result.status).toBe('failed');
    const message = result.error?.message ?? '';
    expect(message).toMatch(/stderr: …/);
    expect(message).toContain('auth failed for [REDACTED]');
    expect(message).not.toContain(key);
    expect(message.length).toBeLessThan(400);
    expect(JSON.stringify(result.state)).not.toContain(key);
  });
});

describe('bad lines', () => {
  it('loopwork-ndjson: a line that is not JSON fails the run with its line number', async () => {
    const { result } = await runOnce(
      script(
        `${line({ type: 'text', text: 'a' })} console.log('oops {'); setInterval(() => {}, 1000);`,
      ),
      { runId: 'bad-1' },
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/loopwork-ndjson: stdout line 2 is not JSON: "oops \{"/);
  });

  it('loopwork-ndjson: a line breaking the protocol names the field', async () => {
    const { result } = await runOnce(
      script(`${line({ type: 'turn', usage: { outputTokens: -1 } })} setInterval(() => {}, 1000);`),
      { runId: 'bad-2' },
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/stdout line 1 usage\.outputTokens/);
  });

  it('a line over maxLineBytes is not held in memory: the run fails (strict) or skips it (lenient)', async () => {
    const huge = `process.stdout.write('{"type":"text","text":"' + 'y'.repeat(300000) + '"}\\n'); ${line({ type: 'text', text: 'after' })}`;
    const strict = await runOnce(
      script(`${huge} setInterval(() => {}, 1000);`, { maxLineBytes: 1024 }),
      { runId: 'huge-1' },
    );
    expect(strict.result.status).toBe('failed');
    expect(strict.result.error?.message).toMatch(
      /stdout line 1 is 300\d+ bytes, over maxLineBytes/,
    );
    const lenient = await runOnce(
      script(huge, { maxLineBytes: 1024, format: { ...loopworkNdjson, badLines: 'skip' } }),
      { runId: 'huge-2' },
    );
    expect(lenient.result.error?.message).toBeUndefined();
    expect([lenient.result.status, lenient.result.output]).toEqual(['completed', 'after']);
  });

  it('unknown line types are ignored (a later protocol version may add some); a newer version is refused', async () => {
    const ok = await runOnce(
      script(`${line({ type: 'progress', pct: 5 })} ${line({ type: 'result', output: 'x' })}`),
      { runId: 'unknown-1' },
    );
    expect([ok.result.status, ok.result.output]).toEqual(['completed', 'x']);
    const newer = await runOnce(
      script(
        `${line({ type: 'hello', protocol: 'loopwork-ndjson', version: 2 })} setInterval(() => {}, 1000);`,
      ),
      { runId: 'unknown-2' },
    );
    expect(newer.result.error?.message).toMatch(
      /speaks loopwork-ndjson v2; this loopwork speaks loopwork-ndjson v1/,
    );
  });
});

describe('budgets', () => {
  it('an agent that reports usage without asking is stopped budget_exceeded once it passes a budget', async () => {
    const runtime = processRuntime({ command: process.execPath, args: [`${FIXTURES}spender.mjs`] });
    const { result } = await runOnce(runtime, {
      runId: 'spender-1',
      limits: {
        maxOutputTokens: 5_500,
        prices: { scripted: { inputPerMTok: 1, outputPerMTok: 1 } },
      },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('output_tokens');
    // Stopped at the first report past the budget (later lines, printed while it stopped, count too).
    expect(result.state.turns.length).toBeGreaterThanOrEqual(6);
    console.log(
      `spender: stopped after ${result.state.turns.length} reported turns, ${result.usage.outputTokens} output tokens (budget 5500; an agent that asks leave before each call cannot pass it)`,
    );
  });

  it('an agent that does not ask is stopped max_turns when the cap is reached and the model calls again', async () => {
    const turn = line({
      type: 'turn',
      modelId: 'scripted',
      usage: { outputTokens: 5 },
      stopReason: 'tool_use',
    });
    const runtime = script(`${turn} ${turn} setInterval(() => {}, 1000);`);
    const { result } = await runOnce(runtime, {
      runId: 'cap-1',
      limits: { maxTurns: 2, prices: PRICES },
    });
    expect(result.status).toBe('max_turns');
    expect(result.state.turns).toHaveLength(2);
  });

  it('maxCostUsd with a model of no known price is a clear error', async () => {
    const runtime = script(
      `${line({ type: 'turn', modelId: 'mystery-model', usage: { outputTokens: 5 } })} setInterval(() => {}, 1000);`,
    );
    const { result } = await runOnce(runtime, { runId: 'price-1', limits: { maxCostUsd: 1 } });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/no price is known for model "mystery-model"/);
  });
});

describe('settings and states', () => {
  it('bad settings throw InvalidOptionError naming the option', () => {
    const cases: Array<[Partial<ProcessRuntimeSettings>, RegExp]> = [
      [{ command: '' }, /command must be a program to run/],
      [
        { command: 'x', format: 'nope' as never },
        /format must be one of loopwork-ndjson, claude-stream-json, codex-exec-json/,
      ],
      [{ command: 'x', interruptGraceMs: -1 }, /interruptGraceMs must be a non-negative integer/],
      [{ command: 'x', maxLineBytes: 0 }, /maxLineBytes must be a positive integer/],
      [{ command: 'x', input: 'file' as never }, /input must be 'args' or 'stdin'/],
    ];
    for (const [settings, message] of cases) {
      expect(() => processRuntime(settings as ProcessRuntimeSettings)).toThrow(InvalidOptionError);
      expect(() => processRuntime(settings as ProcessRuntimeSettings)).toThrow(message);
    }
  });

  it('args may be a function of the run; env adds and removes variables; inheritEnv: false starts empty', async () => {
    process.env.LOOPWORK_PROCESS_TEST_SECRET = 'inherited';
    const echo = `process.stdout.write(JSON.stringify({ type: 'result', output: [process.argv.slice(1), process.env.ADDED ?? null, process.env.LOOPWORK_PROCESS_TEST_SECRET ?? null] }) + '\\n');`;
    const args = ({ runId, resumed }: { runId: string; resumed: boolean }) => [
      '-e',
      echo,
      runId,
      String(resumed),
    ];
    const removed = await runOnce(
      processRuntime({
        command: process.execPath,
        args,
        env: { ADDED: 'yes', LOOPWORK_PROCESS_TEST_SECRET: undefined },
      }),
      { runId: 'env-1' },
    );
    expect(removed.result.output).toEqual([['env-1', 'false'], 'yes', null]);
    const empty = await runOnce(
      processRuntime({ command: process.execPath, args, inheritEnv: false }),
      { runId: 'env-2' },
    );
    expect(empty.result.output).toEqual([['env-2', 'false'], null, null]);
    const inherited = await runOnce(processRuntime({ command: process.execPath, args }), {
      runId: 'env-3',
    });
    expect(inherited.result.output).toEqual([['env-3', 'false'], null, 'inherited']);
    delete process.env.LOOPWORK_PROCESS_TEST_SECRET;
  });

  it('a command that cannot start fails the run with a clear error', async () => {
    const { result } = await runOnce(processRuntime({ command: 'no-such-agent-binary' }), {
      runId: 'enoent-1',
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/could not start "no-such-agent-binary".*ENOENT/);
  });

  it('a state written by another runtime is refused, not restarted', async () => {
    const other = await loopRuntime({ model: new ScriptedModel({ turns: [{ text: 'hi' }] }) }).run({
      runId: 'other-1',
      input: { prompt: 'go' },
      limits: {},
      signal: new AbortController().signal,
      emit: () => {},
      checkpoint: async () => {},
    });
    const state = { ...other.state, runtime: { name: 'langgraph', handle: {} } };
    const { result } = await runOnce(script('process.exit(0)'), {
      runId: 'other-1',
      resumeFrom: { kind: 'attempt', state },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /written by runtime "langgraph", not "process:loopwork-ndjson"/,
    );
  });
});
