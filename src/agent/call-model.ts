import pRetry from 'p-retry';
import type { Instrumentation } from '../instrumentation/instrumentation';
import { sleep } from '../internal/sleep';
import type { Model, ModelRequest, ModelResponse } from '../model/model';
import { ModelError } from '../model/model-error';
import { type AgentEvent, ignoreEvents } from './events';

/** How model calls are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff delay; doubles each retry, with equal jitter (between half and all of it). */
  minDelayMs: number;
  /** Longest backoff, and the longest `retry-after` honored (a longer one fails the call). */
  maxDelayMs: number;
}

interface CallContext {
  runId: string;
  turn: number;
  retry: RetryPolicy;
  signal: AbortSignal;
  emit(event: AgentEvent): void;
  /** Wraps each call to the model, when given. */
  instrumentation?: Instrumentation | undefined;
}

/** The delay before retry number `retry` (0-based): the server's wish, else exponential backoff with equal jitter. */
export function retryDelay(error: ModelError, retry: number, policy: RetryPolicy): number {
  if (error.retryAfterMs !== undefined) return error.retryAfterMs;
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Calls the model (streaming when it can), retrying retryable {@link ModelError}s. Each retry is
 * announced with a `model-retry` event before its delay starts.
 */
export async function callModel(
  model: Model,
  request: ModelRequest,
  context: CallContext,
): Promise<ModelResponse> {
  // The first attempt runs outside p-retry: setting up its options costs ~6 µs per call on
  // Node 20, and almost every call succeeds the first time.
  try {
    return await attempt(model, request, context, 1);
  } catch (error) {
    if (!(await retryAfterFailure(error, 1, context))) throw error;
  }
  // p-retry counts its own calls from 1; the first attempt was made above.
  return pRetry((count) => attempt(model, request, context, count + 1), {
    retries: context.retry.maxRetries - 1,
    // p-retry cannot take a server-given delay, so it only counts and we sleep in shouldRetry.
    minTimeout: 0,
    maxTimeout: 0,
    signal: context.signal,
    shouldRetry: ({ error, attemptNumber }) => retryAfterFailure(error, attemptNumber + 1, context),
  });
}

/**
 * Announces and sleeps before retry number `failed` (the attempt that failed), or says no. A
 * function of its own rather than a closure in callModel: almost every call succeeds at once.
 */
async function retryAfterFailure(
  error: unknown,
  failed: number,
  context: CallContext,
): Promise<boolean> {
  const { signal, retry } = context;
  if (signal.aborted || failed > retry.maxRetries) return false;
  if (!ModelError.isInstance(error) || !error.retryable) return false;
  const delayMs = retryDelay(error, failed - 1, retry);
  if (delayMs > retry.maxDelayMs) return false;
  context.emit({
    type: 'model-retry',
    runId: context.runId,
    turn: context.turn,
    attempt: failed,
    delayMs,
    error: { kind: error.kind, message: error.message, status: error.status },
  });
  await sleep(delayMs, signal);
  return true;
}

function attempt(
  model: Model,
  request: ModelRequest,
  context: CallContext,
  number: number,
): Promise<ModelResponse> {
  const { instrumentation } = context;
  if (!instrumentation?.modelCall) return callOnce(model, request, context);
  return instrumentation.modelCall(
    {
      runId: context.runId,
      turn: context.turn,
      attempt: number,
      provider: model.provider,
      modelId: model.modelId,
      request,
    },
    () => callOnce(model, request, context),
  );
}

async function callOnce(
  model: Model,
  request: ModelRequest,
  context: CallContext,
): Promise<ModelResponse> {
  if (!model.stream) return model.generate(request, { signal: context.signal });
  // Nobody listens: no event is built (nor redacted) per streamed piece.
  const listening = context.emit !== ignoreEvents;
  for await (const part of model.stream(request, { signal: context.signal })) {
    if (part.type === 'finish') return part.response;
    if (!listening) continue;
    if (part.type === 'text-delta') {
      context.emit({
        type: 'text-delta',
        runId: context.runId,
        turn: context.turn,
        text: part.text,
      });
    } else if (part.type === 'tool-call-start') {
      context.emit({
        type: 'tool-input-started',
        runId: context.runId,
        turn: context.turn,
        toolCallId: part.id,
        toolName: part.name,
      });
    } else if (part.type === 'tool-call-delta') {
      context.emit({
        type: 'tool-input-delta',
        runId: context.runId,
        turn: context.turn,
        toolCallId: part.id,
        inputTextDelta: part.inputTextDelta,
      });
    }
  }
  throw new ModelError(`[loopwork] ${model.provider} stream ended without a finish part`, {
    kind: 'network',
    provider: model.provider,
  });
}
