import { InvalidOptionError, type Message, type ModelRequest } from 'loopwork';
import type {
  ResponseCreateParamsNonStreaming,
  ResponseInputItem,
  ResponseInputMessageContentList,
  Tool,
} from 'openai/resources/responses/responses';
import { imageUrlOf } from './chat-request';
import { PREFIX } from './errors';
import { jsonSchemaFormat } from './response-format';
import { type ApiContext, providerOptionsOf, toolsField } from './sdk-call';
import { serializeToolInput } from './tool-input';

function toInputItems(message: Message): ResponseInputItem[] {
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
  // Item ids (`msg_…`, `fc_…`) are not kept, and OpenAI pairs a reasoning item with the items
  // that followed it by id: sent without them it is rejected. So reasoning parts are left out, and
  // function calls go without ids (with an id and no reasoning item they are rejected too).
  const items: ResponseInputItem[] = [];
  for (const part of message.content) {
    if (part.type === 'text') {
      const last = items.at(-1);
      if (last?.type === 'message' && typeof last.content === 'string') last.content += part.text;
      else items.push({ type: 'message', role: 'assistant', content: part.text });
    } else if (part.type === 'tool-call') {
      items.push({
        type: 'function_call',
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
    input: request.messages.flatMap(toInputItems),
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
