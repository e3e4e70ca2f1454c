/** Chat Completions wire format (sources: see wire.ts). */
import { type Answer, type AnswerUsage, CHAT_ID, CREATED, finishOf, MODEL, USAGE } from './wire';

export function chatUsageJson(usage: AnswerUsage = USAGE) {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: {
      cached_tokens: usage.cached ?? 0,
      audio_tokens: 0,
      ...(usage.cacheWrite === undefined ? {} : { cache_write_tokens: usage.cacheWrite }),
    },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A `chat.completion` object. */
export function chatCompletion(answer: Answer) {
  const calls = answer.toolCalls ?? [];
  return {
    id: CHAT_ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.text ? answer.text.join('') : null,
          ...(calls.length
            ? {
                tool_calls: calls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.args.join('') },
                })),
              }
            : {}),
          refusal: null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: finishOf(answer),
      },
    ],
    usage: chatUsageJson(answer.usage),
    service_tier: 'default',
    system_fingerprint: 'fp_b3f1157249',
  };
}

function chunk(choices: unknown[], usage: unknown = null) {
  return {
    id: CHAT_ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: MODEL,
    service_tier: 'default',
    system_fingerprint: 'fp_b3f1157249',
    choices,
    usage,
  };
}

const delta = (value: object, finish: string | null = null) => ({
  index: 0,
  delta: value,
  logprobs: null,
  finish_reason: finish,
});

/** The `chat.completion.chunk` objects of a stream with `include_usage`, in order. */
export function chatChunks(answer: Answer): object[] {
  const chunks: object[] = [];
  const calls = answer.toolCalls ?? [];
  if (calls.length === 0) {
    chunks.push(chunk([delta({ role: 'assistant', content: '', refusal: null })]));
  }
  for (const text of answer.text ?? []) chunks.push(chunk([delta({ content: text })]));
  calls.forEach((call, index) => {
    const opening = {
      index,
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: '' },
    };
    chunks.push(
      chunk([
        delta(
          index === 0
            ? { role: 'assistant', content: null, tool_calls: [opening], refusal: null }
            : { tool_calls: [opening] },
        ),
      ]),
    );
    for (const piece of call.args) {
      chunks.push(chunk([delta({ tool_calls: [{ index, function: { arguments: piece } }] })]));
    }
  });
  chunks.push(chunk([delta({}, finishOf(answer))]));
  chunks.push(chunk([], chatUsageJson(answer.usage)));
  return chunks;
}

/** Chat Completions SSE frames: `data: {chunk}` each, then `data: [DONE]`. */
export function chatSse(chunks: object[], done = true): string[] {
  const frames = chunks.map((value) => `data: ${JSON.stringify(value)}\n\n`);
  return done ? [...frames, 'data: [DONE]\n\n'] : frames;
}
