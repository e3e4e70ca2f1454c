import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createMemoryEventLog, createSseHandler, type EventLog, type SseHandler } from 'loopwork';
import {
  type FollowedEvent,
  FollowRunError,
  followRun,
  isAgentEvent,
  isEventOfType,
  isEventTooLarge,
  isRunLogEvent,
  isTaskEvent,
} from 'loopwork/client';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../stream/helpers';

const usage = {
  inputTokens: 10,
  outputTokens: 5,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};
const delta = (runId: string, text: string) => ({ type: 'text-delta', runId, turn: 1, text });
const finished = (runId: string) => ({
  type: 'task-finished',
  runId,
  status: 'completed',
  attempt: 1,
});

interface Served {
  url: (runId: string) => string;
  requests: Array<{ lastEventId: string | undefined; authorization: string | undefined }>;
  responses: ServerResponse[];
  /** Cuts every open connection, as a proxy restart or a network blip does. */
  cut(): void;
  close(): Promise<void>;
}

const open: Served[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((served) => served.close()));
});

async function serve(
  events: EventLog,
  route?: (req: IncomingMessage, res: ServerResponse, sse: SseHandler) => void,
): Promise<Served> {
  const sse = createSseHandler({
    events,
    authorize: ({ headers }) => headers.get('authorization') === 'Bearer good',
    onError: () => {},
  });
  const requests: Served['requests'] = [];
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => {
    requests.push({
      lastEventId: req.headers['last-event-id'] as string | undefined,
      authorization: req.headers.authorization,
    });
    responses.push(res);
    if (route) route(req, res, sse);
    else void sse.node(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const served: Served = {
    url: (runId) => `http://127.0.0.1:${port}/runs/${runId}/events`,
    requests,
    responses,
    cut: () => server.closeAllConnections(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  open.push(served);
  return served;
}

const fast = { headers: { authorization: 'Bearer good' }, retryDelayMs: 1, maxRetryDelayMs: 5 };

async function collect(iterable: AsyncIterable<FollowedEvent>): Promise<FollowedEvent[]> {
  const seen: FollowedEvent[] = [];
  for await (const event of iterable) seen.push(event);
  return seen;
}

describe('followRun against the SSE handler', () => {
  it('yields the history, then live events, typed, and ends after the final event', async () => {
    const events = createMemoryEventLog();
    await events.append('r1', { type: 'run-started', runId: 'r1', resumed: false, turnsSoFar: 0 });
    await events.append('r1', delta('r1', 'Hel'));
    const served = await serve(events);
    const seen: FollowedEvent[] = [];
    const done = (async () => {
      for await (const event of followRun(served.url('r1'), fast)) {
        seen.push(event);
        if (event.data.type === 'text-delta') expect(typeof event.data.text).toBe('string');
      }
    })();
    await waitFor(() => seen.length === 2, 'the history');
    await events.append('r1', delta('r1', 'lo'));
    await events.append('r1', {
      type: 'turn-finished',
      runId: 'r1',
      turn: 1,
      usage,
      costUsd: 0.001,
      stopReason: 'end_turn',
    });
    await events.append('r1', finished('r1'));
    await done;
    expect(seen.map((event) => event.data.type)).toEqual([
      'run-started',
      'text-delta',
      'text-delta',
      'turn-finished',
      'task-finished',
    ]);
    const stored = await events.read('r1');
    expect(seen.map((event) => event.id)).toEqual(stored.map((event) => event.id));
    expect(served.requests).toHaveLength(1);
  });

  it('reconnects with Last-Event-ID after the connection is cut, and misses or repeats nothing', async () => {
    const events = createMemoryEventLog();
    const served = await serve(events);
    const seen: FollowedEvent[] = [];
    const done = collect(
      (async function* () {
        for await (const event of followRun(served.url('r2'), fast)) {
          seen.push(event);
          yield event;
        }
      })(),
    );
    for (let cut = 0; cut < 3; cut++) {
      for (let i = 0; i < 5; i++) await events.append('r2', delta('r2', `${cut}.${i}`));
      await waitFor(() => seen.length === cut * 6 + 5, `batch ${cut}`);
      served.cut();
      // Appended while the client is away: it must get these on reconnect.
      await events.append('r2', delta('r2', `gap ${cut}`));
      await waitFor(() => seen.length === (cut + 1) * 6, `gap ${cut}`);
    }
    await events.append('r2', finished('r2'));
    const all = await done;
    const stored = await events.read('r2');
    expect(all.map((event) => event.id)).toEqual(stored.map((event) => event.id));
    expect(served.requests.length).toBeGreaterThanOrEqual(4);
    // Every reconnect names the last event the client had yielded.
    const ids = served.requests.slice(1).map((request) => request.lastEventId);
    for (const id of ids) expect(stored.map((event) => event.id)).toContain(id);
    expect(served.requests.every((request) => request.authorization === 'Bearer good')).toBe(true);
  });

  it('starts after lastEventId, and ends at once when that was the final event (204)', async () => {
    const events = createMemoryEventLog();
    const first = await events.append('r3', delta('r3', 'a'));
    await events.append('r3', delta('r3', 'b'));
    const last = await events.append('r3', finished('r3'));
    const served = await serve(events);
    const after = await collect(followRun(served.url('r3'), { ...fast, lastEventId: first }));
    expect(after.map((event) => event.data.type)).toEqual(['text-delta', 'task-finished']);
    expect(await collect(followRun(served.url('r3'), { ...fast, lastEventId: last }))).toEqual([]);
  });

  it('throws refused, without retrying, when authorize says no', async () => {
    const served = await serve(createMemoryEventLog());
    const error = await collect(
      followRun(served.url('r4'), { ...fast, headers: { authorization: 'Bearer bad' } }),
    ).catch((thrown: unknown) => thrown);
    expect(FollowRunError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'refused', status: 403 });
    expect((error as Error).message).toContain('403');
    expect(served.requests).toHaveLength(1);
  });

  it('retries 5xx and 429 with backoff and gives up after maxFailedAttempts', async () => {
    let calls = 0;
    const served = await serve(createMemoryEventLog(), (_req, res) => {
      calls += 1;
      res.writeHead(calls % 2 ? 503 : 429, { 'content-type': 'text/plain' }).end('busy');
    });
    const error = await collect(
      followRun(served.url('r5'), { ...fast, maxFailedAttempts: 4 }),
    ).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'unreachable' });
    expect((error as Error).message).toMatch(/failed 4 times/);
    expect(calls).toBe(4);
  });

  it('resumes after the server reports a failed read (stream-closed) and delivers the rest', async () => {
    const inner = createMemoryEventLog();
    let failNext = true;
    const flaky: EventLog = {
      ...inner,
      specificationVersion: inner.specificationVersion,
      append: (runId, data) => inner.append(runId, data),
      read: (runId, options) => inner.read(runId, options),
      async *follow(runId, options) {
        for await (const event of inner.follow(runId, options)) {
          yield event;
          if (failNext) {
            failNext = false;
            throw new Error('the log connection dropped');
          }
        }
      },
    };
    await inner.append('r6', delta('r6', 'one'));
    await inner.append('r6', delta('r6', 'two'));
    await inner.append('r6', finished('r6'));
    const served = await serve(flaky);
    const seen = await collect(followRun(served.url('r6'), fast));
    expect(seen.map((event) => event.data.type)).toEqual([
      'text-delta',
      'text-delta',
      'task-finished',
    ]);
    expect(served.requests).toHaveLength(2);
  });

  it('ends without an error when the signal aborts, and closes its connection', async () => {
    const events = createMemoryEventLog();
    await events.append('r7', delta('r7', 'x'));
    const served = await serve(events);
    const controller = new AbortController();
    const seen: FollowedEvent[] = [];
    const done = (async () => {
      for await (const event of followRun(served.url('r7'), {
        ...fast,
        signal: controller.signal,
      })) {
        seen.push(event);
        controller.abort();
      }
    })();
    await done;
    expect(seen).toHaveLength(1);
    await waitFor(
      () => served.responses[0]?.destroyed || served.responses[0]?.writableEnded,
      'close',
    );
  });

  it('passes events of unknown shape through as unrecognized, never as a typed event', async () => {
    const events = createMemoryEventLog();
    await events.append('r8', { type: 'turn-finished', runId: 'r8' }); // fields missing
    await events.append('r8', { mine: true });
    await events.append('r8', finished('r8'));
    const served = await serve(events);
    const seen = await collect(followRun(served.url('r8'), fast));
    expect(seen.map((event) => event.data)).toEqual([
      { type: 'unrecognized', data: { type: 'turn-finished', runId: 'r8' } },
      { type: 'unrecognized', data: { mine: true } },
      finished('r8'),
    ]);
  });

  it('refuses options that cannot work, naming them', async () => {
    await expect(followRun('http://x', { retryDelayMs: -1 }).next()).rejects.toThrow(
      /retryDelayMs must be a number of at least 0, got -1/,
    );
    await expect(followRun('http://x', { maxFailedAttempts: 0 }).next()).rejects.toThrow(
      /maxFailedAttempts must be a number of at least 1/,
    );
  });
});

describe('event guards', () => {
  it('recognize each event by its type and fields', () => {
    const turn = {
      type: 'turn-finished',
      runId: 'r',
      turn: 1,
      usage,
      costUsd: 0,
      stopReason: 'end_turn',
    };
    expect(isAgentEvent(turn)).toBe(true);
    expect(isEventOfType(turn, 'turn-finished')).toBe(true);
    expect(isEventOfType(turn, 'text-delta')).toBe(false);
    expect(isTaskEvent(turn)).toBe(false);
    expect(isTaskEvent(finished('r'))).toBe(true);
    expect(isAgentEvent(finished('r'))).toBe(false);
    expect(isEventTooLarge({ type: 'event-too-large', bytes: 5_000_000, limit: 1_048_576 })).toBe(
      true,
    );
  });

  it('refuse lookalikes: missing or mistyped fields, null, inherited type names', () => {
    for (const value of [
      null,
      undefined,
      'text-delta',
      { type: 'text-delta', runId: 'r', turn: '1', text: 'x' },
      { type: 'turn-finished', runId: 'r', turn: 1, usage: null, costUsd: 0, stopReason: 'x' },
      { type: 'toString', runId: 'r' },
      { type: '__proto__' },
      { type: 'task-finished', runId: 'r', status: 'completed' },
    ]) {
      expect(isRunLogEvent(value), JSON.stringify(value)).toBe(false);
    }
  });
});
