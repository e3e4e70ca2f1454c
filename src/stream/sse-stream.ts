import type { LoggedEvent } from '../store/event-log';
import { eventTooLarge } from '../store/event-size';
import { report } from './sse-admission';
import type { ResolvedSseOptions } from './sse-options';

/**
 * Where one client's frames go: a `node:http` response or a `ReadableStream` controller. Both
 * report what is still waiting for the client, which is what backpressure and the cap act on.
 */
export interface ClientSink {
  /** Bytes written and not yet taken by the client. */
  buffered(): number;
  /** Writes bytes; `false` asks the writer to wait for `ready()` before writing more. */
  write(chunk: Uint8Array): boolean;
  /** Resolves when the client can take more, or has gone away. */
  ready(): Promise<void>;
  /** Resolves once the client has taken bytes (so `buffered()` is smaller), or has gone away. */
  taken(): Promise<void>;
  /** Ends the response (idempotent). */
  end(): void;
  /** Drops the connection and what waits unsent for it, at once (idempotent). */
  destroy(): void;
}

const encoder = new TextEncoder();

/** One SSE frame for a logged event: `id`, `event` (its `type`, when it has one) and JSON `data`. */
export function formatSseEvent(event: LoggedEvent): string {
  const type = (event.data as { type?: unknown } | null)?.type;
  const name = typeof type === 'string' && !/[\r\n]/.test(type) ? `event: ${type}\n` : '';
  return `id: ${event.id}\n${name}data: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * The last frame of a stream the server ends early because reading the run failed. A named event
 * without an `id:` line, so `EventSource` keeps the last id it had and resumes from it.
 */
const FAILED_FRAME = `event: stream-closed\ndata: ${JSON.stringify({
  type: 'stream-closed',
  reason: 'error',
  message: 'the server failed to read the run; reconnect with Last-Event-ID to resume',
})}\n\n`;

/** The frame of `event` as bytes; one too large for any client buffer becomes a placeholder. */
function frameOf(event: LoggedEvent, maxBufferedBytes: number): Uint8Array {
  const frame = encoder.encode(formatSseEvent(event));
  if (frame.byteLength <= maxBufferedBytes) return frame;
  // Closing instead would loop: the client would reconnect and meet the same event again.
  const placeholder = eventTooLarge(event.data, frame.byteLength, maxBufferedBytes);
  return encoder.encode(formatSseEvent({ id: event.id, data: placeholder }));
}

/**
 * Streams a run to one client until its final event, the client leaving (`signal`) or a failure
 * (then a last `stream-closed` event says so). Never throws.
 *
 * Backpressure: the next event is read from the log only once the client has room for it
 * (`ready()`), so a client that stops reading holds at most one frame more than its socket's
 * buffer, never the run's history. The cap: a frame is written only if it fits, with what is
 * still unsent, in `maxBufferedBytes`; if not, the stream waits until the client has taken
 * enough. Bytes waiting for one client therefore never pass the cap, on any server. A client
 * that leaves an event waiting for `stallTimeoutMs` is cut off (it may resume with Last-Event-ID).
 */
export async function streamRun(
  options: ResolvedSseOptions,
  runId: string,
  after: string | undefined,
  sink: ClientSink,
  signal: AbortSignal,
): Promise<void> {
  const cap = options.maxBufferedBytes;
  /** Whether `bytes` fit on top of what is still unsent, under the cap. */
  const fits = (bytes: Uint8Array) => sink.buffered() + bytes.byteLength <= cap;
  /** Waits for the client; false (and the connection dropped) if it stalls for stallTimeoutMs. */
  const patiently = async (wait: Promise<void>): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.stallTimeoutMs);
    });
    try {
      if (await Promise.race([wait.then(() => true), stalled])) return true;
      sink.destroy();
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  const keepAlive = setInterval(() => {
    // Only on an idle connection: a client that is not reading must not collect them. (A fresh
    // array each time: a consumer may take ownership of the chunks it reads.)
    try {
      if (!signal.aborted && sink.buffered() === 0) sink.write(encoder.encode(': keep-alive\n\n'));
    } catch (error) {
      report(options, error); // a timer callback that throws would end the process
    }
  }, options.keepAliveMs);
  try {
    if (!sink.write(encoder.encode('retry: 2000\n\n')) && !(await patiently(sink.ready()))) return;
    for await (const event of options.events.follow(runId, {
      ...(after ? { after } : {}),
      signal,
    })) {
      if (signal.aborted) return;
      const frame = frameOf(event, cap);
      // Ends: once the client has taken everything, any frame fits (frameOf made sure).
      while (!fits(frame)) {
        if (!(await patiently(sink.taken())) || signal.aborted) return;
      }
      const more = sink.write(frame);
      if (options.isFinal(event)) return;
      if (!more && !(await patiently(sink.ready()))) return;
    }
  } catch (error) {
    if (signal.aborted) return; // the client left; whatever failed after that is not news
    report(options, error);
    const failed = encoder.encode(FAILED_FRAME);
    if (fits(failed)) sink.write(failed);
  } finally {
    clearInterval(keepAlive);
    sink.end();
  }
}
