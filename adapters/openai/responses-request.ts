import {
  type AssistantMessage,
  InvalidOptionError,
  type Message,
  type ModelRequest,
} from 'loopwork';
import type {
  ResponseCreateParamsNonStreaming,
  ResponseInputItem,
  ResponseInputMessageContentList,
  ResponseReasoningItem,
  Tool,
} from 'openai/resources/responses/responses';
import { imageUrlOf } from './chat-request';
import { PREFIX } from './errors';
import { jsonSchemaFormat } from './response-format';
import type { OpenAIReasoningMetadata } from './responses-response';
import { type ApiContext, providerOptionsOf, toolsField } from './sdk-call';
import { serializeToolInput } from './tool-input';

/**
 * The reasoning items of `message` that can go back to OpenAI, with the item ids of the function
 * calls that followed each: only when every one of those calls is still in the message under its
 * `call_id` (loopwork renames a reused id), and, with `store: false` (nothing kept on OpenAI's
 * side), only items that carry their `encrypted_content`.
 */
function carriedReasoning(message: AssistantMessage, stored: boolean) {
  const callIds = new Set(
    message.content.flatMap((part) => (part.type === 'tool-call' ? [part.id] : [])),
  );
  const items = new Map<object, ResponseReasoningItem>();
  const itemIds = new Map<string, string>();
  for (const part of message.content) {
    if (part.type !== 'reasoning') continue;
    const openai = part.providerMetadata?.openai as Partial<OpenAIReasoningMetadata> | undefined;
    const { item, followedBy } = openai ?? {};
    if (item?.type !== 'reasoning' || !Array.isArray(followedBy) || followedBy.length === 0)
      continue;
    if (!followedBy.every(({ callId }) => callIds.has(callId))) continue;
    if (!stored && !item.encrypted_content) continue;
    items.set(part, item);
    for (const { callId, itemId } of followedBy) itemIds.set(callId, itemId);
  }
  return { items, itemIds };
}

function toInputItems(message: Message, stored: boolean): ResponseInputItem[] {
  if (message.role === 'user') {
    const { content } = message;
    if (typeof content === 'string') return [{ type: 'message', role: 'user', content }];
    const parts: ResponseInputMessageContentList = content.map((part) =>
      part.type === 'text'
        ? { type: 'input_text', text: part.text }
        : { type: 'input_image', image_url: imageUrlOf(part), detail: 'auto' },
    );
    return [{ type: 'message', role: 'user', content: parts }];
  }
  if (message.role === 'tool') {
    // The Responses API has no error flag on a function result: the output text says it.
    return message.content.map((result) => ({
      type: 'function_call_output',
      call_id: result.toolCallId,
      output: result.output,
    }));
  }
  // OpenAI pairs a reasoning item with the items that followed it by their ids, and rejects one
  // without the other. So a reasoning item goes back with its function calls under their item ids
  // (`fc_…`); other function calls go without ids, and other reasoning parts are left out.
  const reasoning = carriedReasoning(message, stored);
  const items: ResponseInputItem[] = [];
  for (const part of message.content) {
    const carried = reasoning.items.get(part);
    if (carried) {
      items.push(carried);
    } else if (part.type === 'text') {
      const last = items.at(-1);
      if (last?.type === 'message' && typeof last.content === 'string') last.content += part.text;
      else items.push({ type: 'message', role: 'assistant', content: part.text });
    } else if (part.type === 'tool-call') {
      const itemId = reasoning.itemIds.get(part.id);
      items.push({
        type: 'function_call',
        ...(itemId ? { id: itemId } : {}),
        call_id: part.id,
        name: part.name,
        arguments: serializeToolInput(part.input),
      });
    }
  }
  return items;
}

/**
 * The Responses API request body for `request`: `instructions` for the system prompt, input items
 * for the conversation, function tools and `max_output_tokens`. Provider options are merged in
 * first, so they add fields (`reasoning`, `store`, `service_tier` …) without overriding these;
 * their `tools` (built-in tools such as `web_search`) come before the request's.
 */
export function toResponsesBody(
  context: ApiContext,
  request: ModelRequest,
): ResponseCreateParamsNonStreaming {
  if (request.stopSequences?.length) {
    throw new InvalidOptionError(
      `${PREFIX} stopSequences: the OpenAI Responses API has no stop sequences; use api: 'chat' or drop them`,
    );
  }
  return {
    ...providerOptionsOf(request),
    model: context.modelId,
    ...(request.system ? { instructions: request.system } : {}),
    input: request.messages.flatMap((message) =>
      toInputItems(message, providerOptionsOf(request).store !== false),
    ),
    ...toolsField<Tool>(
      request,
      (request.tools ?? []).map((tool) => ({
        type: 'function',
        name: tool.name,
        description: tool.description,
        parameters: tool.inputSchema,
        // The Responses API makes functions strict by default, and strict mode rejects any schema
        // with optional properties; loopwork validates inputs itself.
        strict: false,
      })),
    ),
    ...(request.responseFormat
      ? {
          text: {
            ...(providerOptionsOf(request).text as object | undefined),
            format: { type: 'json_schema' as const, ...jsonSchemaFormat(request.responseFormat) },
          },
        }
      : {}),
    max_output_tokens: request.maxOutputTokens,
  };
}
