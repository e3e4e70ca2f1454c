import { type ModelRequest, type ModelResponse, type ModelStreamPart, toolCallsOf } from 'loopwork';
import { toChatBody } from './chat-request';
import { type ChatAnswer, chatResponse, fromChatCompletion } from './chat-response';
import { streamEndedEarly } from './errors';
import { type ApiContext, providerOptionsOf, readStream, send } from './sdk-call';

/** One non-streamed Chat Completions call. */
export async function generateChat(
  context: ApiContext,
  request: ModelRequest,
  signal: AbortSignal,
): Promise<ModelResponse> {
  const body = { ...toChatBody(context, request), stream: false as const };
  const completion = await send(context, signal, (options) =>
    context.client.chat.completions.create(body, options),
  );
  return fromChatCompletion(completion);
}

/**
 * One streamed Chat Completions call. Usage is requested in the final chunk
 * (`stream_options.include_usage`); a stream that ends without a finish reason or without that
 * usage chunk was cut off, and fails as a retryable network error.
 */
export async function* streamChat(
  context: ApiContext,
  request: ModelRequest,
  signal: AbortSignal,
): AsyncGenerator<ModelStreamPart> {
  const extra = providerOptionsOf(request).stream_options;
  const body = {
    ...toChatBody(context, request),
    stream: true as const,
    stream_options: { ...(typeof extra === 'object' ? extra : {}), include_usage: true },
  };
  const stream = await send(context, signal, (options) =>
    context.client.chat.completions.create(body, options),
  );
  const answer: ChatAnswer = {
    id: '',
    model: '',
    text: '',
    toolCalls: [],
    finishReason: null,
    usage: null,
  };
  // Calls in the order they began, and the one each stream index is filling now.
  const calls: ChatAnswer['toolCalls'] = [];
  const open = new Map<number, ChatAnswer['toolCalls'][number]>();
  for await (const chunk of readStream(context, signal, stream)) {
    answer.id ||= chunk.id;
    answer.model ||= chunk.model;
    if (chunk.usage) answer.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const text = (choice.delta?.content ?? '') + (choice.delta?.refusal ?? '');
    if (text !== '') {
      answer.text += text;
      yield { type: 'text-delta', text };
    }
    for (const delta of choice.delta?.tool_calls ?? []) {
      let call = open.get(delta.index);
      // A new id at an index already in use starts another call (a loosely compatible server
      // numbering every call 0); merging them would corrupt both calls' arguments.
      if (!call || (delta.id && call.id && delta.id !== call.id)) {
        call = { id: delta.id ?? '', name: delta.function?.name ?? '', arguments: '' };
        open.set(delta.index, call);
        calls.push(call);
        yield { type: 'tool-call-start', id: call.id, name: call.name };
      }
      const piece = delta.function?.arguments ?? '';
      if (piece !== '') {
        call.arguments += piece;
        yield { type: 'tool-call-delta', id: call.id, inputTextDelta: piece };
      }
    }
    if (choice.finish_reason) answer.finishReason = choice.finish_reason;
  }
  signal.throwIfAborted();
  if (answer.finishReason === null || !answer.usage) throw streamEndedEarly();
  answer.toolCalls = calls;
  const response = chatResponse(answer);
  for (const toolCall of toolCallsOf(response.message)) yield { type: 'tool-call', toolCall };
  yield { type: 'finish', response };
}
