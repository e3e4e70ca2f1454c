// The real `codex` binary (@openai/codex 0.171.0's linux-x64 build) through the codex-exec-json
// format, offline: Codex is pointed at a loopback server speaking the Responses API
// (`-c model_providers.<id>.base_url=…`). A run, a follow-up that resumes the thread (Codex then
// reports the thread's running total: loopwork counts the difference), and a cancel mid-request.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { processRuntime } from 'loopwork/process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type FakeResponses, startFakeResponses } from './fake-responses';
import { runOnce } from './run-helpers';

vi.setConfig({ testTimeout: 120_000 });

/** The codex binary npm installed for this platform, or why there is none. */
function findCodex(): { path: string } | { missing: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      missing: `no ${process.platform}-${process.arch} build is installed here (dev dependency @openai/codex-linux-x64 only)`,
    };
  try {
    const root = dirname(
      createRequire(import.meta.url).resolve('@openai/codex-linux-x64/package.json'),
    );
    const path = join(root, 'vendor', 'x86_64-unknown-linux-musl', 'bin', 'codex');
    return existsSync(path)
      ? { path }
      : { missing: `${path} is absent (optional dependency not installed)` };
  } catch (error) {
    return { missing: `@openai/codex-linux-x64 is not installed: ${(error as Error).message}` };
  }
}

const codex = findCodex();
let fake: FakeResponses | undefined;
afterAll(() => fake?.close());
const temporary: string[] = [];
/** A fresh temporary directory, removed after the tests. */
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const runtimeOn = (url: string) =>
  processRuntime({
    command: 'path' in codex ? codex.path : 'codex',
    format: 'codex-exec-json',
    modelId: 'gpt-5.5',
    args: [
      '--skip-git-repo-check',
      '-m',
      'gpt-5.5',
      '-c',
      'model_provider="loopback"',
      '-c',
      'model_providers.loopback.name="loopback"',
      '-c',
      `model_providers.loopback.base_url="${url}"`,
      '-c',
      'model_providers.loopback.env_key="LOOPBACK_KEY"',
      '-c',
      'model_providers.loopback.wire_api="responses"',
    ],
    env: {
      CODEX_HOME: tempDir('loopwork-codex-home-'),
      LOOPBACK_KEY: 'sk-loopback-test-key-0000',
    },
    interruptGraceMs: 2_000,
    terminateGraceMs: 2_000,
  });

describe('codex-exec-json on the real codex binary', () => {
  if ('missing' in codex) {
    it(`cannot run: ${codex.missing}; formats.test.ts runs the format on recorded lines instead`, () => {
      expect(codex.missing).toBeTruthy();
    });
    return;
  }

  it('a run, then a follow-up resuming the thread: each turn counted once although Codex reports running totals', async () => {
    fake = await startFakeResponses('Hello from the loopback model.');
    const runtime = runtimeOn(fake.url);
    const first = await runOnce(runtime, {
      runId: 'codex-real-1',
      input: { prompt: 'say hello' },
      limits: {},
    });
    expect(first.result.status, first.result.error?.message).toBe('completed');
    expect(first.result.output).toBe('Hello from the loopback model.');
    expect(first.result.usage).toMatchObject({
      inputTokens: 200,
      cacheReadTokens: 1000,
      outputTokens: 7,
    });
    const threadId = (first.result.state.runtime?.handle as { threadId?: string } | undefined)
      ?.threadId;
    expect(threadId).toMatch(/^[0-9a-f-]{36}$/);

    const next = await runOnce(runtime, {
      runId: 'codex-real-2',
      input: { prompt: 'again' },
      limits: {},
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(next.result.status, next.result.error?.message).toBe('completed');
    expect((next.result.state.runtime?.handle as { threadId?: string } | undefined)?.threadId).toBe(
      threadId,
    );
    // Codex said 2400 input (2000 cached) and 14 output for the thread; the turn added half of it.
    expect(next.result.state.turns.map((turn) => turn.usage.outputTokens)).toEqual([7, 7]);
    expect(next.result.usage).toMatchObject({
      inputTokens: 400,
      cacheReadTokens: 2000,
      outputTokens: 14,
    });
    // The resumed request carried the earlier conversation.
    expect(JSON.stringify(fake.requests.at(-1)?.body)).toContain('say hello');
    console.log(
      `real codex: thread ${threadId}, ${fake.requests.length} requests, usage per turn ${JSON.stringify(next.result.state.turns.map((t) => t.usage))}`,
    );
  });

  it('cancel mid-request stops codex (SIGINT to its group)', async () => {
    const hanging = await startFakeResponses('never sent');
    hanging.hang = true;
    const controller = new AbortController();
    const run = runOnce(runtimeOn(hanging.url), {
      runId: 'codex-real-3',
      signal: controller.signal,
      limits: {},
    });
    for (
      let i = 0;
      i < 600 && hanging.requests.filter((r) => r.path.endsWith('/responses')).length === 0;
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort(new Error('cancelled'));
    const { result } = await run;
    expect(result.status).toBe('aborted');
    await hanging.close();
  });
});
