import { isDeepStrictEqual } from 'node:util';
import type { ContentBlock, ContentBlockParam } from '@anthropic-ai/sdk/resources/messages';
import type { AssistantMessage } from 'loopwork';

/**
 * Remembers assistant turns whose content the neutral message cannot carry, so they can be sent
 * back exactly as received.
 *
 * With thinking on (always on for some current models), a turn that calls tools comes with
 * signed `thinking` / `redacted_thinking` blocks, and the API rejects the next request (400) if
 * that turn is not echoed with them. The loop's {@link AssistantMessage} has only text and tool
 * calls, so this store keeps the original blocks, keyed by the turn's first tool call id, and
 * hands them back when the same message (same parts) is sent again.
 *
 * Limits: it lives in memory, in this model object; a run resumed in another process, or
 * through another model object, sends the turn without its thinking blocks.
 */
export class EchoStore {
  readonly #entries = new Map<string, { parts: AssistantMessage['content']; blocks: unknown[] }>();

  constructor(private readonly capacity = 256) {}

  /** Keeps `blocks` for `message` when they hold more than its parts and it calls tools. */
  remember(message: AssistantMessage, blocks: readonly ContentBlock[]): void {
    const first = message.content.find((part) => part.type === 'tool-call');
    if (!first || blocks.every((block) => block.type === 'text' || block.type === 'tool_use')) {
      return;
    }
    this.#entries.delete(first.id);
    this.#entries.set(first.id, { parts: structuredClone(message.content), blocks: [...blocks] });
    if (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  /** The original blocks of `message`, if remembered and its parts are unchanged. */
  recall(message: AssistantMessage): ContentBlockParam[] | undefined {
    const first = message.content.find((part) => part.type === 'tool-call');
    const entry = first && this.#entries.get(first.id);
    if (!entry || !isDeepStrictEqual(entry.parts, message.content)) return undefined;
    return entry.blocks.map(toParam);
  }
}

/**
 * A response block as a request block: a text block's `citations: null` (response-only) is
 * dropped, tool input that was not valid JSON goes back as `{ _raw }` (the API wants an object),
 * and everything else, thinking blocks with their signatures first of all, goes back as it came.
 */
function toParam(block: unknown): ContentBlockParam {
  const { citations, ...rest } = block as { citations?: unknown } & Record<string, unknown>;
  if (citations !== null && citations !== undefined) rest.citations = citations;
  if (rest.type === 'tool_use' && !isPlainObject(rest.input)) rest.input = { _raw: rest.input };
  return rest as unknown as ContentBlockParam;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
