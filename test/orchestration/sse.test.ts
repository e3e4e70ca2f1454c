import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createSseHandler,
  defineTask,
  type EventLog,
  formatSseEvent,
  handleTask,
  InvalidOptionError,
  type SseHandler,
  type SseHandlerOptions,
} from 'loopwork';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, memorySetup, rejectionOf, waitFor } from './helpers';

/** One dispatched SSE event: the last event id at that point, the event name, the data. */
interface SseFrame {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * A small incremental parser of the SSE wire format (WHATWG HTML, "Server-sent events"):
 * lines end in CRLF, LF or CR; `field: value` with one optional space; `:` starts a comment;
 * a blank line dispatches the event if it has data; `id` persists as the last event id.
 */
class SseReader {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  ended = false;
  private buffer = '';
  private lastEventId: string | undefined;
  private event = '';
  private data: string[] = [];
  private readonly decoder = new TextDecoder();

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  private feed(text: string) {
    this.buffer += text;
    while (true) {
      const index = this.buffer.search(/\r\n|\r|\n/);
      if (index === -1) return;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (!this.ended && this.buffer[index] === '\r' && index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, index);
      this.buffer = this.buffer.slice(index + (this.buffer.startsWith('\r\n', index) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string) {
    if (line === '') {
      if (this.data.length > 0)
        this.frames.push({
          id: this.lastEventId,
          event: this.event || 'message',
          data: this.data.join('\n'),
        });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  /** Reads until `done()` holds; fails (rather than hangs) when the stream ends first or stalls. */
  async until(done: () => boolean, what: string): Promise<void> {
    while (!done()) {
      if (this.ended) throw new Error(`the stream ended before ${what}`);
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no data for 5 s while waiting for ${what}`)),
          5_000,
        );
      });
      const chunk = await Promise.race([this.reader.read(), stalled]).finally(() =>
        clearTimeout(timer),
      );
      if (chunk.done) {
        this.ended = true;
        this.feed(this.decoder.decode());
      } else {
        this.feed(this.decoder.decode(chunk.value, { stream: true }));
      }
    }
  }

  /** Frames that carry a logged event, as `{ id, event, data }` with `data` parsed. */
  events() {
    return this.frames.map((frame) => ({ ...frame, data: JSON.parse(frame.data) as unknown }));
  }

  toEnd() {
    return this.until(() => this.ended, 'the end of the stream');
  }

  /** The client goes away mid-stream. */
  async disconnect() {
    await this.reader.cancel().catch(() => {});
  }
}

/** Counts live `follow` iterations, so a test can see the server let go of a client. */
function countingLog(inner: EventLog) {
  let active = 0;
  const log: EventLog = {
    specificationVersion: inner.specificationVersion,
    append: (runId, data) => inner.append(runId, data),
    read: (runId, options) => inner.read(runId, options),
    async *follow(runId, options) {
      active++;
      try {
        yield* inner.follow(runId, options);
      } finally {
        active--;
      }
    },
  };
  return { log, active: () => active };
}

interface Connection {
  status: number;
  headers: Headers;
  reader: SseReader | undefined;
  /** Aborts the request itself (as a client dropping the connection does). */
  abort(): void;
}

/** How a client reaches the handler: over real HTTP (`node`), or by calling `fetch` directly. */
interface Transport {
  connect(path: string, headers?: Record<string, string>): Promise<Connection>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function nodeTransport(handler: SseHandler): Promise<Transport> {
  const server = createServer((request, response) => {
    handler.node(request, response).catch((error) => {
      response.destroy(error as Error);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    async connect(path, headers = {}) {
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers,
        signal: controller.signal,
      });
      return {
        status: response.status,
        headers: response.headers,
        reader: response.body ? new SseReader(response.body.getReader()) : undefined,
        abort: () => controller.abort(),
      };
    },
  };
}

function fetchTransport(handler: SseHandler): Transport {
  return {
    async connect(path, headers = {}) {
      const controller = new AbortController();
      const response = await handler.fetch(
        new Request(`http://app.test${path}`, { headers, signal: controller.signal }),
      );
      return {
        status: response.status,
        headers: response.headers,
        reader: response.body ? new SseReader(response.body.getReader()) : undefined,
        abort: () => controller.abort(),
      };
    },
  };
}

const transports = {
  'node:http': nodeTransport,
  fetch: async (handler: SseHandler) => fetchTransport(handler),
};

const live = defineTask({ type: 'live', payload: z.object({}) });

/**
 * A run on a real worker that emits a1–a3, waits, b1–b2, waits, c1, and ends (the worker then
 * appends task-finished). The test opens the gates.
 */
function liveRun(setup: ReturnType<typeof memorySetup>) {
  const gates = [deferred(), deferred()] as const;
  const worker = setup.worker({
    handlers: [
      handleTask(live, async (_payload, { emit }) => {
        for (const name of ['a1', 'a2', 'a3']) emit({ type: 'progress', name });
        await gates[0].promise;
        for (const name of ['b1', 'b2']) emit({ type: 'progress', name });
        await gates[1].promise;
        emit({ type: 'progress', name: 'c1' });
      }),
    ],
  });
  const logged = (count: number) =>
    waitFor(async () => {
      const events = await setup.events.read('run-1');
      return events.length >= count ? events : undefined;
    }, `${count} logged events`);
  return { gates, worker, logged };
}

describe.each(Object.entries(transports))('SSE over %s', (_name, makeTransport) => {
  const handlerFor = (events: EventLog, options: Partial<SseHandlerOptions> = {}) =>
    createSseHandler({ events, authorize: () => true, ...options });

  it('a client that disconnects mid-run and reconnects with Last-Event-ID gets exactly the missed events, then the stream closes', async () => {
    const setup = memorySetup();
    const counted = countingLog(setup.events);
    const transport = await makeTransport(handlerFor(counted.log));
    const run = liveRun(setup);
    await setup.dispatcher.dispatch(live, {}, { runId: 'run-1' });
    const working = run.worker.run();
    await run.logged(3);

    const first = await transport.connect('/runs/run-1/events');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await first.reader!.until(() => first.reader!.frames.length === 3, 'a1–a3');
    expect(first.reader!.retry).toBe(2_000);
    await first.reader!.disconnect();
    first.abort();
    await waitFor(() => counted.active() === 0, 'the server to let go of the first connection');

    run.gates[0].resolve(); // b1, b2 are logged while no one is connected
    await run.logged(5);
    const lastSeen = first.reader!.frames.at(-1)!.id!;
    const second = await transport.connect('/runs/run-1/events', { 'Last-Event-ID': lastSeen });
    expect(second.status).toBe(200);
    await second.reader!.until(() => second.reader!.frames.length === 2, 'the missed b1, b2');
    run.gates[1].resolve(); // c1 and task-finished arrive live
    await second.reader!.toEnd();
    await run.worker.stop();
    await working;

    const log = await setup.events.read('run-1');
    expect(log).toHaveLength(7);
    const seen = [...first.reader!.events(), ...second.reader!.events()];
    // Exactly the log, in order: nothing missed, nothing twice.
    expect(seen.map((frame) => frame.id)).toEqual(log.map((event) => event.id));
    expect(seen.map((frame) => frame.data)).toEqual(log.map((event) => event.data));
    expect(seen.map((frame) => frame.event)).toEqual([
      ...Array(6).fill('progress'),
      'task-finished',
    ]);
    expect(second.reader!.events().map((f) => (f.data as { name?: string }).name)).toEqual([
      'b1',
      'b2',
      'c1',
      undefined,
    ]);
    expect(seen.at(-1)?.data).toEqual({
      type: 'task-finished',
      runId: 'run-1',
      status: 'completed',
      attempt: 1,
    });
    expect(counted.active()).toBe(0);

    // Reconnecting after the final event: 204 tells EventSource to stop reconnecting.
    const after = await transport.connect('/runs/run-1/events', {
      'Last-Event-ID': log.at(-1)!.id,
    });
    expect(after.status).toBe(204);
    // Reconnecting from an earlier id of a finished run replays the rest and closes.
    const replay = await transport.connect('/runs/run-1/events', { 'Last-Event-ID': log[4]!.id });
    await replay.reader!.toEnd();
    expect(replay.reader!.frames.map((f) => f.id)).toEqual(log.slice(5).map((e) => e.id));
  });

  it('the lastEventId query parameter works for a first connect (the header wins when both are sent)', async () => {
    const setup = memorySetup();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await setup.events.append('r1', { type: 'step', i }));
    ids.push(
      await setup.events.append('r1', { type: 'task-finished', runId: 'r1', status: 'completed' }),
    );
    const transport = await makeTransport(handlerFor(setup.events));

    const query = await transport.connect(`/runs/r1/events?lastEventId=${ids[1]}`);
    await query.reader!.toEnd();
    expect(query.reader!.frames.map((f) => f.id)).toEqual(ids.slice(2));

    const both = await transport.connect(`/runs/r1/events?lastEventId=${ids[0]}`, {
      'last-event-id': ids[2]!,
    });
    await both.reader!.toEnd();
    expect(both.reader!.frames.map((f) => f.id)).toEqual(ids.slice(3));

    const all = await transport.connect('/runs/r1/events');
    await all.reader!.toEnd();
    expect(all.reader!.events().map((f) => f.data)).toEqual([
      ...[0, 1, 2, 3].map((i) => ({ type: 'step', i })),
      { type: 'task-finished', runId: 'r1', status: 'completed' },
    ]);
  });

  it('sends keep-alive comments while the run is quiet', async () => {
    const setup = memorySetup();
    const counted = countingLog(setup.events);
    const transport = await makeTransport(handlerFor(counted.log, { keepAliveMs: 10 }));
    const quiet = await transport.connect('/runs/quiet/events');
    expect(quiet.status).toBe(200);
    await quiet.reader!.until(() => quiet.reader!.comments.length >= 2, 'two keep-alive comments');
    expect(quiet.reader!.comments.slice(0, 2)).toEqual(['keep-alive', 'keep-alive']);
    expect(quiet.reader!.frames).toEqual([]);
    await quiet.reader!.disconnect();
    quiet.abort();
    await waitFor(() => counted.active() === 0, 'the server to let go of the connection');
  });

  it('asks authorize for every request: false is 403, and a URL without a run id is 400', async () => {
    const setup = memorySetup();
    const asked: Array<{ runId: string; authorization: string | null; path: string }> = [];
    const handler = createSseHandler({
      events: setup.events,
      authorize: async ({ runId, headers, url }) => {
        asked.push({ runId, authorization: headers.get('authorization'), path: url.pathname });
        return headers.get('authorization') === 'Bearer good' && runId === 'mine';
      },
    });
    const transport = await makeTransport(handler);
    await setup.events.append('mine', { type: 'task-finished' });

    expect((await transport.connect('/runs/mine/events')).status).toBe(403);
    expect(
      (await transport.connect('/runs/theirs/events', { authorization: 'Bearer good' })).status,
    ).toBe(403);
    const allowed = await transport.connect('/runs/mine/events', { authorization: 'Bearer good' });
    expect(allowed.status).toBe(200);
    await allowed.reader!.toEnd();
    expect(allowed.reader!.frames).toHaveLength(1);
    expect(asked).toEqual([
      { runId: 'mine', authorization: null, path: '/runs/mine/events' },
      { runId: 'theirs', authorization: 'Bearer good', path: '/runs/theirs/events' },
      { runId: 'mine', authorization: 'Bearer good', path: '/runs/mine/events' },
    ]);
    const missing = await transport.connect('/', { authorization: 'Bearer good' });
    expect(missing.status).toBe(400);
    expect(asked).toHaveLength(3); // never asked about a request without a run
  });
});

describe('createSseHandler', () => {
  it('requires authorize: there is no open default', async () => {
    const setup = memorySetup();
    const error = await rejectionOf(() =>
      createSseHandler({ events: setup.events } as unknown as SseHandlerOptions),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^authorize is required/);
  });

  it('fetch: a request aborted by the client ends the stream and releases the follow', async () => {
    const setup = memorySetup();
    const counted = countingLog(setup.events);
    const transport = fetchTransport(
      createSseHandler({ events: counted.log, authorize: () => true }),
    );
    await setup.events.append('r1', { type: 'progress' });
    const connection = await transport.connect('/runs/r1/events');
    await connection.reader!.until(() => connection.reader!.frames.length === 1, 'the first event');
    expect(counted.active()).toBe(1);
    connection.abort();
    await connection.reader!.toEnd();
    expect(counted.active()).toBe(0);
  });

  it('formats one event as an SSE frame: id, event name from data.type, JSON data on one line', () => {
    expect(formatSseEvent({ id: '5-0', data: { type: 'progress', text: 'two\nlines' } })).toBe(
      'id: 5-0\nevent: progress\ndata: {"type":"progress","text":"two\\nlines"}\n\n',
    );
    // A type that would break the framing is not used as the event name.
    expect(formatSseEvent({ id: '5-1', data: { type: 'x\ndata: forged' } })).toBe(
      'id: 5-1\ndata: {"type":"x\\ndata: forged"}\n\n',
    );
  });
});
