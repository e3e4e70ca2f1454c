import { Holds } from '../internal/holds';
import { eventIdBefore, eventIdProblem } from '../store/event-id';
import type { ResolvedSseOptions } from './sse-options';

/** A response that is not a stream: an error, or 204 after the end. */
export interface SseReply {
  status: number;
  /** Plain text saying what was wrong; empty for 204. */
  body: string;
  headers?: Record<string, string>;
}

/** A request allowed to stream. */
export interface SseAdmitted {
  runId: string;
  /** The client's last event id, validated. */
  after: string | undefined;
  /** Gives the client's place under `maxClientsPerRun` back; call once the stream has ended. */
  release(): void;
}

/** Seconds a client over `maxClientsPerRun` is told to wait: others' streams end, tabs close. */
const BUSY_RETRY_AFTER_SECONDS = 5;
/** How much of a refused value a 400 body quotes back. */
const QUOTED_CHARACTERS = 48;
const VALID_ID =
  'A valid id is <milliseconds>-<sequence>, each a decimal integer from 0 to 18446744073709551615 ' +
  'without leading zeros, exactly as sent in an "id:" line of this stream (for example 1718000000000-0).';

const reply = (status: number, body: string, headers?: Record<string, string>): SseReply => ({
  status,
  body: `${body}\n`,
  ...(headers ? { headers } : {}),
});

const quote = (value: string) =>
  JSON.stringify(
    value.length > QUOTED_CHARACTERS ? `${value.slice(0, QUOTED_CHARACTERS)}…` : value,
  );

/** Why the run id is refused, or undefined. Control characters have no place in an id. */
function runIdProblem(runId: unknown, maxLength: number): string | undefined {
  if (typeof runId !== 'string' || runId === '') return 'no run id in the URL';
  if (runId.length > maxLength) {
    return `the run id is ${runId.length} characters long; at most ${maxLength} are accepted`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(runId)) return 'the run id contains control characters';
  return undefined;
}

/** The client's last event id from the header or the query, or a 400 saying what is wrong. */
function lastEventId(url: URL, headers: Headers): { after: string | undefined } | SseReply {
  const header = headers.get('last-event-id') || undefined;
  const queried = url.searchParams.getAll('lastEventId');
  if (queried.length > 1) {
    return reply(
      400,
      `the lastEventId query parameter is given ${queried.length} times; give it once.`,
    );
  }
  const query = queried[0] || undefined;
  for (const [where, value] of [
    ['the Last-Event-ID header', header],
    ['the lastEventId query parameter', query],
  ] as const) {
    const problem = value === undefined ? undefined : eventIdProblem(value);
    if (problem) {
      return reply(
        400,
        `${where} ${quote(value as string)} is not an event id: ${problem}. ${VALID_ID}`,
      );
    }
  }
  // The header wins: EventSource sends it when it reconnects, so it is newer than the position
  // the page's URL started from.
  return { after: header ?? query };
}

/**
 * Returns the admission check of a handler: method, run id and last id are checked before
 * anything is asked of `authorize` or the event log; then `authorize`, the per-run client cap,
 * and whether the client has already seen the run's final event (204). Never throws: a failure
 * of `authorize` or the log is reported to `onError` and answered 500.
 */
export function createAdmission(options: ResolvedSseOptions) {
  const clients = new Holds<string>();

  const take = (runId: string): (() => void) | undefined =>
    clients.count(runId) >= options.maxClientsPerRun ? undefined : clients.hold(runId);

  /** True when the client's last id is the run's final event: nothing is after it, and it is final. */
  async function finishedBefore(runId: string, after: string): Promise<boolean> {
    if ((await options.events.read(runId, { after, limit: 1 })).length > 0) return false;
    // Read the one event at `after` (the first one after its predecessor), not the whole history.
    const before = eventIdBefore(after);
    const [seen] = await options.events.read(runId, {
      ...(before ? { after: before } : {}),
      limit: 1,
    });
    return seen?.id === after && options.isFinal(seen);
  }

  return async function admit(
    method: string,
    url: URL,
    headers: Headers,
  ): Promise<SseAdmitted | SseReply> {
    if (method !== 'GET') {
      return reply(
        405,
        `${method.slice(0, 16)} is not supported: this endpoint streams with GET.`,
        {
          allow: 'GET',
        },
      );
    }
    let runId: unknown;
    try {
      runId = options.runIdFrom(url);
    } catch {
      return reply(400, 'the run id could not be read from the URL.');
    }
    const problem = runIdProblem(runId, options.maxRunIdLength);
    if (problem) return reply(400, `${problem}.`);
    const id = runId as string;
    const last = lastEventId(url, headers);
    if ('status' in last) return last;

    try {
      if ((await options.authorize({ runId: id, headers, url })) !== true) {
        return reply(403, 'forbidden: this request may not read this run.');
      }
    } catch (error) {
      report(options, error);
      return reply(500, 'the server could not decide whether this request may read this run.');
    }
    const release = take(id);
    if (!release) {
      return reply(
        429,
        `too many clients are following this run (at most ${options.maxClientsPerRun}); try again later.`,
        { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS) },
      );
    }
    try {
      if (last.after !== undefined && (await finishedBefore(id, last.after))) {
        release();
        // EventSource reconnects whenever a stream closes; 204 is how SSE tells it to stop.
        return { status: 204, body: '' };
      }
    } catch (error) {
      release();
      report(options, error);
      return reply(500, 'the event log could not be read; try again later.');
    }
    return { runId: id, after: last.after, release };
  };
}

/** Calls `onError`, which must not turn a handled failure into a thrown one. */
export function report(options: Pick<ResolvedSseOptions, 'onError'>, error: unknown): void {
  try {
    options.onError(error);
  } catch {
    // A broken logger is not a reason to fail the request or the process.
  }
}
