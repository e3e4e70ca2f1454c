import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ModelStreamPart } from 'loopwork';
import { parseToolInput } from './from-response';

type Block = Record<string, unknown> & { type: string };

/**
 * Builds the final {@link Message} from the raw SSE events, exactly as the non-streaming call
 * would have returned it, and turns each event into the loop's stream parts on the way.
 *
 * Raw events (`messages.create({ stream: true })`) are used rather than the SDK's `MessageStream`
 * helper: every event is seen as sent, thinking blocks keep their signatures, malformed tool
 * arguments stay as text instead of throwing, and an abort ends the iteration without a second
 * event emitter in between.
 */
export class StreamAssembler {
  #message: Message | undefined;
  readonly #json = new Map<number, string>();
  #stopped = false;

  /** True once `message_stop` arrived: the answer is complete. */
  get complete(): boolean {
    return this.#stopped && this.#message !== undefined;
  }

  /** The assembled message; only meaningful when {@link complete}. */
  get message(): Message {
    if (!this.#message) throw new Error('[loopwork:anthropic] no message_start in the stream');
    return this.#message;
  }

  /** Applies one event to the message and returns the stream parts it produces. */
  apply(event: RawMessageStreamEvent): ModelStreamPart[] {
    switch (event.type) {
      case 'message_start':
        this.#message = structuredClone(event.message);
        return [];
      case 'content_block_start':
        return this.#startBlock(event.index, { ...event.content_block } as Block);
      case 'content_block_delta':
        return this.#applyDelta(event.index, event.delta as unknown as Block);
      case 'content_block_stop':
        return this.#stopBlock(event.index);
      case 'message_delta': {
        const message = this.message;
        message.stop_reason = event.delta.stop_reason;
        message.stop_sequence = event.delta.stop_sequence;
        if (event.delta.stop_details !== undefined) message.stop_details = event.delta.stop_details;
        // Cumulative totals: output always, the others only when they apply; never added up.
        const { usage } = event;
        message.usage.output_tokens = usage.output_tokens;
        if (usage.input_tokens != null) message.usage.input_tokens = usage.input_tokens;
        if (usage.cache_read_input_tokens != null) {
          message.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
        }
        if (usage.cache_creation_input_tokens != null) {
          message.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
        }
        if (usage.output_tokens_details != null) {
          message.usage.output_tokens_details = usage.output_tokens_details;
        }
        return [];
      }
      case 'message_stop':
        this.#stopped = true;
        return [];
      default:
        // New event types may appear (the API's versioning policy); they carry nothing we map.
        return [];
    }
  }

  #startBlock(index: number, block: Block): ModelStreamPart[] {
    this.#blocks()[index] = block;
    if ('input' in block) this.#json.set(index, '');
    return block.type === 'tool_use'
      ? [{ type: 'tool-call-start', id: block.id as string, name: block.name as string }]
      : [];
  }

  #applyDelta(index: number, delta: Block): ModelStreamPart[] {
    const block = this.#blocks()[index] as Block | undefined;
    if (!block) return [];
    switch (delta.type) {
      case 'text_delta': {
        const text = delta.text as string;
        block.text = `${(block.text as string | undefined) ?? ''}${text}`;
        return text === '' ? [] : [{ type: 'text-delta', text }];
      }
      case 'input_json_delta': {
        const partial = delta.partial_json as string;
        this.#json.set(index, `${this.#json.get(index) ?? ''}${partial}`);
        return block.type === 'tool_use' && partial !== ''
          ? [{ type: 'tool-call-delta', id: block.id as string, inputTextDelta: partial }]
          : [];
      }
      case 'thinking_delta':
        block.thinking = `${(block.thinking as string | undefined) ?? ''}${delta.thinking as string}`;
        return [];
      case 'signature_delta':
        block.signature = delta.signature;
        return [];
      case 'citations_delta':
        block.citations = [...((block.citations as unknown[] | null) ?? []), delta.citation];
        return [];
      default:
        return [];
    }
  }

  #stopBlock(index: number): ModelStreamPart[] {
    const block = this.#blocks()[index] as Block | undefined;
    const json = this.#json.get(index);
    if (!block || json === undefined) return [];
    block.input = parseToolInput(json);
    this.#json.delete(index);
    if (block.type !== 'tool_use') return [];
    const toolCall = {
      type: 'tool-call' as const,
      id: block.id as string,
      name: block.name as string,
      input: block.input,
    };
    return [{ type: 'tool-call', toolCall }];
  }

  #blocks(): unknown[] {
    return this.message.content as unknown[];
  }
}
