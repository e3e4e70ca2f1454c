// A loopback upstream speaking the OpenAI Responses API (the wire format of
// test/adapters/openai/responses-wire.ts, read from the `openai` package's types), scripted per
// request: each POST /v1/responses gets `script(n, body)` — an answer (streamed as SSE when the
// body asks `stream: true`, else JSON), an HTTP error, a stream cut after `response.created`, or
// no answer at all. Like the real API it bills the prompt it received (4 UTF-8 bytes a token, a
// part of it cached) and never more output than `max_output_tokens` (the answer is then
// `incomplete`); what it billed is summed in `billed`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addUsage, emptyUsage, type Usage } from 'loopwork';
import { responseEvents, responseObject, responsesSse } from '../openai/responses-wire';
import type { Answer } from '../openai/wire';

export type UpstreamReply =
  | {
      kind: 'answer';
      text?: string;
      toolCalls?: Answer['toolCalls'];
      /** Output the model wants to write; cut at `max_output_tokens`. */
      output: number;
      /** Share of the prompt read from the cache (0..1). */
      cachedShare?: number;
      /** Share of the output that is reasoning (0..1). */
      reasoningShare?: number;
    }
  | { kind: 'error'; status: number; body: unknown }
  | { kind: 'cut' }
  | { kind: 'hang' };

export interface UpstreamRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export interface ResponsesUpstream {
  /** Base URL with `/v1`. */
  url: string;
  requests: UpstreamRequest[];
  /** What the upstream billed, in loopwork's buckets. */
  billed: Usage;
  close(): Promise<void>;
}

/** The prompt tokens the fake bills for a body: 4 UTF-8 bytes a token (below the proxy's 3). */
export function billedPrompt(body: Record<string, unknown>): number {
  const { instructions, input, tools } = body;
  return Math.ceil(
    Buffer.byteLength(JSON.stringify([instructions ?? null, input ?? [], tools ?? []])) / 4,
  );
}

export async function startResponsesUpstream(
  script: (n: number, body: Record<string, unknown>) => UpstreamReply,
): Promise<ResponsesUpstream> {
  const requests: UpstreamRequest[] = [];
  const upstream = { requests, billed: emptyUsage() } as ResponsesUpstream;
  const server: Server = createServer(async (request, response) => {
    let raw = '';
    for await (const chunk of request) raw += chunk;
    const body = JSON.parse(raw || '{}') as Record<string, unknown>;
    requests.push({ headers: request.headers, body });
    if (request.url !== '/v1/responses') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{}}');
      return;
    }
    const reply = script(requests.length, body);
    if (reply.kind === 'hang') return;
    if (reply.kind === 'error') {
      response
        .writeHead(reply.status, { 'content-type': 'application/json', 'x-request-id': 'req_1' })
        .end(JSON.stringify(reply.body));
      return;
    }
    const prompt = billedPrompt(body);
    const cap = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : Infinity;
    if (reply.kind === 'cut') {
      // Billed in full as far as loopwork can know: the whole prompt and output up to the cap.
      upstream.billed = addUsage(upstream.billed, {
        ...emptyUsage(),
        inputTokens: prompt,
        outputTokens: Number.isFinite(cap) ? cap : 0,
      });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const [created] = responsesSse(responseEvents({ text: ['x'] }));
      // The frame reaches the client, then the connection drops mid-stream.
      response.write(created, () => setTimeout(() => response.destroy(), 20));
      return;
    }
    const output = Math.min(reply.output, cap);
    const cached = Math.floor(prompt * (reply.cachedShare ?? 0));
    const reasoning = Math.floor(output * (reply.reasoningShare ?? 0));
    upstream.billed = addUsage(upstream.billed, {
      inputTokens: prompt - cached,
      outputTokens: output,
      cacheReadTokens: cached,
      cacheWriteTokens: 0,
      reasoningTokens: reasoning,
    });
    const answer: Answer = {
      ...(reply.text ? { text: [reply.text] } : {}),
      ...(reply.toolCalls ? { toolCalls: reply.toolCalls } : {}),
      ...(output < reply.output ? { finish: 'length' as const } : {}),
      usage: { input: prompt, cached, output, reasoning },
    };
    if (body.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      for (const frame of responsesSse(responseEvents(answer))) response.write(frame);
      response.end();
    } else {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(responseObject(answer)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  upstream.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return upstream;
}
