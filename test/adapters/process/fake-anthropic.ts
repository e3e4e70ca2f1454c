// A loopback server speaking the Anthropic Messages API's streaming wire format (SSE), enough for
// the real `claude` binary: POST /v1/messages answers with `answer(n)` (n = 0-based count of
// streamed requests), a text or a tool_use block. `hang: true` accepts requests and never answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeAnswer = { text: string } | { tool: { id: string; name: string; input: unknown } };

export interface FakeAnthropic {
  url: string;
  /** Bodies of the streamed /v1/messages requests. */
  requests: Array<{ model?: string; messages?: unknown[] }>;
  hang: boolean;
  close(): Promise<void>;
}

export async function startFakeAnthropic(
  answer: (n: number) => FakeAnswer,
): Promise<FakeAnthropic> {
  const fake = { requests: [], hang: false } as unknown as FakeAnthropic;
  const server: Server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const json = (status: number, value: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (!request.url?.startsWith('/v1/messages'))
      return json(404, { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
    if (request.url.includes('count_tokens')) return json(200, { input_tokens: 10 });
    const parsed = JSON.parse(body) as { model?: string; stream?: boolean; messages?: unknown[] };
    const usage = {
      input_tokens: 50,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 5,
    };
    if (!parsed.stream) {
      // Side calls (titles, classifiers): a short text, not part of the script.
      return json(200, {
        id: 'msg_side',
        type: 'message',
        role: 'assistant',
        model: parsed.model,
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage,
      });
    }
    const n = fake.requests.length;
    fake.requests.push(parsed);
    if (fake.hang) return;
    const reply = answer(n);
    const id = `msg_fake_${n}`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (type: string, data: object) =>
      response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    send('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: parsed.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    if ('text' in reply) {
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: reply.text } });
    } else {
      send('content_block_start', {
        index: 0,
        content_block: { type: 'tool_use', id: reply.tool.id, name: reply.tool.name, input: {} },
      });
      send('content_block_delta', {
        index: 0,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(reply.tool.input) },
      });
    }
    send('content_block_stop', { index: 0 });
    send('message_delta', {
      delta: { stop_reason: 'text' in reply ? 'end_turn' : 'tool_use', stop_sequence: null },
      usage: { output_tokens: 5 },
    });
    send('message_stop', {});
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return fake;
}
