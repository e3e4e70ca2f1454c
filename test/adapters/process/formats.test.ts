// The CLI formats on recorded stdout lines, played by a stand-in CLI (fixtures/fake-cli.mjs)
// through the real process runtime (the live binaries run in claude-binary.test.ts and
// codex-binary.test.ts); the lines follow the vendors' shapes: claude-stream-json (shapes of @anthropic-ai/claude-agent-sdk
// 0.3.335's sdk.d.ts: SDKSystemMessage, SDKAssistantMessage one block per line, SDKUserMessage,
// SDKResultMessage) and codex-exec-json (codex-rs/exec/src/exec_events.rs: thread.started,
// item.*, turn.completed with a running total after a resume).
import { AGENT_DEFAULTS } from 'loopwork';
import { type ClaudeHandle, type CodexHandle, processRuntime } from 'loopwork/process';
import { describe, expect, it } from 'vitest';
import { argsFile, FIXTURES, runOnce } from './run-helpers';

const CLI = `${FIXTURES}fake-cli.mjs`;
const SESSION = '0b7c8f52-3a41-4a5e-9d1c-2f6e1f1b9a10';
const THREAD = '0199a213-81c0-7800-8aa1-bbab2a035a53';

const cli = (
  format: 'claude-stream-json' | 'codex-exec-json',
  lines: string,
  env: Record<string, string> = {},
) =>
  processRuntime({
    command: CLI,
    format,
    ...(format === 'codex-exec-json' ? { modelId: 'gpt-5.5' } : {}),
    env: { LOOPWORK_LINES_FILE: `${FIXTURES}${lines}`, ...env },
  });

describe('claude-stream-json', () => {
  it('maps a recorded run: session id kept, one turn per message id, tool events, priced by loopwork', async () => {
    const recorded = argsFile();
    const runtime = cli('claude-stream-json', 'claude-stream.ndjson', {
      LOOPWORK_ARGS_FILE: recorded.path,
    });
    const { result, events, checkpoints } = await runOnce(runtime, {
      runId: 'claude-1',
      limits: {},
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('The repository holds README.md and src.');
    expect(recorded.calls()[0]?.args).toEqual([
      '-p',
      'go',
      '--output-format',
      'stream-json',
      '--verbose',
      '--max-turns',
      String(AGENT_DEFAULTS.maxTurns),
    ]);
    expect(result.state.runtime).toEqual({
      name: 'process:claude-stream-json',
      handle: { sessionId: SESSION } satisfies ClaudeHandle,
    });
    expect(
      checkpoints[0]?.runtime?.handle,
      'the session id is checkpointed as soon as it is known',
    ).toEqual({ sessionId: SESSION });
    // Two assistant messages (the first streamed as two lines with the same id): two turns.
    expect(
      result.state.turns.map((turn) => [turn.modelId, turn.usage.outputTokens, turn.stopReason]),
    ).toEqual([
      ['claude-sonnet-5-5', 78, 'tool_use'],
      ['claude-sonnet-5-5', 14, 'end_turn'],
    ]);
    expect(result.usage).toMatchObject({
      inputTokens: 10,
      cacheWriteTokens: 1640,
      cacheReadTokens: 25120,
      outputTokens: 92,
    });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.costUsd).not.toBe(0.0123); // loopwork's prices, not Claude Code's estimate
    const types = events.map((event) => event.type);
    expect(types).toEqual([
      'run-started',
      'text-delta',
      'tool-call-started',
      'turn-finished',
      'tool-call-finished',
      'text-delta',
      'turn-finished',
      'run-finished',
    ]);
    expect(events.find((event) => event.type === 'tool-call-finished')).toMatchObject({
      toolName: 'Bash',
      output: 'README.md\nsrc',
    });
    expect(result.state.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
  });

  it('resumes by session id: a follow-up passes --resume <id> and its prompt; a crashed attempt is asked to continue', async () => {
    const recorded = argsFile();
    const runtime = cli('claude-stream-json', 'claude-stream.ndjson', {
      LOOPWORK_ARGS_FILE: recorded.path,
    });
    const first = await runOnce(runtime, { runId: 'claude-2', limits: {} });
    await runOnce(runtime, {
      runId: 'claude-3',
      input: { prompt: 'and then?' },
      limits: { maxTurns: 10 },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    await runOnce(runtime, {
      runId: 'claude-2',
      limits: { maxTurns: 10 },
      resumeFrom: { kind: 'attempt', state: first.checkpoints[0]! },
    });
    const [, followUp, attempt] = recorded.calls();
    expect(followUp?.args).toEqual([
      '-p',
      'and then?',
      '--output-format',
      'stream-json',
      '--verbose',
      '--resume',
      SESSION,
      '--max-turns',
      '8',
    ]);
    expect(attempt?.args.slice(0, 2)).toEqual(['-p', 'Continue the task from where you stopped.']);
    expect(attempt?.args).toContain('--resume');
  });

  it('an error_max_turns result ends the run max_turns; prompt on stdin when asked', async () => {
    const recorded = argsFile();
    const runtime = processRuntime({
      command: CLI,
      format: 'claude-stream-json',
      input: 'stdin',
      env: {
        LOOPWORK_LINES_FILE: `${FIXTURES}claude-max-turns.ndjson`,
        LOOPWORK_ARGS_FILE: recorded.path,
        LOOPWORK_EXIT_CODE: '1',
      },
    });
    const { result, events } = await runOnce(runtime, { runId: 'claude-4', limits: {} });
    expect(result.status).toBe('max_turns');
    expect(recorded.calls()[0]).toMatchObject({ stdin: 'go' });
    expect(recorded.calls()[0]?.args).not.toContain('go');
    expect(events.find((event) => event.type === 'tool-call-failed')).toMatchObject({
      toolName: 'Bash',
      message: '1 failing',
    });
  });
});

describe('codex-exec-json', () => {
  it('maps a recorded run: thread id kept, items as tool events, usage in disjoint buckets', async () => {
    const recorded = argsFile();
    const runtime = cli('codex-exec-json', 'codex-exec.ndjson', {
      LOOPWORK_ARGS_FILE: recorded.path,
    });
    const { result, events } = await runOnce(runtime, { runId: 'codex-1', limits: {} });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('Added src/notes.md next to README.md.');
    expect(recorded.calls()[0]?.args).toEqual(['exec', '--json', '--', 'go']);
    expect(result.usage).toMatchObject({
      inputTokens: 315,
      cacheReadTokens: 24448,
      outputTokens: 122,
    });
    expect(result.state.turns[0]?.modelId).toBe('gpt-5.5');
    expect(result.costUsd).toBeGreaterThan(0);
    expect((result.state.runtime?.handle as CodexHandle | undefined)?.threadId).toBe(THREAD);
    const tools = events.filter((event) => event.type === 'tool-call-finished');
    expect(
      tools.map((event) => event.type === 'tool-call-finished' && [event.toolName, event.output]),
    ).toEqual([
      ['command_execution', 'README.md\nsrc\n'],
      ['file_change', 'completed'],
    ]);
  });

  it('resumes with `exec resume <thread id>` and counts only what the resumed turn added to the running total', async () => {
    const recorded = argsFile();
    const first = await runOnce(cli('codex-exec-json', 'codex-exec.ndjson'), {
      runId: 'codex-2',
      limits: {},
    });
    const next = await runOnce(
      cli('codex-exec-json', 'codex-exec-resumed.ndjson', { LOOPWORK_ARGS_FILE: recorded.path }),
      {
        runId: 'codex-3',
        input: { prompt: 'finish it' },
        limits: {},
        resumeFrom: { kind: 'session', state: first.result.state },
      },
    );
    expect(recorded.calls()[0]?.args).toEqual([
      'exec',
      '--json',
      'resume',
      THREAD,
      '--',
      'finish it',
    ]);
    const added = next.result.state.turns.at(-1);
    // Running total 50100 input (48896 cached), 160 output; the first turn had 24763 (24448), 122.
    expect(added?.usage).toMatchObject({
      inputTokens: 1204 - 315,
      cacheReadTokens: 48896 - 24448,
      outputTokens: 38,
    });
    expect(next.result.usage.outputTokens).toBe(160);
    expect(next.result.output).toBe('Done: the notes are in place.');
  });

  it('a turn.failed ends the run failed with the reason', async () => {
    const { result } = await runOnce(
      cli('codex-exec-json', 'codex-failed.ndjson', { LOOPWORK_EXIT_CODE: '1' }),
      { runId: 'codex-4', limits: {} },
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/401 Unauthorized/);
  });
});
