import type { ModelResponse, ModelStreamPart, TextPart, ToolCallPart } from 'loopwork';
import { type CallOutcome, toModelResponse, toToolCall } from './from-result';
import type { V3StreamPart } from './types';

/** Thrown by {@link StreamAssembler.accept} for a stream `error` part; carries the provider's error. */
export class StreamErrorPart {
  constructor(readonly error: unknown) {}
}

/**
 * Turns V3 stream parts into loopwork stream parts and assembles the final response exactly as
 * `fromGenerateResult` builds it from `doGenerate`: text and client tool calls, in the order
 * they began.
 */
export class StreamAssembler {
  private readonly content: Array<TextPart | ToolCallPart | undefined> = [];
  private readonly texts = new Map<string, TextPart>();
  /** Client tool calls by id: their slot in `content`, and whether input deltas were emitted. */
  private readonly tools = new Map<string, { slot: number; deltas: boolean }>();
  private readonly providerExecuted = new Set<string>();
  private response: CallOutcome['response'] = {};
  private finished: Omit<CallOutcome, 'content' | 'response'> | undefined;

  /** Handles one V3 part and returns the loopwork parts to emit (often none). */
  accept(part: V3StreamPart): ModelStreamPart[] {
    switch (part.type) {
      case 'text-start':
        this.text(part.id);
        return [];
      case 'text-delta':
        this.text(part.id).text += part.delta;
        return part.delta === '' ? [] : [{ type: 'text-delta', text: part.delta }];
      case 'tool-input-start':
        if (part.providerExecuted) {
          this.providerExecuted.add(part.id);
          return [];
        }
        this.tools.set(part.id, { slot: this.content.push(undefined) - 1, deltas: false });
        return [{ type: 'tool-call-start', id: part.id, name: part.toolName }];
      case 'tool-input-delta': {
        const tool = this.tools.get(part.id);
        if (!tool || part.delta === '') return [];
        tool.deltas = true;
        return [{ type: 'tool-call-delta', id: part.id, inputTextDelta: part.delta }];
      }
      case 'tool-call':
        return part.providerExecuted || this.providerExecuted.has(part.toolCallId)
          ? []
          : this.toolCall(part);
      case 'response-metadata':
        this.response = { id: part.id, modelId: part.modelId };
        return [];
      case 'finish':
        this.finished = {
          finishReason: part.finishReason,
          usage: part.usage,
          providerMetadata: part.providerMetadata,
        };
        return [];
      case 'error':
        throw new StreamErrorPart(part.error);
      default:
        return [];
    }
  }

  /** The assembled response, or undefined when the stream ended without a `finish` part. */
  result(): ModelResponse | undefined {
    if (!this.finished) return undefined;
    const content = this.content.filter((part) => part !== undefined);
    return toModelResponse({ ...this.finished, content, response: this.response });
  }

  private text(id: string): TextPart {
    let part = this.texts.get(id);
    if (!part) {
      part = { type: 'text', text: '' };
      this.texts.set(id, part);
      this.content.push(part);
    }
    return part;
  }

  /** A complete tool call; a provider that skipped the input parts gets them synthesized. */
  private toolCall(call: Extract<V3StreamPart, { type: 'tool-call' }>): ModelStreamPart[] {
    const toolCall = toToolCall(call);
    const out: ModelStreamPart[] = [];
    let tool = this.tools.get(call.toolCallId);
    // A second complete call under an id already used is another call (a loosely compatible
    // provider reusing ids), not a correction of the first: keep both; the loop renames the id.
    if (tool && this.content[tool.slot] !== undefined) tool = undefined;
    if (!tool) {
      tool = { slot: this.content.push(undefined) - 1, deltas: false };
      this.tools.set(call.toolCallId, tool);
      out.push({ type: 'tool-call-start', id: toolCall.id, name: toolCall.name });
    }
    if (!tool.deltas && call.input !== '') {
      out.push({ type: 'tool-call-delta', id: toolCall.id, inputTextDelta: call.input });
    }
    this.content[tool.slot] = toolCall;
    out.push({ type: 'tool-call', toolCall });
    return out;
  }
}
