import type { Message } from '../model/messages';
import type { ModelRequest } from '../model/model';
import { promptTokens } from '../model/usage';
import type { RunState } from './run-state';

/** UTF-8 bytes per token assumed when nothing better is known; real text averages about 4. */
const BYTES_PER_TOKEN = 3;
/** Framing tokens a provider adds around each message (role markers, separators). */
const TOKENS_PER_MESSAGE = 16;

/** A deliberately high guess of the tokens in some JSON-serializable value. */
export function estimateTokensOf(value: unknown): number {
  if (value === undefined) return 0;
  return Math.ceil(Buffer.byteLength(JSON.stringify(value)) / BYTES_PER_TOKEN);
}

function estimateMessages(messages: readonly Message[]): number {
  let tokens = 0;
  for (const message of messages) tokens += estimateTokensOf(message.content) + TOKENS_PER_MESSAGE;
  return tokens;
}

/**
 * Estimates the prompt tokens of the next request, before it is sent, so that budgets can be
 * checked without calling.
 *
 * When the run has a previous model call, the estimate starts from what the provider actually
 * counted: that call's prompt tokens plus its output tokens (its answer is now part of the
 * prompt), then adds a guess for each message appended since. Otherwise the whole request is
 * guessed. Guesses assume 3 UTF-8 bytes per token (real text averages about 4) plus 16 tokens of
 * framing per message, so they err high. Pass `estimateInputTokens` to the agent for an exact
 * count (for example from a provider's token-counting endpoint).
 */
export function estimateInputTokens(request: ModelRequest, state: RunState): number {
  const lastTurn = state.turns.at(-1);
  const lastAssistant = request.messages.findLastIndex((m) => m.role === 'assistant');
  if (lastTurn && lastAssistant >= 0) {
    return (
      promptTokens(lastTurn.usage) +
      lastTurn.usage.outputTokens +
      TOKENS_PER_MESSAGE +
      estimateMessages(request.messages.slice(lastAssistant + 1))
    );
  }
  return (
    estimateTokensOf(request.system) +
    estimateTokensOf(request.tools) +
    estimateMessages(request.messages)
  );
}
