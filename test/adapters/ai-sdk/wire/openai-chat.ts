/**
 * OpenAI Chat Completions wire format (POST /v1/chat/completions), as the API sends it.
 *
 * Shapes copied from the AI SDK's recorded fixtures (vercel/ai
 * packages/openai/src/chat/__fixtures__/openai-text.json and openai-text.chunks.txt), the
 * `openai` SDK's types (node_modules/openai/resources/chat/completions/completions.d.ts,
 * resources/completions.d.ts for `prompt_tokens_details.cache_write_tokens`), and the error
 * bodies in https://platform.openai.com/docs/guides/error-codes.
 */
export const OPENAI_URL = 'https://api.openai.com/v1/chat/completions';
export const OPENAI_MODEL = 'gpt-4.1-2025-04-14';

const head = {
  id: 'chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU',
  created: 1770933883,
  model: OPENAI_MODEL,
  service_tier: 'default',
  system_fingerprint: 'fp_de604bd877',
};

export interface ChatUsage {
  prompt: number;
  completion: number;
  cached?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export function usage({ prompt, completion, cached = 0, cacheWrite, reasoning = 0 }: ChatUsage) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: {
      cached_tokens: cached,
      audio_tokens: 0,
      ...(cacheWrite === undefined ? {} : { cache_write_tokens: cacheWrite }),
    },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A non-streaming `chat.completion`. */
export function completion(answer: {
  text?: string;
  toolCalls?: ToolCall[];
  finishReason?: string;
  usage?: ChatUsage;
}) {
  const toolCalls = answer.toolCalls ?? [];
  return {
    ...head,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.text ?? null,
          ...(toolCalls.length > 0
            ? {
                tool_calls: toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
          refusal: null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: answer.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      },
    ],
    usage: usage(answer.usage ?? { prompt: 12, completion: 6 }),
  };
}

const data = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`;
const chunk = (delta: unknown, finishReason: string | null = null) =>
  data({
    ...head,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  });

/**
 * A streamed answer (`stream: true`, `stream_options.include_usage: true`): a role chunk, the
 * text pieces, each tool call's name then its argument pieces, the finish chunk, the usage
 * chunk (empty `choices`) and `[DONE]`.
 */
export function chunks(answer: {
  text?: string[];
  toolCalls?: Array<{ id: string; name: string; arguments: string[] }>;
  finishReason?: string;
  usage?: ChatUsage;
}): string[] {
  const events = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const piece of answer.text ?? []) events.push(chunk({ content: piece }));
  (answer.toolCalls ?? []).forEach((call, index) => {
    events.push(
      chunk({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
        ],
      }),
    );
    for (const piece of call.arguments) {
      events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  const finish = answer.finishReason ?? (answer.toolCalls?.length ? 'tool_calls' : 'stop');
  events.push(chunk({}, finish));
  events.push(
    data({
      ...head,
      object: 'chat.completion.chunk',
      choices: [],
      usage: usage(answer.usage ?? { prompt: 12, completion: 6 }),
    }),
  );
  events.push('data: [DONE]\n\n');
  return events;
}

/** The first events of a text stream only (for streams that break off or hang). */
export function textStart(piece: string): string[] {
  return [chunk({ role: 'assistant', content: '', refusal: null }), chunk({ content: piece })];
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function error(message: string, type: string, code: string | null, param = null) {
  return { error: { message, type, param, code } };
}

/** Error bodies as the API sends them, by case. */
export const errors = {
  invalidRequest: error(
    "Invalid value for 'temperature': must be between 0 and 2.",
    'invalid_request_error',
    null,
  ),
  auth: error(
    'Incorrect API key provided: sk-test-***********************7890. You can find your API key at https://platform.openai.com/account/api-keys.',
    'invalid_request_error',
    'invalid_api_key',
  ),
  permission: error('You are not allowed to sample from this model', 'invalid_request_error', null),
  notFound: error(
    'The model `gpt-9` does not exist or you do not have access to it.',
    'invalid_request_error',
    'model_not_found',
  ),
  contextLength: {
    error: {
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 204308 tokens. Please reduce the length of the messages.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
  },
  rateLimit: error(
    'Rate limit reached for gpt-4.1 in organization org-abc on tokens per min (TPM): Limit 30000, Used 29500, Requested 1200. Please try again in 2s. Visit https://platform.openai.com/account/rate-limits to learn more.',
    'tokens',
    'rate_limit_exceeded',
  ),
  server: error(
    'The server had an error while processing your request. Sorry about that!',
    'server_error',
    null,
  ),
  overloaded: error(
    'The engine is currently overloaded, please try again later',
    'server_error',
    null,
  ),
};
