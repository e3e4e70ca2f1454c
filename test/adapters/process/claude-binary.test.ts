// The real `claude` binary (Claude Code 2.1.335, shipped in @anthropic-ai/claude-agent-sdk-linux-x64)
// through the claude-stream-json format, offline: ANTHROPIC_BASE_URL points it at a loopback
// server speaking the Messages API. A run with a tool call (Bash, allowed in `dontAsk` mode: CI
// runs as root, where `bypassPermissions` is refused), a follow-up resuming the session with
// `--resume`, and a cancel mid-request.
import { processRuntime } from 'loopwork/process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { claudeBase, findClaude, removeClaudeDirs, tempDir } from './claude-bin';
import { type FakeAnthropic, startFakeAnthropic } from './fake-anthropic';
import { runOnce } from './run-helpers';

vi.setConfig({ testTimeout: 180_000 });

const claude = findClaude();
const fakes: FakeAnthropic[] = [];
afterAll(() => Promise.all(fakes.map((fake) => fake.close())));
afterAll(removeClaudeDirs);

const runtimeOn = (url: string, cwd: string) =>
  processRuntime({
    command: 'path' in claude ? claude.path : 'claude',
    ...claudeBase({
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: 'sk-ant-loopback-test-key-000000',
    }),
    cwd,
    interruptGraceMs: 2_000,
    terminateGraceMs: 2_000,
  });

describe('claude-stream-json on the real claude binary', () => {
  if ('missing' in claude) {
    it(`cannot run: ${claude.missing}; formats.test.ts runs the format on recorded lines instead`, () => {
      expect(claude.missing).toBeTruthy();
    });
    return;
  }

  it('a run with a tool call, then a follow-up resuming the session', async () => {
    const fake = await startFakeAnthropic((n) =>
      n === 0
        ? {
            tool: {
              id: 'toolu_echo1',
              name: 'Bash',
              input: { command: 'echo loopwork', description: 'Echo' },
            },
          }
        : { text: `answer ${n}` },
    );
    fakes.push(fake);
    const cwd = tempDir('loopwork-claude-cwd-');
    const runtime = runtimeOn(fake.url, cwd);
    const first = await runOnce(runtime, {
      runId: 'claude-real-1',
      input: { prompt: 'echo something' },
      limits: {},
    });
    expect(first.result.status, first.result.error?.message).toBe('completed');
    expect(first.result.output).toBe('answer 1');
    const sessionId = (first.result.state.runtime?.handle as { sessionId?: string } | undefined)
      ?.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const started = first.events.find((event) => event.type === 'tool-call-started');
    expect(started).toMatchObject({ toolName: 'Bash', toolCallId: 'toolu_echo1' });
    const toolEnd = first.events.find(
      (event) => event.type === 'tool-call-finished' || event.type === 'tool-call-failed',
    );
    expect(toolEnd?.type === 'tool-call-finished' ? toolEnd.output : toolEnd).toContain('loopwork');
    expect(first.result.state.turns.map((turn) => [turn.modelId, turn.stopReason])).toEqual([
      ['claude-sonnet-5-5', 'tool_use'],
      ['claude-sonnet-5-5', 'end_turn'],
    ]);
    expect(first.result.costUsd).toBeGreaterThan(0);

    const next = await runOnce(runtime, {
      runId: 'claude-real-2',
      input: { prompt: 'and then?' },
      limits: {},
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(next.result.status, next.result.error?.message).toBe('completed');
    expect(next.result.output).toBe('answer 2');
    // The resumed session sent the whole conversation: the first prompt, the tool call, its result.
    const sent = JSON.stringify(fake.requests.at(-1)?.messages);
    expect(sent).toContain('echo something');
    expect(sent).toContain('toolu_echo1');
    expect(next.result.state.turns).toHaveLength(3);
    console.log(
      `real claude: session ${sessionId}, ${fake.requests.length} model requests, ${next.result.state.turns.length} turns, $${next.result.costUsd.toFixed(6)}`,
    );
  });

  it('cancel mid-request stops claude (SIGINT to its group)', async () => {
    const fake = await startFakeAnthropic(() => ({ text: 'never sent' }));
    fakes.push(fake);
    fake.hang = true;
    const controller = new AbortController();
    const run = runOnce(runtimeOn(fake.url, tempDir('loopwork-claude-cwd-')), {
      runId: 'claude-real-3',
      signal: controller.signal,
      limits: {},
    });
    for (let i = 0; i < 600 && fake.requests.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.requests.length, 'claude sent its request').toBe(1);
    controller.abort(new Error('cancelled'));
    const { result } = await run;
    expect(result.status).toBe('aborted');
  });
});
