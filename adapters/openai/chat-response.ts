import type { AssistantMessage, ModelResponse, StopReason } from 'loopwork';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { parseToolArguments } from './tool-input';
import { chatUsage } from './usage';

/** The parts of one Chat Completions answer, whether it came whole or in chunks. */
export interface ChatAnswer {
  id: string;
  model: string;
  /** Content and refusal text, in the order received. */
  text: string;
  /** Function calls in index order, arguments as the JSON text the model wrote. */
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | null;
  usage: CompletionUsage | null | undefined;
}

function stopReasonOf(finishReason: string | null, hasToolCalls: boolean): StopReason {
  switch (finishReason) {
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    // A forced `tool_choice` ends with `stop` although the answer is tool calls.
    case 'stop':
      return hasToolCalls ? 'tool_use' : 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * The contract's response for a Chat Completions answer; `generate` and `stream` both end here,
 * so a streamed answer finishes with exactly what the non-streaming call returns.
 */
export function chatResponse(answer: ChatAnswer): ModelResponse {
  const content: AssistantMessage['content'] = [];
  if (answer.text !== '') content.push({ type: 'text', text: answer.text });
  for (const call of answer.toolCalls) {
    content.push({
      type: 'tool-call',
      id: call.id,
      name: call.name,
      input: parseToolArguments(call.arguments),
    });
  }
  return {
    message: { role: 'assistant', content },
    stopReason: stopReasonOf(answer.finishReason, answer.toolCalls.length > 0),
    usage: chatUsage(answer.usage),
    providerMetadata: { id: answer.id, model: answer.model, finishReason: answer.finishReason },
  };
}

/** Reads the first choice of a non-streamed completion. */
export function fromChatCompletion(completion: ChatCompletion): ModelResponse {
  const choice = completion.choices[0];
  const message = choice?.message;
  const toolCalls = (message?.tool_calls ?? []).flatMap((call) =>
    call.type === 'function'
      ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }]
      : [],
  );
  return chatResponse({
    id: completion.id,
    model: completion.model,
    text: (message?.content ?? '') + (message?.refusal ?? ''),
    toolCalls,
    finishReason: choice?.finish_reason ?? null,
    usage: completion.usage,
  });
}
