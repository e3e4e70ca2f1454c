// Every request gets an answer and none reaches the server as a throw: bad ids, run ids and
// methods are 4xx before authorize or the log is asked; authorize and log failures are 500 and
// go to onError; too many clients on a run is 429. Over node:http served exactly as the doc
// example serves it (the promise ignored), and over the fetch handler.
import {
  createMemoryEventLog,
  createSseHandler,
  type EventLog,
  InvalidOptionError,
  type SseHandler,
  type SseHandlerOptions,
} from 'loopwork';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countingLog,
  failOnUnhandledRejections,
  parseFrames,
  rawRequest,
  serveLikeTheDocs,
  type TestServer,
  tripwireLog,
  waitFor,
} from './helpers';

failOnUnhandledRejections();

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  /** For a 200: reads the stream to its end. */
  rest(): Promise<string>;
  /** For a 200: the client hangs up. */
  hangUp(): Promise<void>;
}

type Ask = (
  path: string,
  init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<Answer>;

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function answerOf(response: Response, abort: () => void): Promise<Answer> {
  const streaming = response.status === 200;
  return {
    status: response.status,
    headers: response.headers,
    body: streaming ? '' : await response.text(),
    rest: () => response.text(),
    async hangUp() {
      abort();
      await response.body?.cancel().catch(() => {});
    },
  };
}

const transports: Record<string, (handler: SseHandler) => Promise<Ask>> = {
  async 'node:http, served as in the docs'(handler) {
    const server = await serveLikeTheDocs(handler);
    servers.push(server);
    return async (path, init = {}) => {
      const controller = new AbortController();
      init.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
        ...init,
        signal: controller.signal,
      });
      return answerOf(response, () => controller.abort());
    };
  },
  async fetch(handler) {
    return async (path, init = {}) => {
      const controller = new AbortController();
      init.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      const response = await handler.fetch(
        new Request(`http://app.test${path}`, { ...init, signal: controller.signal }),
      );
      return answerOf(response, () => controller.abort());
    };
  },
};

const VALID_ID_HINT = 'A valid id is <milliseconds>-<sequence>';

describe.each(Object.entries(transports))('SSE requests over %s', (_name, transport) => {
  /** A handler whose authorize records its calls and says yes. */
  const setup = (events: EventLog, options: Partial<SseHandlerOptions> = {}) => {
    const asked: string[] = [];
    const errors: unknown[] = [];
    const handler = createSseHandler({
      events,
      authorize: ({ runId }) => {
        asked.push(runId);
        return true;
      },
      onError: (error) => errors.push(error),
      ...options,
    });
    return { handler, asked, errors };
  };

  it('a malformed Last-Event-ID header is 400, saying what is wrong, before authorize or the log is asked', async () => {
    const log = tripwireLog();
    const { handler, asked } = setup(log);
    const ask = await transport(handler);
    const cases: Array<[string, string]> = [
      ['garbage', 'it is not two decimal integers joined by "-"'],
      ['-1-0', 'it is negative'],
      ['-5', 'it is negative'],
      ['1', 'it is not two decimal integers'],
      ['1-', 'it is not two decimal integers'],
      ['1-2-3', 'it is not two decimal integers'],
      ['1.5-0', 'it is not two decimal integers'],
      ['1e3-0', 'it is not two decimal integers'],
      ['0x1-0', 'it is not two decimal integers'],
      ['+1-0', 'it is not two decimal integers'],
      ['1 -0', 'it contains whitespace'],
      ['1\t-0', 'it contains whitespace'],
      ['18446744073709551616-0', 'its milliseconds part is larger than 18446744073709551615'],
      ['0-18446744073709551616', 'its sequence part is larger than 18446744073709551615'],
      ['99999999999999999999-0', 'its milliseconds part is larger than 18446744073709551615'],
      ['01-0', 'its milliseconds part has a leading zero'],
      ['1-00', 'its sequence part has a leading zero'],
      [`${'1'.repeat(30)}-${'1'.repeat(30)}`, 'it is 61 characters long'],
      ['7'.repeat(8_000), 'it is 8000 characters long'],
      ['__proto__', 'it is not two decimal integers'],
    ];
    for (const [value, problem] of cases) {
      const answer = await ask('/runs/r1/events', { headers: { 'last-event-id': value } });
      expect(answer.status, value).toBe(400);
      expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.body, value).toContain('the Last-Event-ID header');
      expect(answer.body, value).toContain(problem);
      expect(answer.body, value).toContain(VALID_ID_HINT);
      expect(answer.body.length, 'the body quotes at most a little of the value').toBeLessThan(600);
    }
    expect(asked).toEqual([]);
    expect(log.calls).toEqual([]);
  });

  it('a malformed lastEventId query parameter is 400 too, also when a valid header wins', async () => {
    const log = tripwireLog();
    const { handler, asked } = setup(log);
    const ask = await transport(handler);
    const cases: Array<[string, string]> = [
      [' 1-0', 'it contains whitespace'],
      ['1-0 ', 'it contains whitespace'],
      ['1-0\n', 'it contains whitespace'],
      ['１-0', 'it is not two decimal integers'], // full-width digit
      ['1\u0000-0', 'it is not two decimal integers'],
      ['constructor', 'it is not two decimal integers'],
    ];
    for (const [value, problem] of cases) {
      const answer = await ask(`/runs/r1/events?lastEventId=${encodeURIComponent(value)}`);
      expect(answer.status, JSON.stringify(value)).toBe(400);
      expect(answer.body).toContain('the lastEventId query parameter');
      expect(answer.body).toContain(problem);
    }
    const twice = await ask('/runs/r1/events?lastEventId=1-0&lastEventId=2-0');
    expect(twice.status).toBe(400);
    expect(twice.body).toContain('given 2 times');
    const withHeader = await ask('/runs/r1/events?lastEventId=nope', {
      headers: { 'last-event-id': '1-0' },
    });
    expect(withHeader.status).toBe(400);
    expect(asked).toEqual([]);
    expect(log.calls).toEqual([]);
  });

  it('the smallest and the largest possible ids are valid: the stream starts', async () => {
    const events = createMemoryEventLog();
    await events.append('r1', { type: 'step' });
    const counted = countingLog(events);
    const { handler, errors } = setup(counted.log);
    const ask = await transport(handler);
    for (const id of ['0-0', '18446744073709551615-18446744073709551615']) {
      const answer = await ask('/runs/r1/events', { headers: { 'last-event-id': id } });
      expect(answer.status, id).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      await answer.hangUp();
    }
    await waitFor(() => counted.stats.open === 0, 'the server to let go of both streams');
    expect(errors).toEqual([]);
  });

  it('the run id is checked (missing, too long, control characters, unreadable) before authorize', async () => {
    const log = tripwireLog();
    const plain = setup(log, { maxRunIdLength: 40 });
    const ask = await transport(plain.handler);
    const missing = await ask('/');
    expect([missing.status, missing.body]).toEqual([400, 'no run id in the URL.\n']);
    const long = await ask(`/runs/${'r'.repeat(41)}/events`);
    expect([long.status, long.body]).toEqual([
      400,
      'the run id is 41 characters long; at most 40 are accepted.\n',
    ]);
    expect((await ask(`/runs/${'r'.repeat(40)}/events`, { method: 'POST' })).status).toBe(405);

    // A runIdFrom that decodes lets control characters through; one that throws is the URL's fault.
    const decoding = setup(log, {
      runIdFrom: (url) => decodeURIComponent(url.pathname.split('/')[2] ?? ''),
    });
    const askDecoding = await transport(decoding.handler);
    for (const encoded of ['a%00b', 'a%1Bb', 'a%0D%0Ab', 'a%7F', 'a%C2%85']) {
      const answer = await askDecoding(`/runs/${encoded}/events`);
      expect([answer.status, answer.body], encoded).toEqual([
        400,
        'the run id contains control characters.\n',
      ]);
    }
    const unreadable = await askDecoding('/runs/%E0%A4%A/events');
    expect([unreadable.status, unreadable.body]).toEqual([
      400,
      'the run id could not be read from the URL.\n',
    ]);
    const notAString = setup(log, { runIdFrom: () => 42 as unknown as string });
    expect((await (await transport(notAString.handler))('/runs/x/events')).status).toBe(400);
    expect([plain.asked, decoding.asked, notAString.asked]).toEqual([[], [], []]);
    expect(log.calls).toEqual([]);
  });

  it('a method other than GET is 405 with Allow: GET', async () => {
    const log = tripwireLog();
    const { handler, asked } = setup(log);
    const ask = await transport(handler);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      const answer = await ask('/runs/r1/events', { method });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET');
    }
    expect(asked).toEqual([]);
    expect(log.calls).toEqual([]);
  });

  it('authorize: anything but true is 403; a throw or a rejection is 500, told to onError', async () => {
    const events = createMemoryEventLog();
    await events.append('r1', { type: 'task-finished' });
    const errors: unknown[] = [];
    const thrown = new Error('the auth service is down');
    const verdicts: Record<string, () => unknown> = {
      no: () => false,
      truthy: () => 'yes',
      'async-no': async () => false,
      throws: () => {
        throw thrown;
      },
      rejects: async () => Promise.reject(thrown),
      'throws-a-string': () => {
        throw 'not even an Error';
      },
      yes: async () => true,
    };
    const handler = createSseHandler({
      events,
      authorize: ({ headers }) => verdicts[headers.get('x-case') ?? '']?.() as boolean,
      runIdFrom: () => 'r1',
      onError: (error) => {
        errors.push(error);
        throw new Error('and the logger is broken too');
      },
    });
    const ask = await transport(handler);
    const statusOf = async (name: string) => {
      const answer = await ask('/runs/r1/events', { headers: { 'x-case': name } });
      if (answer.status === 200) await answer.rest();
      return answer;
    };
    expect((await statusOf('no')).status).toBe(403);
    expect((await statusOf('no')).body).toBe('forbidden: this request may not read this run.\n');
    expect((await statusOf('truthy')).status).toBe(403);
    expect((await statusOf('async-no')).status).toBe(403);
    expect(errors).toEqual([]);
    const failed = await statusOf('throws');
    expect([failed.status, failed.body]).toEqual([
      500,
      'the server could not decide whether this request may read this run.\n',
    ]);
    expect((await statusOf('rejects')).status).toBe(500);
    expect((await statusOf('throws-a-string')).status).toBe(500);
    expect(errors).toEqual([thrown, thrown, 'not even an Error']);
    expect((await statusOf('yes')).status).toBe(200); // and the server still serves
  });

  it('the log failing during admission is 500 (told to onError); failing mid-stream ends the stream with a reason', async () => {
    const readFails = new Error('redis: connection lost');
    const events = createMemoryEventLog();
    const first = await events.append('r1', { type: 'step', i: 1 });
    await events.append('r1', { type: 'step', i: 2 });
    const flaky: EventLog = {
      ...events,
      read: async () => {
        throw readFails;
      },
      async *follow(runId, options) {
        for await (const event of events.follow(runId, options)) {
          yield event;
          throw readFails;
        }
      },
    };
    const { handler, errors } = setup(flaky, { maxClientsPerRun: 1 });
    const ask = await transport(handler);
    const admitting = await ask('/runs/r1/events', { headers: { 'last-event-id': first } });
    expect([admitting.status, admitting.body]).toEqual([
      500,
      'the event log could not be read; try again later.\n',
    ]);
    const streaming = await ask('/runs/r1/events');
    expect(streaming.status).toBe(200); // the slot was given back after the 500
    const frames = parseFrames(await streaming.rest());
    expect(frames.map((f) => f.event)).toEqual(['step', 'stream-closed']);
    expect(frames[1]?.id).toBeUndefined(); // so EventSource resumes after the last real event
    expect(JSON.parse(frames[1]?.data ?? '')).toEqual({
      type: 'stream-closed',
      reason: 'error',
      message: 'the server failed to read the run; reconnect with Last-Event-ID to resume',
    });
    expect(errors).toEqual([readFails, readFails]);
  });

  it('a client that leaves while authorize is deciding holds no stream and no slot', async () => {
    const events = createMemoryEventLog();
    await events.append('live', { type: 'step' });
    const counted = countingLog(events);
    let asked!: () => void;
    const askedOnce = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let decide!: (verdict: boolean) => void;
    const verdict = new Promise<boolean>((resolve) => {
      decide = resolve;
    });
    let calls = 0;
    const handler = createSseHandler({
      events: counted.log,
      maxClientsPerRun: 1,
      authorize: () => {
        calls++;
        if (calls > 1) return true;
        asked();
        return verdict;
      },
    });
    const ask = await transport(handler);
    const controller = new AbortController();
    const leaving = (async () => {
      try {
        const answer = await ask('/runs/live/events', { signal: controller.signal });
        await answer.hangUp();
      } catch {
        // the client's own abort
      }
    })();
    await askedOnce;
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the server see the hang-up
    decide(true);
    await leaving;
    await waitFor(() => counted.stats.open === 0, 'no stream for the client that left');
    const next = await waitFor(async () => {
      const answer = await ask('/runs/live/events');
      return answer.status === 200 ? answer : undefined;
    }, 'the only slot of the run to be free');
    await next.hangUp();
    await waitFor(() => counted.stats.open === 0, 'the server to let go of the second client');
  });

  it('maxClientsPerRun: one more client on the run is 429 with Retry-After; a slot frees when a client leaves', async () => {
    const events = createMemoryEventLog();
    const last = await events.append('done', { type: 'task-finished' });
    const counted = countingLog(events);
    const { handler } = setup(counted.log, { maxClientsPerRun: 2 });
    const ask = await transport(handler);
    const a = await ask('/runs/live/events');
    const b = await ask('/runs/live/events');
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await ask('/runs/live/events');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('5');
    expect(third.body).toBe(
      'too many clients are following this run (at most 2); try again later.\n',
    );
    // Per run: another run is not affected, and answers that are not streams hold no slot.
    for (let i = 0; i < 3; i++) {
      const after = await ask('/runs/done/events', { headers: { 'last-event-id': last } });
      expect(after.status).toBe(204);
    }
    const other = await ask('/runs/done/events');
    expect(other.status).toBe(200);
    await other.rest();

    await a.hangUp();
    await waitFor(() => counted.stats.open === 1, 'the server to let go of the first client');
    const again = await waitFor(async () => {
      const answer = await ask('/runs/live/events');
      return answer.status === 200 ? answer : undefined;
    }, 'a slot on the run');
    await again.hangUp();
    await b.hangUp();
    await waitFor(() => counted.stats.open === 0, 'the server to let go of every client');
  });
});

describe('SSE requests over node:http only', () => {
  it('a Host header that makes no URL is 400, not a throw', async () => {
    const errors: unknown[] = [];
    const log = tripwireLog();
    const handler = createSseHandler({
      events: log,
      authorize: () => true,
      onError: (error) => errors.push(error),
    });
    const server = await serveLikeTheDocs(handler);
    servers.push(server);
    for (const host of ['a b', '[::1', 'x:99999999', '%']) {
      const answer = await rawRequest(
        server.port,
        `GET /runs/r1/events HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      expect([answer.status, answer.body], host).toEqual([
        400,
        'the request target or Host header is not a valid URL.\n',
      ]);
    }
    expect(errors).toEqual([]);
    expect(log.calls).toEqual([]);
  });
});

describe('createSseHandler options', () => {
  const events = createMemoryEventLog();
  const authorize = () => true;
  const errorOf = (options: Partial<SseHandlerOptions>) => {
    try {
      createSseHandler({ events, authorize, ...options } as SseHandlerOptions);
    } catch (error) {
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('expected createSseHandler to throw');
  };

  it('names the option and the value it refuses', () => {
    expect(errorOf({ keepAliveMs: -1 })).toBe(
      'keepAliveMs must be a positive number up to 2147483647, got -1',
    );
    expect(errorOf({ keepAliveMs: 2 ** 31 })).toBe(
      'keepAliveMs must be a positive number up to 2147483647, got 2147483648',
    );
    expect(errorOf({ keepAliveMs: Number.NaN })).toMatch(/^keepAliveMs must be .* got NaN$/);
    expect(errorOf({ maxBufferedBytes: 100 })).toBe(
      'maxBufferedBytes must be an integer of at least 1024, got 100',
    );
    expect(errorOf({ maxClientsPerRun: 0 })).toBe(
      'maxClientsPerRun must be a positive integer, got 0',
    );
    expect(errorOf({ maxRunIdLength: 1.5 })).toBe(
      'maxRunIdLength must be a positive integer, got 1.5',
    );
    expect(errorOf({ runIdFrom: 'last' as never })).toBe(
      'runIdFrom must be a function, got "last"',
    );
    expect(errorOf({ onError: {} as never })).toBe('onError must be a function, got object');
    expect(errorOf({ events: undefined as never })).toBe(
      'events must be an EventLog (with read and follow), got undefined',
    );
    expect(errorOf({ events: 'redis' as never })).toBe(
      'events must be an EventLog (with read and follow), got "redis"',
    );
    expect(errorOf({ maxClientsPerRun: '3' as never })).toBe(
      'maxClientsPerRun must be a positive integer, got "3"',
    );
    expect(errorOf({ authorize: undefined as never })).toMatch(/^authorize is required/);
  });
});
