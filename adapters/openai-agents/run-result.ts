import type { RunState } from 'loopwork';
import { asRuntimeError, failedBeforeStart, runtimeErrorRecord } from 'loopwork/adapter-kit';

/** The text of the last assistant message of a run state. */
export function lastAssistantText(state: RunState): string | undefined {
  const message = state.messages.findLast((m) => m.role === 'assistant');
  if (message?.role !== 'assistant') return undefined;
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** What was thrown, as an Error (a provider or a tool may throw anything). */
export const asError = (value: unknown): Error => asRuntimeError(value, 'openai-agents');

export { failedBeforeStart, runtimeErrorRecord as errorRecord };
