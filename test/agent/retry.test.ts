import { ModelError, runAgent } from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventLog } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

for (const streaming of [true, false]) {
  describe(`retries (${streaming ? 'streaming' : 'generate'})`, () => {
    const model = (turns: ScriptedTurn[]) => new ScriptedModel({ turns, streaming });

    it('a rate limit with retry-after is retried after exactly that delay', async () => {
      const m = model([
        { error: { kind: 'rate_limit', status: 429, retryAfterMs: 7 } },
        { text: 'ok' },
      ]);
      const log = eventLog();
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        onEvent: log.onEvent,
        retry: { minDelayMs: 1000, maxDelayMs: 50 },
      });
      expect(result.status).toBe('completed');
      expect(m.requests).toHaveLength(2);
      expect(m.requests[1]).toEqual(m.requests[0]);
      expect(log.ofType('model-retry')).toEqual([
        {
          type: 'model-retry',
          runId: result.runId,
          turn: 1,
          attempt: 1,
          delayMs: 7,
          error: {
            kind: 'rate_limit',
            message: '[loopwork:scripted] scripted rate_limit error',
            status: 429,
          },
        },
      ]);
      // A retried call is still one turn.
      expect(result.turns).toHaveLength(1);
      // The retry event comes between the turn's start and its end.
      expect(log.types()).toEqual([
        'run-started',
        'turn-started',
        'model-retry',
        ...(streaming ? ['text-delta'] : []),
        'turn-finished',
        'run-finished',
      ]);
    });

    it('without retry-after: exponential backoff with jitter, capped at maxDelayMs', async () => {
      // With Math.random() = 0.5 the jittered delay is exactly 3/4 of the ceiling.
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      const m = model([
        { error: { kind: 'server', status: 500 } },
        { error: { kind: 'overloaded', status: 529 } },
        { error: { kind: 'network' } },
        { error: { kind: 'timeout' } },
        { text: 'ok' },
      ]);
      const log = eventLog();
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        onEvent: log.onEvent,
        retry: { minDelayMs: 4, maxDelayMs: 12 },
      });
      expect(result.status).toBe('completed');
      expect(m.requests).toHaveLength(5);
      // Ceilings 4, 8, 16→12, 32→12.
      expect(log.ofType('model-retry').map((e) => [e.attempt, e.delayMs, e.error.kind])).toEqual([
        [1, 3, 'server'],
        [2, 6, 'overloaded'],
        [3, 9, 'network'],
        [4, 9, 'timeout'],
      ]);
    });

    it('the jitter stays between half the ceiling and the ceiling', async () => {
      for (const [random, expected] of [
        [0, [1, 2, 4]],
        [0.999_999, [2, 4, 8]],
      ] as const) {
        vi.spyOn(Math, 'random').mockReturnValue(random);
        const log = eventLog();
        const fresh = model([
          { error: { kind: 'server' } },
          { error: { kind: 'server' } },
          { error: { kind: 'server' } },
          { text: 'ok' },
        ]);
        await runAgent({
          model: fresh,
          prompt: 'hi',
          onEvent: log.onEvent,
          retry: { minDelayMs: 2, maxDelayMs: 100 },
        });
        expect(log.ofType('model-retry').map((e) => e.delayMs)).toEqual(expected);
        expect(fresh.requests).toHaveLength(4);
      }
    });

    it('maxRetries exhausted: the run fails with the last error', async () => {
      const m = model([
        { error: { kind: 'overloaded', message: 'busy 1' } },
        { error: { kind: 'overloaded', message: 'busy 2' } },
        { error: { kind: 'overloaded', message: 'busy 3' } },
        { text: 'never' },
      ]);
      const log = eventLog();
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        onEvent: log.onEvent,
        retry: { maxRetries: 2, minDelayMs: 1, maxDelayMs: 2 },
      });
      expect(result.status).toBe('failed');
      expect(result.error?.message).toBe('busy 3');
      expect(m.requests).toHaveLength(3);
      expect(log.ofType('model-retry').map((e) => e.attempt)).toEqual([1, 2]);
      expect(result.state.error).toEqual({ code: 'model_error', message: 'busy 3' });
    });

    it('maxRetries: 0 makes a single attempt', async () => {
      const m = model([{ error: { kind: 'rate_limit', retryAfterMs: 1 } }, { text: 'never' }]);
      const result = await runAgent({ model: m, prompt: 'hi', retry: { maxRetries: 0 } });
      expect(result.status).toBe('failed');
      expect(m.requests).toHaveLength(1);
    });

    it('non-retryable errors are not retried', async () => {
      for (const kind of [
        'auth',
        'invalid_request',
        'not_found',
        'context_length',
        'content_filter',
      ] as const) {
        const m = model([{ error: { kind } }, { text: 'never' }]);
        const log = eventLog();
        const result = await runAgent({
          model: m,
          prompt: 'hi',
          onEvent: log.onEvent,
          retry: { minDelayMs: 1 },
        });
        expect(result.status).toBe('failed');
        expect((result.error as ModelError).kind).toBe(kind);
        expect(m.requests).toHaveLength(1);
        expect(log.ofType('model-retry')).toEqual([]);
      }
    });

    it('a retryable kind marked retryable: false is not retried, and vice versa', async () => {
      const no = model([
        {
          error: new ModelError('quota gone for the month', {
            kind: 'rate_limit',
            provider: 'x',
            retryable: false,
          }),
        },
        { text: 'never' },
      ]);
      expect((await runAgent({ model: no, prompt: 'hi', retry: { minDelayMs: 1 } })).status).toBe(
        'failed',
      );
      expect(no.requests).toHaveLength(1);
      const yes = model([
        {
          error: new ModelError('flaky 400', {
            kind: 'invalid_request',
            provider: 'x',
            retryable: true,
          }),
        },
        { text: 'ok' },
      ]);
      expect((await runAgent({ model: yes, prompt: 'hi', retry: { minDelayMs: 1 } })).status).toBe(
        'completed',
      );
      expect(yes.requests).toHaveLength(2);
    });

    it('a retry-after above retry.maxDelayMs is not waited for: the run fails at once', async () => {
      const m = model([{ error: { kind: 'rate_limit', retryAfterMs: 5_000 } }, { text: 'never' }]);
      const log = eventLog();
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        onEvent: log.onEvent,
        retry: { maxDelayMs: 100 },
      });
      expect(result.status).toBe('failed');
      expect((result.error as ModelError).retryAfterMs).toBe(5_000);
      expect(m.requests).toHaveLength(1);
      expect(log.ofType('model-retry')).toEqual([]);
    });

    // The timeout only guards against a hang: without a prompt abort this test would wait a minute.
    it('an abort during the retry sleep ends the run as aborted', { timeout: 5_000 }, async () => {
      const controller = new AbortController();
      const m = model([{ error: { kind: 'rate_limit', retryAfterMs: 60_000 } }, { text: 'never' }]);
      const log = eventLog();
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        signal: controller.signal,
        retry: { maxDelayMs: 60_000 },
        onEvent: (event) => {
          log.onEvent(event);
          if (event.type === 'model-retry') setTimeout(() => controller.abort(), 1);
        },
      });
      expect(result.status).toBe('aborted');
      expect(m.requests).toHaveLength(1);
      expect(log.ofType('model-retry')).toHaveLength(1);
      expect(result.error).toBeUndefined();
    });

    it('maxDurationMs during the retry sleep ends the run as timeout', {
      timeout: 5_000,
    }, async () => {
      const m = model([{ error: { kind: 'rate_limit', retryAfterMs: 60_000 } }, { text: 'never' }]);
      const result = await runAgent({
        model: m,
        prompt: 'hi',
        maxDurationMs: 20,
        retry: { maxDelayMs: 60_000 },
      });
      expect(result.status).toBe('timeout');
      expect(m.requests).toHaveLength(1);
    });
  });
}
