import type {
  AssistantMessage,
  ModelResponse,
  ReasoningPart,
  StopReason,
  ToolCallPart,
} from 'loopwork';
import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseReasoningItem,
} from 'openai/resources/responses/responses';
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
 * What a reasoning part carries for the next request (`providerMetadata.openai`): the item as
 * OpenAI sent it, and the function calls that followed it, by `call_id` with their item ids —
 * OpenAI accepts a reasoning item back only together with the items that followed it.
 */
export interface OpenAIReasoningMetadata {
  item: ResponseReasoningItem;
  followedBy: Array<{ callId: string; itemId: string }>;
}

/**
 * A part for each reasoning item that is worth keeping: with what the next request needs to send
 * it back when only function calls follow it (until the next reasoning item), else with its
 * summary text alone (an item followed by a message could not be sent back without that item's
 * id), and none for an item with neither.
 */
function reasoningParts(output: ResponseOutputItem[]): Map<ResponseOutputItem, ReasoningPart> {
  const parts = new Map<ResponseOutputItem, ReasoningPart>();
  output.forEach((item, index) => {
    if (item.type !== 'reasoning') return;
    const followedBy: OpenAIReasoningMetadata['followedBy'] = [];
    let carriable = true;
    for (const next of output.slice(index + 1)) {
      if (next.type === 'reasoning') break;
      if (next.type === 'function_call' && next.id) {
        followedBy.push({ callId: next.call_id, itemId: next.id });
      } else {
        carriable = false;
      }
    }
    const text = item.summary.map((summary) => summary.text).join('\n\n');
    const { status: _status, ...kept } = item;
    if (carriable && followedBy.length > 0) {
      const openai: OpenAIReasoningMetadata = { item: kept, followedBy };
      parts.set(item, { type: 'reasoning', text, providerMetadata: { openai } });
    } else if (text) {
      parts.set(item, { type: 'reasoning', text });
    }
  });
  return parts;
}

/**
 * The contract's response for a Responses API answer: reasoning, text and refusals of `message`
 * items and `function_call` items, in output order; other items are skipped. A reasoning item
 * followed only by function calls keeps what the next request needs to send it back (see
 * {@link OpenAIReasoningMetadata}). A `failed` response throws. `generate` reads the body, `stream` the `response.completed` event's copy, so
 * both end with the same response.
 */
export function fromResponse(response: Response, secret: string | null | undefined): ModelResponse {
  if (response.status === 'failed') {
    throw reportedError(response.error ?? { message: 'the response failed' }, secret);
  }
  const content: AssistantMessage['content'] = [];
  const output = response.output ?? [];
  const reasoning = reasoningParts(output);
  for (const item of output) {
    const part = item.type === 'reasoning' ? reasoning.get(item) : undefined;
    if (part) content.push(part);
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
