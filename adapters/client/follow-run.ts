import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { isRunLogEvent, type RunLogEvent } from './event-guards';
import { FollowRunError } from './follow-run-error';

/** Options of {@link followRun}. */
export interface FollowRunOptions {
  /** Resume after this event id (the last one you saw); omitted: from the run's first event. */
  lastEventId?: string;
  /** Stops following; the iteration then ends without an error. */
  signal?: AbortSignal;
  /** The fetch to use (a wrapped one, a test double). @defaultValue `globalThis.fetch` */
  fetch?: typeof globalThis.fetch;
  /** Sent with every request, reconnects included (for example `authorization`). */
  headers?: Record<string, string>;
  /** Wait before the first reconnect; the server's `retry:` field replaces it. @defaultValue 1000 */
  retryDelayMs?: number;
  /** Longest wait between reconnects; each failed attempt in a row doubles the wait up to it. @defaultValue 30000 */
  maxRetryDelayMs?: number;
  /**
   * Connection attempts in a row that may fail (network error, 5xx, 429, a stream ended before
   * the final event with nothing new) before `followRun` throws `unreachable`. A connection that
   * delivers an event resets the count. @defaultValue 10
   */
  maxFailedAttempts?: number;
  /** True for the run's last event, after which the iteration ends. @defaultValue `type === 'task-finished'`, as the SSE handler's */
  isFinal?: (event: FollowedEvent) => boolean;
}

/** One event of the run, as the server sent it. */
export interface FollowedEvent {
  /** The event's id in the run's log: what `lastEventId` resumes after. */
  id: string;
  /**
   * The event, when it is one loopwork writes ({@link isRunLogEvent} checked it); otherwise the
   * raw JSON under `unrecognized` (an event your own code appended, or a newer version's).
   */
  data: RunLogEvent | UnrecognizedEvent;
}

/** An event whose data is not a {@link RunLogEvent}; `data` holds the parsed JSON as sent. */
export interface UnrecognizedEvent {
  type: 'unrecognized';
  data: unknown;
}

/** Defaults of {@link FollowRunOptions}. */
export const FOLLOW_RUN_DEFAULTS = {
  /** @defaultValue 1000 */
  retryDelayMs: 1_000,
  /** @defaultValue 30000 */
  maxRetryDelayMs: 30_000,
  /** @defaultValue 10 */
  maxFailedAttempts: 10,
} as const;

const defaultIsFinal = (event: FollowedEvent) => event.data.type === 'task-finished';

/** Statuses worth another try: the server is busy or failing, not refusing this request. */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Follows a run's events over Server-Sent Events (the stream of `createSseHandler`), in browsers
 * and in Node: history first, then live events, until the run's final event. When the
 * connection drops, it reconnects with `Last-Event-ID` set to the last event it yielded (with
 * backoff), so no event is missed or repeated. Ends when the run has finished (its final event,
 * or the server answering 204 to a client that has seen it) or `signal` aborts.
 *
 * Throws {@link FollowRunError}: `refused` when the server answers 4xx (other than 408, 425,
 * 429) — a wrong URL, an unknown run, `authorize` saying no; `unreachable` after
 * `maxFailedAttempts` failed connections in a row.
 *
 * @example
 * ```ts
 * import { followRun, isEventOfType } from 'loopwork/client';
 *
 * for await (const { data } of followRun(`/runs/${runId}/events`, { headers: { authorization } })) {
 *   if (data.type === 'text-delta') process.stdout.write(data.text);
 *   if (data.type === 'task-finished') console.log('\n', data.status);
 * }
 * ```
 */
export async function* followRun(
  url: string | URL,
  options: FollowRunOptions = {},
): AsyncGenerator<FollowedEvent, void, undefined> {
  const settings = resolve(options);
  const { signal } = options;
  let lastEventId = options.lastEventId;
  let delayMs = settings.retryDelayMs;
  let failures = 0;
  let lastProblem: unknown;

  while (!signal?.aborted) {
    if (failures > 0) {
      if (failures >= settings.maxFailedAttempts) {
        throw new FollowRunError(
          'unreachable',
          `[loopwork:client] following ${String(url)} failed ${failures} times in a row; the last problem: ${describe(lastProblem)}`,
          { cause: lastProblem, ...statusOf(lastProblem) },
        );
      }
      const wait = Math.min(delayMs * 2 ** (failures - 1), settings.maxRetryDelayMs);
      if (!(await sleep(wait, signal))) return;
    }
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      let response: Response;
      try {
        response = await settings.fetch(url, {
          headers: {
            accept: 'text/event-stream',
            ...options.headers,
            ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
          },
          signal: connection.signal,
        });
      } catch (error) {
        if (signal?.aborted) return;
        failures += 1;
        lastProblem = error;
        continue;
      }
      if (response.status === 204) return; // the server says the client has seen the final event
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        const problem = new FollowRunError(
          TRANSIENT.has(response.status) ? 'unreachable' : 'refused',
          `[loopwork:client] ${String(url)} answered ${response.status}${text ? `: ${text.trim().slice(0, 300)}` : ''}`,
          { status: response.status },
        );
        if (problem.code === 'refused') throw problem;
        failures += 1;
        lastProblem = problem;
        const after = Number(response.headers.get('retry-after'));
        if (after > 0) delayMs = Math.max(delayMs, after * 1000);
        continue;
      }
      let delivered = false;
      try {
        for await (const message of messages(response.body, (ms) => {
          delayMs = ms;
        })) {
          if (message.event === 'stream-closed') break; // the server failed; resume from our last id
          if (message.id === undefined || message.id === '') continue;
          const event: FollowedEvent = { id: message.id, data: parse(message.data) };
          lastEventId = event.id;
          delivered = true;
          failures = 0;
          yield event;
          if (settings.isFinal(event)) return;
        }
        if (signal?.aborted) return;
        lastProblem = new Error('the stream ended before the run finished');
      } catch (error) {
        if (signal?.aborted) return;
        lastProblem = error;
      }
      // A stream that closes early after delivering events reconnects at once; one that keeps
      // closing with nothing new backs off like any failure.
      if (!delivered) failures += 1;
    } finally {
      signal?.removeEventListener('abort', stop);
      connection.abort();
    }
  }
}

/** The SSE messages of a response body, as eventsource-parser reads them. */
async function* messages(
  body: ReadableStream<Uint8Array>,
  onRetry: (ms: number) => void,
): AsyncGenerator<EventSourceMessage> {
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => queue.push(message), onRetry });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      while (queue.length > 0) yield queue.shift() as EventSourceMessage;
    }
  } finally {
    reader.releaseLock();
  }
}

function parse(data: string): RunLogEvent | UnrecognizedEvent {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { type: 'unrecognized', data };
  }
  return isRunLogEvent(value) ? value : { type: 'unrecognized', data: value };
}

/** Resolves after `ms`, or false at once when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      resolve(value);
    };
    const aborted = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

function describe(problem: unknown): string {
  return problem instanceof Error ? problem.message : String(problem);
}

function statusOf(problem: unknown): { status?: number } {
  return FollowRunError.isInstance(problem) && problem.status !== undefined
    ? { status: problem.status }
    : {};
}

function resolve(options: FollowRunOptions) {
  const fetch = options.fetch ?? globalThis.fetch;
  if (typeof fetch !== 'function') {
    throw new FollowRunError(
      'invalid_option',
      '[loopwork:client] fetch must be a function; this environment has no global fetch, so pass one',
    );
  }
  const number = (name: keyof typeof FOLLOW_RUN_DEFAULTS, min: number) => {
    const value = options[name] ?? FOLLOW_RUN_DEFAULTS[name];
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= min)) {
      throw new FollowRunError(
        'invalid_option',
        `[loopwork:client] ${name} must be a number of at least ${min}, got ${String(value)}`,
      );
    }
    return value;
  };
  if (options.isFinal !== undefined && typeof options.isFinal !== 'function') {
    throw new FollowRunError('invalid_option', '[loopwork:client] isFinal must be a function');
  }
  return {
    fetch: fetch.bind(globalThis),
    retryDelayMs: number('retryDelayMs', 0),
    maxRetryDelayMs: number('maxRetryDelayMs', 0),
    maxFailedAttempts: number('maxFailedAttempts', 1),
    isFinal: options.isFinal ?? defaultIsFinal,
  };
}
