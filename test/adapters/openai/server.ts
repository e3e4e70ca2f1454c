import { ModelError } from 'loopwork';
import { type OpenAIApi, type OpenAIModelOptions, openai } from 'loopwork/openai';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { mswSafeFetch } from '../../helpers/msw-fetch';
import { chatChunks, chatCompletion, chatSse } from './chat-wire';
import { responseEvents, responseObject, responsesSse } from './responses-wire';
import type { Answer } from './wire';

export const API_KEY = 'sk-test-loopwork-SECRET-0123456789abcdef';
export const BASE_URL = 'https://api.openai.com/v1';
export const URLS: Record<OpenAIApi, string> = {
  chat: `${BASE_URL}/chat/completions`,
  responses: `${BASE_URL}/responses`,
};

/** One msw server per test file, failing on any request no handler expects. */
export function useServer() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

/** An adapter pointed at msw through the real SDK client. */
export function makeModel(api: OpenAIApi, options: Partial<OpenAIModelOptions> = {}) {
  return openai({
    model: 'gpt-4.1',
    api,
    apiKey: API_KEY,
    baseURL: BASE_URL,
    fetch: mswSafeFetch,
    ...options,
  });
}

/** How the SSE body ends after its frames: normally, cut by a socket error, or never. */
export type StreamEnd = 'close' | 'error' | 'hang';

/** A `text/event-stream` response delivering one frame per read, then ending as told. */
export function sseResponse(frames: string[], end: StreamEnd = 'close'): Response {
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const frame = frames[next++];
      if (frame !== undefined) return controller.enqueue(encoder.encode(frame));
      if (end === 'close') return controller.close();
      if (end === 'hang') return new Promise<void>(() => {});
      // Erroring a stream drops the chunks still queued in the pipes between here and the SDK,
      // so let the client read what was sent first, as it would over a real socket: every hop
      // runs on promises, and a few turns of the event loop drain them.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      // Undici reports a reset connection mid-body as `TypeError: terminated`.
      controller.error(new TypeError('terminated'));
    },
  });
  return new HttpResponse(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_stream' },
  });
}

/** The SSE frames of `answer` in the wire format of `api`. */
export function framesOf(api: OpenAIApi, answer: Answer): string[] {
  return api === 'chat' ? chatSse(chatChunks(answer)) : responsesSse(responseEvents(answer));
}

/** The answer as JSON or as SSE, whichever the request asked for. */
export function answerFor(api: OpenAIApi, answer: Answer, body: { stream?: boolean }): Response {
  if (body.stream) return sseResponse(framesOf(api, answer));
  return HttpResponse.json(api === 'chat' ? chatCompletion(answer) : responseObject(answer), {
    headers: { 'x-request-id': 'req_json' },
  });
}

/** A reply to one request, given its parsed JSON body. */
export type Reply = (body: any) => Response | Promise<Response>;

/** Serves `replies` in order (the last one repeats) and records every request body. */
export function route(server: ReturnType<typeof setupServer>, api: OpenAIApi, replies: Reply[]) {
  const bodies: any[] = [];
  const headers: Headers[] = [];
  server.use(
    http.post(URLS[api], async ({ request }) => {
      const body = await request.json();
      bodies.push(body);
      headers.push(request.headers);
      const reply = replies[Math.min(bodies.length, replies.length) - 1] as Reply;
      return reply(body);
    }),
  );
  return { bodies, headers };
}

/** Replies with `answers` in order, each as JSON or SSE as requested. */
export function serveAnswers(
  server: ReturnType<typeof setupServer>,
  api: OpenAIApi,
  ...answers: Answer[]
) {
  return route(
    server,
    api,
    answers.map((answer) => (body) => answerFor(api, answer, body)),
  );
}

/** An OpenAI error response: status, JSON body and headers. */
export function errorResponse(
  status: number,
  body: object | string,
  headers: Record<string, string> = {},
) {
  return typeof body === 'string'
    ? new HttpResponse(body, { status, headers: { 'content-type': 'text/html', ...headers } })
    : HttpResponse.json(body, { status, headers: { 'x-request-id': 'req_error', ...headers } });
}

export const APIS: OpenAIApi[] = ['chat', 'responses'];

/** Awaits a call expected to fail with a ModelError, and returns the error. */
export async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => expect.unreachable('the call succeeded'),
    (thrown: unknown) => thrown,
  );
  if (!ModelError.isInstance(error)) throw error;
  return error;
}

/** Reads a stream to its end. */
export async function drain(parts: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of parts);
}
