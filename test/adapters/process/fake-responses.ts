// A loopback server speaking the OpenAI Responses API's streaming wire format (SSE), enough for
// the real `codex exec` binary: each POST /v1/responses gets one assistant message and usage.
// `hang: true` makes it accept requests and never answer (for cancel tests).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeResponses {
  url: string;
  requests: Array<{ path: string; body: unknown }>;
  hang: boolean;
  close(): Promise<void>;
}

export async function startFakeResponses(
  answer: string,
  usage = { input: 1200, cached: 1000, output: 7 },
): Promise<FakeResponses> {
  const requests: FakeResponses['requests'] = [];
  const fake = { requests, hang: false } as FakeResponses;
  const server: Server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    requests.push({ path: request.url ?? '', body: body ? JSON.parse(body) : undefined });
    if (!request.url?.endsWith('/responses')) {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":{"message":"not found"}}');
      return;
    }
    if (fake.hang) return; // never answers; the client is cancelled
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (type: string, data: object) =>
      response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    const id = `resp_${requests.length}`;
    const item = {
      id: `msg_${requests.length}`,
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: answer, annotations: [] }],
    };
    send('response.created', {
      response: { id, object: 'response', status: 'in_progress', output: [] },
    });
    send('response.output_item.added', {
      output_index: 0,
      item: { ...item, status: 'in_progress', content: [] },
    });
    send('response.output_text.delta', {
      item_id: item.id,
      output_index: 0,
      content_index: 0,
      delta: answer,
    });
    send('response.output_item.done', { output_index: 0, item });
    send('response.completed', {
      response: {
        id,
        object: 'response',
        status: 'completed',
        output: [item],
        usage: {
          input_tokens: usage.input,
          input_tokens_details: { cached_tokens: usage.cached },
          output_tokens: usage.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input + usage.output,
        },
      },
    });
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return fake;
}
