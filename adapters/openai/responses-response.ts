import type { AssistantMessage, ModelResponse, StopReason, ToolCallPart } from 'loopwork';
import type { Response, ResponseFunctionToolCall } from 'openai/resources/responses/responses';
import { reportedError } from './errors';
import { parseToolArguments } from './tool-input';
import { responsesUsage } from './usage';

/** A `function_call` output item as the contract's tool call (its `call_id` is the id). */
export function toolCallOf(item: ResponseFunctionToolCall): ToolCallPart {
  return {
    type: 'tool-call',
    id: item.call_id,
    name: item.name,
    input: parseToolArguments(item.arguments),
  };
}

function stopReasonOf(response: Response, hasToolCalls: boolean): StopReason {
  if (response.status === 'completed') return hasToolCalls ? 'tool_use' : 'end_turn';
  if (response.status === 'incomplete') {
    const reason = response.incomplete_details?.reason;
    if (reason === 'max_output_tokens') return 'max_tokens';
    if (reason === 'content_filter') return 'content_filter';
  }
  return 'other';
}

/**
 * The contract's response for a Responses API answer: text and refusals of `message` items and
 * `function_call` items, in output order; reasoning and other items are skipped. A `failed`
 * response throws. `generate` reads the body, `stream` the `response.completed` event's copy, so
 * both end with the same response.
 */
export function fromResponse(response: Response, secret: string | null | undefined): ModelResponse {
  if (response.status === 'failed') {
    throw reportedError(response.error ?? { message: 'the response failed' }, secret);
  }
  const content: AssistantMessage['content'] = [];
  for (const item of response.output ?? []) {
    if (item.type === 'function_call') content.push(toolCallOf(item));
    if (item.type !== 'message') continue;
    for (const part of item.content) {
      const text = part.type === 'output_text' ? part.text : part.refusal;
      if (text) content.push({ type: 'text', text });
    }
  }
  const hasToolCalls = content.some((part) => part.type === 'tool-call');
  return {
    message: { role: 'assistant', content },
    stopReason: stopReasonOf(response, hasToolCalls),
    usage: responsesUsage(response.usage),
    providerMetadata: { id: response.id, model: response.model, status: response.status },
  };
}
