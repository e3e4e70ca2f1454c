/** Responses API wire format (sources: see wire.ts). */
import {
  type Answer,
  type AnswerUsage,
  CREATED,
  finishOf,
  MESSAGE_ID,
  MODEL,
  RESPONSE_ID,
  USAGE,
} from './wire';

export function responsesUsageJson(usage: AnswerUsage = USAGE) {
  return {
    input_tokens: usage.input,
    input_tokens_details: {
      cached_tokens: usage.cached ?? 0,
      ...(usage.cacheWrite === undefined ? {} : { cache_write_tokens: usage.cacheWrite }),
    },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: usage.reasoning ?? 0 },
    total_tokens: usage.input + usage.output,
  };
}

const functionItemId = (callId: string) => `fc_${callId.replace(/^call_/, '')}`;

function outputItems(answer: Answer, status: 'completed' | 'incomplete') {
  const items: object[] = [];
  if (answer.text) {
    items.push({
      id: MESSAGE_ID,
      type: 'message',
      status,
      content: [{ type: 'output_text', annotations: [], logprobs: [], text: answer.text.join('') }],
      role: 'assistant',
    });
  }
  for (const call of answer.toolCalls ?? []) {
    items.push({
      id: functionItemId(call.id),
      type: 'function_call',
      status,
      arguments: call.args.join(''),
      call_id: call.id,
      name: call.name,
    });
  }
  return items;
}

/** A `response` object; `length` and `content_filter` make it `incomplete`. */
export function responseObject(answer: Answer, state: 'in_progress' | 'done' = 'done') {
  const finish = finishOf(answer);
  const incomplete = finish === 'length' || finish === 'content_filter';
  const done = state === 'done';
  const status = !done ? 'in_progress' : incomplete ? 'incomplete' : 'completed';
  return {
    id: RESPONSE_ID,
    object: 'response',
    created_at: CREATED,
    status,
    background: false,
    completed_at: done ? CREATED + 1 : null,
    error: null,
    incomplete_details:
      done && incomplete
        ? { reason: finish === 'length' ? 'max_output_tokens' : 'content_filter' }
        : null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: null,
    model: MODEL,
    output: done ? outputItems(answer, incomplete ? 'incomplete' : 'completed') : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    prompt_cache_key: null,
    prompt_cache_retention: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: 'default',
    store: true,
    temperature: 1.0,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: 1.0,
    truncation: 'disabled',
    usage: done ? responsesUsageJson(answer.usage) : null,
    user: null,
    metadata: {},
  };
}

/** The Responses API events of a streamed answer, in order, without `sequence_number`s yet. */
export function responseEvents(answer: Answer): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [
    { type: 'response.created', response: responseObject(answer, 'in_progress') },
    { type: 'response.in_progress', response: responseObject(answer, 'in_progress') },
  ];
  const done = responseObject(answer);
  done.output.forEach((item, output_index) => {
    const value = item as Record<string, unknown>;
    if (value.type === 'message') {
      const part = { type: 'output_text', annotations: [], logprobs: [], text: '' };
      events.push({
        type: 'response.output_item.added',
        item: { ...value, status: 'in_progress', content: [] },
        output_index,
      });
      events.push({
        type: 'response.content_part.added',
        content_index: 0,
        item_id: value.id,
        output_index,
        part,
      });
      for (const text of answer.text ?? []) {
        events.push({
          type: 'response.output_text.delta',
          content_index: 0,
          delta: text,
          item_id: value.id,
          logprobs: [],
          obfuscation: 'N16SG5UiLncOU',
          output_index,
        });
      }
      const text = (answer.text ?? []).join('');
      events.push({
        type: 'response.output_text.done',
        content_index: 0,
        item_id: value.id,
        logprobs: [],
        output_index,
        text,
      });
      events.push({
        type: 'response.content_part.done',
        content_index: 0,
        item_id: value.id,
        output_index,
        part: { ...part, text },
      });
    } else {
      const call = (answer.toolCalls ?? []).find((candidate) => candidate.id === value.call_id);
      events.push({
        type: 'response.output_item.added',
        item: { ...value, status: 'in_progress', arguments: '' },
        output_index,
      });
      for (const piece of call?.args ?? []) {
        events.push({
          type: 'response.function_call_arguments.delta',
          delta: piece,
          item_id: value.id,
          obfuscation: 'gWZHP8i4lSgQYT',
          output_index,
        });
      }
      events.push({
        type: 'response.function_call_arguments.done',
        arguments: value.arguments,
        item_id: value.id,
        output_index,
      });
    }
    events.push({ type: 'response.output_item.done', item, output_index });
  });
  events.push({
    type: done.status === 'incomplete' ? 'response.incomplete' : 'response.completed',
    response: done,
  });
  return events;
}

/** Responses API SSE frames: `event: <type>` and `data: {event}` with its sequence number. */
export function responsesSse(events: Array<Record<string, unknown>>): string[] {
  return events.map(
    (event, sequence_number) =>
      `event: ${String(event.type)}\ndata: ${JSON.stringify({ ...event, sequence_number })}\n\n`,
  );
}
