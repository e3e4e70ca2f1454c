// An msw server for the Anthropic adapter tests (not a test file).

import { type AnthropicModelOptions, anthropic } from 'loopwork/anthropic';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { mswSafeFetch } from '../../helpers/msw-fetch';
import { BASE_URL, MESSAGES_URL, TEST_KEY } from './fixtures';

type Json = Record<string, unknown>;

/** One request the fixture received. */
export interface Received {
  body: Json;
  headers: Headers;
  signal: AbortSignal;
}

/** Answers one request; gets the parsed JSON body and the request. */
export type Responder = (body: Json, request: Request) => Response | Promise<Response>;

/**
 * Starts an msw server for the file (unhandled requests fail the test) and returns helpers:
 * `respond(...)` serves the given responders in order, one per request, and records each
 * request in `received`; `model()` is the adapter pointed at the server.
 */
export function useAnthropicServer() {
  const server = setupServer();
  const received: Received[] = [];
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    server.resetHandlers();
    received.length = 0;
  });
  afterAll(() => server.close());

  function respond(...responders: Responder[]): void {
    const queue = [...responders];
    server.use(
      http.post(MESSAGES_URL, async ({ request }) => {
        const body = (await request.clone().json()) as Json;
        received.push({ body, headers: request.headers, signal: request.signal });
        const next = queue.shift();
        if (!next) throw new Error(`no fixture left for request ${received.length}`);
        return next(body, request);
      }),
    );
  }

  function model(options: Partial<AnthropicModelOptions> = {}) {
    return anthropic({
      model: 'claude-sonnet-5-5',
      apiKey: TEST_KEY,
      baseURL: BASE_URL,
      fetch: mswSafeFetch,
      ...options,
    });
  }

  return { server, received, respond, model };
}
