/**
 * Anthropic Messages wire format (POST /v1/messages), as the API sends it.
 *
 * Shapes copied from the AI SDK's recorded fixtures (vercel/ai
 * packages/anthropic/src/__fixtures__/anthropic-text.json, anthropic-text.chunks.txt,
 * anthropic-issue-10372-tool-call.json, anthropic-issue-11719-quoted-tool-input.chunks.txt),
 * the `@anthropic-ai/sdk` types (resources/messages/messages.d.ts: `Usage`,
 * `output_tokens_details.thinking_tokens`) and https://docs.claude.com/en/api/errors.
 */
export const ANTHROPIC_URL = 'https://api.anthropic.com/v1/messages';
export const ANTHROPIC_MODEL = 'claude-sonnet-4-5-20250929';

export interface AnthropicUsage {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  thinking?: number;
}

export function usage({ input, output, cacheRead = 0, cacheWrite = 0, thinking }: AnthropicUsage) {
  return {
    input_tokens: input,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    ...(thinking === undefined ? {} : { output_tokens_details: { thinking_tokens: thinking } }),
    service_tier: 'standard',
    inference_geo: 'not_available',
  };
}

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

/** A non-streaming message. */
export function message(answer: {
  content: Block[];
  stopReason?: string;
  stopSequence?: string | null;
  usage?: AnthropicUsage;
}) {
  const hasTools = answer.content.some((block) => block.type === 'tool_use');
  return {
    model: ANTHROPIC_MODEL,
    id: 'msg_01QC4g3HwBThD4BaNtBckFDJ',
    type: 'message',
    role: 'assistant',
    content: answer.content.map((block) =>
      block.type === 'tool_use' ? { ...block, caller: { type: 'direct' } } : block,
    ),
    stop_reason: answer.stopReason ?? (hasTools ? 'tool_use' : 'end_turn'),
    stop_sequence: answer.stopSequence ?? null,
    usage: usage(answer.usage ?? { input: 12, output: 6 }),
  };
}

const event = (type: string, body: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;

type StreamBlock =
  | { type: 'text'; pieces: string[] }
  | { type: 'tool_use'; id: string; name: string; pieces: string[] };

/** The opening events of a stream, up to and including the first block's first delta. */
function opening(startUsage: AnthropicUsage): string[] {
  return [
    event('message_start', {
      message: {
        model: ANTHROPIC_MODEL,
        id: 'msg_01QC4g3HwBThD4BaNtBckFDJ',
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage({ ...startUsage, output: 1 }),
      },
    }),
  ];
}

function blockEvents(block: StreamBlock, index: number): string[] {
  if (block.type === 'text') {
    return [
      event('content_block_start', { index, content_block: { type: 'text', text: '' } }),
      ...block.pieces.map((text) =>
        event('content_block_delta', { index, delta: { type: 'text_delta', text } }),
      ),
      event('content_block_stop', { index }),
    ];
  }
  return [
    event('content_block_start', {
      index,
      content_block: {
        type: 'tool_use',
        id: block.id,
        name: block.name,
        input: {},
        caller: { type: 'direct' },
      },
    }),
    event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }),
    ...block.pieces.map((partial_json) =>
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }),
    ),
    event('content_block_stop', { index }),
  ];
}

/** A streamed message: message_start, the blocks, ping, message_delta, message_stop. */
export function events(answer: {
  blocks: StreamBlock[];
  stopReason?: string;
  usage?: AnthropicUsage;
}): string[] {
  const finalUsage = answer.usage ?? { input: 12, output: 6 };
  const hasTools = answer.blocks.some((block) => block.type === 'tool_use');
  return [
    ...opening(finalUsage),
    event('ping', {}),
    ...answer.blocks.flatMap(blockEvents),
    event('message_delta', {
      delta: {
        stop_reason: answer.stopReason ?? (hasTools ? 'tool_use' : 'end_turn'),
        stop_sequence: null,
      },
      usage: {
        input_tokens: finalUsage.input,
        cache_creation_input_tokens: finalUsage.cacheWrite ?? 0,
        cache_read_input_tokens: finalUsage.cacheRead ?? 0,
        output_tokens: finalUsage.output,
      },
    }),
    event('message_stop', {}),
  ];
}

/** The first events of a text stream only (for streams that break off or hang). */
export function textStart(piece: string): string[] {
  return [
    ...opening({ input: 12, output: 1 }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }),
  ];
}

/** An `error` event inside an open stream (https://docs.claude.com/en/docs/build-with-claude/streaming#error-events). */
export function errorEvent(type: string, message: string): string {
  return event('error', { error: { type, message } });
}

/** Anthropic's error body: `{ type: 'error', error: { type, message }, request_id }`. */
export function error(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' };
}

/** Error bodies as the API sends them, by case. */
export const errors = {
  invalidRequest: error('invalid_request_error', 'max_tokens: Field required'),
  auth: error('authentication_error', 'invalid x-api-key'),
  permission: error(
    'permission_error',
    'Your API key does not have permission to use the specified resource.',
  ),
  notFound: error('not_found_error', 'model: claude-sonnet-9'),
  contextLength: error(
    'invalid_request_error',
    'prompt is too long: 208310 tokens > 200000 maximum',
  ),
  requestTooLarge: error(
    'request_too_large',
    'Request exceeds the maximum allowed number of bytes.',
  ),
  rateLimit: error(
    'rate_limit_error',
    'This request would exceed the rate limit for your organization of 50 requests per minute.',
  ),
  server: error('api_error', 'Internal server error'),
  overloaded: error('overloaded_error', 'Overloaded'),
};
