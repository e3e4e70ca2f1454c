/**
 * msw plumbing shared by the AI SDK adapter tests: one server, handlers that serve a sequence of
 * responses and record the JSON bodies they received, and SSE bodies (whole or broken off).
 */
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const server = setupServer();

/** Starts the server for the calling test file; an unexpected request fails the test. */
export function useMswServer(): void {
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
}

/** Requests a route received: their JSON bodies and headers, in order. */
export interface Received {
  bodies: Array<Record<string, any>>;
  headers: Headers[];
}

/**
 * Serves `responses` in order on POST `url` (the last one repeats) and records each request.
 * Responses are factories because a body can be read only once.
 */
export function serve(url: string, ...responses: Array<() => Response>): Received {
  const received: Received = { bodies: [], headers: [] };
  let next = 0;
  server.use(
    http.post(url, async ({ request }) => {
      received.bodies.push((await request.json()) as Record<string, any>);
      received.headers.push(request.headers);
      const respond = responses[Math.min(next++, responses.length - 1)];
      if (!respond) throw new Error(`no response configured for ${url}`);
      return respond();
    }),
  );
  return received;
}

/** A JSON response with optional headers. */
export const json =
  (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  () =>
    HttpResponse.json(body as Record<string, unknown>, { status, headers });

/** A connection reset before any response (fetch rejects). */
export const networkError = () => () => HttpResponse.error();

const encoder = new TextEncoder();

/**
 * An SSE response delivering `events` (already formatted, each ending in a blank line) one per
 * read. With `breakOff`, the body then fails the way undici fails when the server closes the
 * socket mid-body; with `hang`, it stays open after the events (for abort tests).
 */
export const sse =
  (events: string[], end: 'close' | 'breakOff' | 'hang' = 'close') =>
  () => {
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const event = events[index++];
        if (event !== undefined) {
          controller.enqueue(encoder.encode(event));
        } else if (end === 'close') {
          controller.close();
        } else if (end === 'breakOff') {
          const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
          controller.error(Object.assign(new TypeError('terminated'), { cause: socket }));
        } else {
          return new Promise<void>(() => {});
        }
      },
    });
    return new HttpResponse(body, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    });
  };
