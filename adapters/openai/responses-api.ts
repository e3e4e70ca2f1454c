import type { ModelRequest, ModelResponse, ModelStreamPart } from 'loopwork';
import type { Response } from 'openai/resources/responses/responses';
import { reportedError, streamEndedEarly } from './errors';
import { toResponsesBody } from './responses-request';
import { fromResponse, toolCallOf } from './responses-response';
import { type ApiContext, readStream, send } from './sdk-call';

/** One non-streamed Responses API call. */
export async function generateResponses(
  context: ApiContext,
  request: ModelRequest,
  signal: AbortSignal,
): Promise<ModelResponse> {
  const body = { ...toResponsesBody(context, request), stream: false as const };
  const response = await send(context, signal, (options) =>
    context.client.responses.create(body, options),
  );
  return fromResponse(response, context.client.apiKey);
}

/**
 * One streamed Responses API call. Text and function-argument deltas are passed on as they
 * arrive; the finish part is built from the final `response.completed` (or `.incomplete`) event.
 * `response.failed` and `error` events fail the call; a stream that ends without a final event
 * was cut off and fails as a retryable network error.
 */
export async function* streamResponses(
  context: ApiContext,
  request: ModelRequest,
  signal: AbortSignal,
): AsyncGenerator<ModelStreamPart> {
  const body = { ...toResponsesBody(context, request), stream: true as const };
  const stream = await send(context, signal, (options) =>
    context.client.responses.create(body, options),
  );
  const secret = context.client.apiKey;
  // Argument deltas name their output item (`fc_…`); tool results refer to its `call_id`.
  const callIds = new Map<string, string>();
  let final: Response | undefined;
  for await (const event of readStream(context, signal, stream)) {
    switch (event.type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        if (event.delta) yield { type: 'text-delta', text: event.delta };
        break;
      case 'response.output_item.added':
        if (event.item.type === 'function_call') {
          callIds.set(event.item.id ?? event.item.call_id, event.item.call_id);
          yield { type: 'tool-call-start', id: event.item.call_id, name: event.item.name };
        }
        break;
      case 'response.function_call_arguments.delta': {
        const id = callIds.get(event.item_id);
        if (id !== undefined && event.delta) {
          yield { type: 'tool-call-delta', id, inputTextDelta: event.delta };
        }
        break;
      }
      case 'response.output_item.done':
        if (event.item.type === 'function_call') {
          yield { type: 'tool-call', toolCall: toolCallOf(event.item) };
        }
        break;
      case 'response.completed':
      case 'response.incomplete':
        final = event.response;
        break;
      case 'response.failed':
        throw reportedError(event.response.error ?? { message: 'the response failed' }, secret);
      case 'error':
        throw reportedError({ code: event.code, message: event.message }, secret);
    }
  }
  signal.throwIfAborted();
  if (!final) throw streamEndedEarly();
  yield { type: 'finish', response: fromResponse(final, secret) };
}
