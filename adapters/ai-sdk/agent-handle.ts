import type { ModelMessage } from 'ai';
import { InvalidOptionError, type RunState } from 'loopwork';

/** Name of the runtime in events, errors and `RunState.runtime`. */
export const RUNTIME_NAME = 'ai-sdk';

/**
 * The AI SDK runtime's own state, kept in `RunState.runtime.handle`: the conversation as AI SDK
 * messages (the user's, and every step's response messages, tool results included), so a run
 * continues with exactly what the model saw. The instructions are not in it: they come from the
 * runtime's settings.
 */
export interface AgentHandle {
  messages: ModelMessage[];
}

/** The handle of a state this runtime wrote; anything else is refused, not restarted. */
export function handleOf(state: RunState): AgentHandle {
  const runtime = state.runtime;
  const messages = (runtime?.handle as { messages?: unknown } | undefined)?.messages;
  if (runtime?.name !== RUNTIME_NAME || !Array.isArray(messages)) {
    throw new InvalidOptionError(
      `[loopwork:ai-sdk] run state "${state.runId}" was written by the ${runtime?.name ?? 'loopwork'} runtime, not by ai-sdk; continue it with the runtime that wrote it`,
    );
  }
  return { messages: messages as ModelMessage[] };
}

const serialize = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');

/**
 * The conversation with the answers in place of the suspended calls' placeholder results: each
 * answer is the tool's output the model reads next.
 */
export function withAnswers(
  state: RunState,
  messages: ModelMessage[],
  answers: Record<string, unknown>,
): ModelMessage[] {
  const waiting = new Set(state.suspensions.map((s) => s.toolCallId));
  for (const key of Object.keys(answers)) {
    if (!waiting.has(key)) {
      const names = [...waiting].join(', ') || 'none';
      throw new InvalidOptionError(
        `[loopwork:ai-sdk] answers: no suspended tool call "${key}" (waiting: ${names})`,
      );
    }
  }
  const missing = [...waiting].filter((id) => !(id in answers));
  if (missing.length > 0) {
    throw new InvalidOptionError(
      `[loopwork:ai-sdk] answers: every suspended call needs an answer; missing ${missing.join(', ')}`,
    );
  }
  return messages.map((message) => {
    if (message.role !== 'tool') return message;
    return {
      ...message,
      content: message.content.map((part) =>
        part.type === 'tool-result' && part.toolCallId in answers
          ? {
              ...part,
              output: { type: 'text' as const, value: serialize(answers[part.toolCallId]) },
            }
          : part,
      ),
    };
  });
}

/** The first messages of a run: where it continues from, with its input applied. */
export function startingMessages(
  resumeFrom: { kind: 'attempt' | 'session'; state: RunState } | undefined,
  input: { prompt?: string; answers?: Record<string, unknown> },
): ModelMessage[] {
  const prompt = (text: string): ModelMessage => ({ role: 'user', content: text });
  if (!resumeFrom) {
    if (input.prompt === undefined)
      throw new InvalidOptionError('[loopwork:ai-sdk] prompt is required to start a conversation');
    return [prompt(input.prompt)];
  }
  const { state } = resumeFrom;
  const { messages } = handleOf(state);
  if (resumeFrom.kind === 'attempt') return messages;
  if (input.answers !== undefined) {
    if (input.prompt !== undefined) {
      throw new InvalidOptionError(
        '[loopwork:ai-sdk] a run gets either answers or a prompt: send the answers first, then the prompt as a follow-up',
      );
    }
    return withAnswers(state, messages, input.answers);
  }
  if (state.status === 'suspended') {
    const waiting = state.suspensions.map((s) => s.toolCallId).join(', ');
    throw new InvalidOptionError(
      `[loopwork:ai-sdk] the conversation is waiting for answers to ${waiting}; continue it with answers`,
    );
  }
  if (input.prompt === undefined)
    throw new InvalidOptionError('[loopwork:ai-sdk] a follow-up needs a prompt or answers');
  return [...messages, prompt(input.prompt)];
}
