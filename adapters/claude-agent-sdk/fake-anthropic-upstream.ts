import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Usage } from 'loopwork';
import type { ScriptedTurn } from 'loopwork/testing';
import { type AnthropicErrorType, errorBody } from './anthropic-wire';

/** Options of {@link fakeAnthropicUpstream}. */
export interface FakeAnthropicUpstreamOptions {
  /**
   * The answer to a request, by `n` = assistant messages already in it (0-based, so a resumed
   * conversation gets the same answers; Claude Code's "No response requested." filler is not
   * counted). Tool names may omit Claude Code's MCP prefix (`step`
   * answers as `mcp__loopwork__step`).
   */
  turn(n: number, body: Record<string, unknown>): ScriptedTurn;
  /** When set, requests must carry this `x-api-key` (else 401). */
  apiKey?: string;
}

/** A running fake upstream. */
export interface FakeAnthropicUpstream {
  /** Base URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** Every request body received, in order. */
  readonly requests: Array<Record<string, unknown>>;
  /** The usage of every answer sent (what the upstream "billed"), in order. */
  readonly billed: Array<{ model: string; usage: Usage }>;
  close(): Promise<void>;
}

const BYTES_PER_TOKEN = 4;
const tokensOf = (value: unknown) =>
  Math.ceil(Buffer.byteLength(JSON.stringify(value)) / BYTES_PER_TOKEN);

const ERROR_TYPES: Record<string, [number, AnthropicErrorType]> = {
  rate_limit: [429, 'rate_limit_error'],
  overloaded: [529, 'overloaded_error'],
  server: [500, 'api_error'],
  auth: [401, 'authentication_error'],
  invalid_request: [400, 'invalid_request_error'],
  context_length: [400, 'invalid_request_error'],
};

/** What the real API refuses and Claude Code could send wrong once clamped. */
function invalid(body: Record<string, unknown>): string | undefined {
  const max = body.max_tokens;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
    return 'max_tokens: must be a positive integer';
  const thinking = body.thinking as { type?: string; budget_tokens?: number } | undefined;
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens ?? 0;
    if (budget < 1024) return 'thinking.budget_tokens: must be at least 1024';
    if (budget >= max) return '`max_tokens` must be greater than `thinking.budget_tokens`';
  }
  return undefined;
}

/**
 * An assistant message the model wrote: not the filler Claude Code puts in the conversation
 * when it resumes a session that ended on a tool result (`No response requested.`).
 */
const isAnswer = (message: { role: string; content?: unknown }) =>
  message.role === 'assistant' &&
  JSON.stringify(message.content) !==
    JSON.stringify([{ type: 'text', text: 'No response requested.' }]);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });

/**
 * A loopback server answering the Anthropic Messages API (`POST /v1/messages`, SSE and JSON) from
 * a script, in the API's exact wire format: for offline tests and examples of runtimes that call
 * Anthropic themselves, behind {@link budgetProxy}. Like loopwork's `ScriptedModel`, it reports
 * prompt tokens at 4 bytes a token and cuts an answer longer than `max_tokens` (stop reason
 * `max_tokens`, tool calls dropped); it refuses what the real API refuses about `max_tokens` and
 * `thinking`.
 */
export async function fakeAnthropicUpstream(
  options: FakeAnthropicUpstreamOptions,
): Promise<FakeAnthropicUpstream> {
  const requests: Array<Record<string, unknown>> = [];
  const billed: Array<{ model: string; usage: Usage }> = [];
  let ids = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const fail = (status: number, type: AnthropicErrorType, message: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': `req_fake_${ids}`,
      });
      res.end(errorBody(type, message));
    };
    if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey)
      return fail(401, 'authentication_error', 'invalid x-api-key');
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/messages')
      return fail(404, 'not_found_error', 'Not found');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    requests.push(body);
    const problem = invalid(body);
    if (problem) return fail(400, 'invalid_request_error', problem);
    const messages = (body.messages as Array<{ role: string; content?: unknown }>) ?? [];
    const turn = options.turn(messages.filter(isAnswer).length, body);
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    if (turn.delayMs) await sleep(turn.delayMs, closed.signal);
    if (closed.signal.aborted) return;
    if (turn.error) {
      const kind = 'kind' in turn.error ? turn.error.kind : 'server';
      const [status, type] = ERROR_TYPES[kind] ?? [500, 'api_error'];
      return fail(status, type, turn.error.message ?? `scripted ${kind} error`);
    }
    const toolNames = ((body.tools as Array<{ name: string }>) ?? []).map((t) => t.name);
    const nameOf = (name: string) =>
      toolNames.find((t) => t === name || t.endsWith(`__${name}`)) ?? name;
    let chunksOut = turn.chunks ?? (turn.text ? [turn.text] : []);
    let calls = (turn.toolCalls ?? []).map((call, j) => ({
      type: 'tool_use' as const,
      id: call.id ?? `toolu_${++ids}_${j}`,
      name: nameOf(call.name),
      input: call.input,
    }));
    const maxTokens = body.max_tokens as number;
    let outputTokens =
      turn.usage?.outputTokens ?? Math.max(1, tokensOf([chunksOut.join(''), calls]));
    let stopReason: string = turn.stopReason ?? (calls.length > 0 ? 'tool_use' : 'end_turn');
    if (outputTokens > maxTokens) {
      outputTokens = maxTokens;
      stopReason = 'max_tokens';
      calls = [];
      const text = chunksOut.join('').slice(0, maxTokens * BYTES_PER_TOKEN);
      chunksOut = text ? [text] : [];
    }
    const usage = {
      input_tokens: turn.usage?.inputTokens ?? tokensOf([body.system, body.messages, body.tools]),
      cache_creation_input_tokens: turn.usage?.cacheWriteTokens ?? 0,
      cache_read_input_tokens: turn.usage?.cacheReadTokens ?? 0,
      output_tokens: outputTokens,
    };
    billed.push({
      model: String(body.model),
      usage: {
        inputTokens: usage.input_tokens,
        outputTokens: usage.output_tokens,
        cacheReadTokens: usage.cache_read_input_tokens,
        cacheWriteTokens: usage.cache_creation_input_tokens,
        reasoningTokens: 0,
      },
    });
    const text = chunksOut.join('');
    const content = [...(text ? [{ type: 'text' as const, text }] : []), ...calls];
    const message = {
      id: `msg_fake_${++ids}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_fake_${ids}` });
      return void res.end(JSON.stringify(message));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_fake_${ids}` });
    const send = (data: { type: string } & Record<string, unknown>) =>
      res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    send({
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    let index = 0;
    if (text) {
      send({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const piece of chunksOut)
        send({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
      send({ type: 'content_block_stop', index: index++ });
    }
    for (const call of calls) {
      send({ type: 'content_block_start', index, content_block: { ...call, input: {} } });
      send({
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(call.input) },
      });
      send({ type: 'content_block_stop', index: index++ });
    }
    send({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    });
    send({ type: 'message_stop' });
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(errorBody('api_error', String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    billed,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
